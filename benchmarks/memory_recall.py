"""Supervised recall of a bit across an episode, for any `ssm_rl` memory.

Task: at each episode's first step the input carries a bit (+-1), at its last step a query
flag; the target is the bit at the query step. Episodes of length `L` are either the whole
sequence (T = 64, T = 256) or concatenated inside one sequence with the reset flag at each
episode start (4 episodes of 64 in T = 256, bits independent). A linear readout of the memory
output is trained with Adam on the query steps; accuracy is measured on fresh sequences. A
memory that loses the bit (or carries the previous episode's bit over a reset) is at 0.5.
`tests/test_memory_recall.py` requires >= 0.95; `scripts/probe_memory_recall.py` runs seeds.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ssm_rl.memory import make_memory

SSM_MEMORIES = ("s5", "s5_ptd", "s4d", "lru", "mamba", "mamba2")
CASES = {"T64": (64, 64), "T256": (256, 256), "4x64_resets": (256, 64)}  # (T, episode length)


def recall_batch(key: jax.Array, batch: int, length: int, episode: int):
    """`x[T, B, 2]` (bit at episode starts, query flag at episode ends), `reset[T, B]`,
    `query[T, B]` (bool) and `target[T, B]` (the episode's bit in {0, 1})."""
    episodes = length // episode
    bits = jax.random.bernoulli(key, 0.5, (episodes, batch))
    t = jnp.arange(length) % episode
    start, end = t == 0, t == episode - 1
    bit_t = jnp.repeat(bits, episode, axis=0)  # [T, B]
    signed = jnp.where(bit_t, 1.0, -1.0)
    x = jnp.stack([jnp.where(start[:, None], signed, 0.0),
                   jnp.broadcast_to(end[:, None], (length, batch)).astype(jnp.float32)], -1)
    reset = jnp.broadcast_to(start[:, None], (length, batch))
    query = jnp.broadcast_to(end[:, None], (length, batch))
    return x, reset, query, bit_t.astype(jnp.float32)


def train_recall(name: str, length: int, episode: int, steps: int = 300, batch: int = 32,
                 seed: int = 0, learning_rate: float = 3e-3):
    """Accuracy on 256 fresh sequences after `steps` Adam updates."""
    memory = make_memory(name, d_model=32, num_layers=1)

    def logits(params, x, reset):
        carry = memory.initialize_carry((x.shape[1],))
        _, y = memory.apply(params["memory"], carry, x, reset)
        return y @ params["w"] + params["b"]

    key, fit_key, test_key = jax.random.split(jax.random.PRNGKey(seed), 3)
    x, reset, _, _ = recall_batch(key, 2, length, episode)
    params = {"memory": memory.init(key, memory.initialize_carry((2,)), x, reset),
              "w": jax.random.normal(key, (32,)) / np.sqrt(32), "b": jnp.zeros(())}
    tx = optax.adam(learning_rate)

    def loss_fn(params, key):
        x, reset, query, target = recall_batch(key, batch, length, episode)
        loss = optax.sigmoid_binary_cross_entropy(logits(params, x, reset), target)
        return jnp.sum(loss * query) / jnp.sum(query)

    @jax.jit
    def fit(params, key):
        def update(carry, key):
            params, opt_state = carry
            grads = jax.grad(loss_fn)(params, key)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, _), _ = jax.lax.scan(update, (params, tx.init(params)),
                                      jax.random.split(key, steps))
        return params

    @jax.jit
    def test_accuracy(params):
        x, reset, query, target = recall_batch(test_key, 256, length, episode)
        correct = (logits(params, x, reset) > 0) == (target > 0.5)
        return jnp.sum(correct * query) / jnp.sum(query)

    return float(test_accuracy(fit(params, fit_key)))
