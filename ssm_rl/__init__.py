"""ssm_rl: resettable structured state-space memories (S5, S4D, LRU, Mamba-style, RNNs) in JAX.

    from ssm_rl import make_memory
    memory = make_memory("s5", d_model=256, state_size=256)
    carry = memory.initialize_carry((batch,))
    params = memory.init(key, carry, x, reset)             # x[T, batch, D], reset[T, batch]
    carry, y = memory.apply(params, carry, x, reset)       # sequence mode
    carry, y_t = memory.apply(params, carry, x_t, reset_t, method="step")

Depends on jax, flax and numpy only.
"""

from ssm_rl.blocks import MemoryStack, ResidualBlock
from ssm_rl.memory import Memory, available_memories, layer_class, make_memory, register_layer
from ssm_rl.params import count_parameters
from ssm_rl.scan import default_backend, resettable_scan, resettable_step

__all__ = [
    "Memory",
    "MemoryStack",
    "ResidualBlock",
    "available_memories",
    "count_parameters",
    "default_backend",
    "layer_class",
    "make_memory",
    "register_layer",
    "resettable_scan",
    "resettable_step",
]
