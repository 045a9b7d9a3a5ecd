"""The POPGym benchmark grid: MMER as POPGym defines it, resumable cells, sharding, the table."""

import json

import numpy as np
import pytest

from benchmarks.popgym_grid import aggregate, cell_path, grid, load_cells, mmer, run_grid


def test_mmer_is_the_best_update_mean_per_seed():
    returns = np.array([[-0.5, np.nan, 0.2, 0.1], [np.nan, np.nan, np.nan, np.nan]])
    np.testing.assert_array_equal(mmer(returns), [0.2, np.nan])


def fake_record(cell):
    """What `run_cell` records, with per-seed MMERs derived from the cell's name."""
    value = len(cell.env_id) / 100 + len(cell.memory) / 10
    return {"env_id": cell.env_id, "memory": cell.memory, "mmer": value, "mmer_std": 0.0,
            "mmer_per_seed": [value - 0.01, value + 0.01], "final_return": value,
            "wall_s": 1.0, "env_steps_per_s": 1.0}


def test_grid_resumes_where_it_stopped_and_shards_do_not_overlap(tmp_path):
    cells = grid(["RepeatFirstEasy", "CountRecallEasy"], ["s5", "gru", "mlp"], 2, 8192)
    ran = []

    def run(cell):
        if len(ran) == 2:
            raise KeyboardInterrupt  # killed while the third cell trains
        ran.append(cell.name)
        return fake_record(cell)

    with pytest.raises(KeyboardInterrupt):
        run_grid(cells, tmp_path, run=run, log=lambda _: None)
    assert ran == [cells[0].name, cells[1].name]
    assert not list((tmp_path / "cells").glob("*.tmp"))  # nothing of the killed cell

    ran.clear()
    runs = []
    for shard in ((0, 2), (1, 2)):
        runs.append(run_grid(cells, tmp_path, shard, run=lambda c: ran.append(c.name) or
                             fake_record(c), log=lambda _: None))
    assert sorted(ran) == sorted(c.name for c in cells[2:])  # finished cells were skipped
    assert not set(runs[0]) & set(runs[1])
    for cell in cells:
        assert json.loads(cell_path(tmp_path, cell).read_text())["memory"] == cell.memory


def test_table_has_one_row_per_env_and_bolds_the_best_memory(tmp_path):
    cells = grid(["RepeatFirstEasy", "CountRecallEasy"], ["s5", "gru"], 2, 8192)
    run_grid(cells, tmp_path, run=fake_record, log=lambda _: None)
    table = aggregate(load_cells(tmp_path)).splitlines()
    assert table[0] == "| env | gru | s5 |"
    rows = {line.split(" | ")[0][2:]: line for line in table[2:]}
    assert set(rows) == {"CountRecallEasy", "RepeatFirstEasy", "mean"}
    assert "**+0.45 ± 0.01**" in rows["RepeatFirstEasy"]  # len("gru")/10 + 15/100
    assert "+0.35 ± 0.01" in rows["RepeatFirstEasy"]


def test_bad_shard_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"shard=\(2, 2\) must be"):
        run_grid([], tmp_path, (2, 2))
