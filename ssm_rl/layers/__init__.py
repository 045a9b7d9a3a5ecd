"""Recurrence layers. Importing a module registers its layers with `ssm_rl.memory`.

Each layer author adds the import of their module here.
"""

from ssm_rl.layers import lru, rnn, s4d, s5, s5_ptd, selective, ssd, transformer  # noqa: F401
