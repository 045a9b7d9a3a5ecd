"""The README's code that claims to run as written does: the S5 actor-critic block."""

from __future__ import annotations

import re

from run_harness import REPO


def readme_block(after_heading: str) -> str:
    text = (REPO / "README.md").read_text()
    section = text.split(f"## {after_heading}", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_s5_agent_snippet_runs_as_written():
    exec(compile(readme_block("Use the S5 stack in your own agent"), "README.md", "exec"), {})
