"""Classical references for the Bernoulli bandit tasks (`envs.meta.bandit`), on the agent's draws.

Every reference plays the raw `BernoulliBandit` with the keys an agent's rollout passes down
its wrappers (`reset(key_reset)`, then `step(key_t)` for t < horizon), so references and agent
see the same payout probabilities and the same payout uniforms. They know the task family
(active arms, prior, horizon) but not the draw, except the oracle:

- `random`: a uniform active arm every pull.
- `oracle`: always the best arm (knows `p`).
- `greedy`: the arm with the highest posterior mean `(a + s) / (a + b + s + f)`, ties at random.
- `ucb1`: each arm once, then `argmax s/n + sqrt(2 ln t / n)` (Auer et al. 2002).
- `thompson`: one draw from each arm's Beta(a + s, b + f) posterior, the best draw's arm.
- `wsls`: win-stay, lose-shift: repeat a paying arm, else a uniform other arm (remembers one
  pull: the memory-less baseline an in-context learner must beat).

`bayes_optimal_value` is the exact Bayes-optimal expected total reward for two arms (finite-
horizon dynamic programming over the Beta posteriors, the quantity Gittins indices approximate).
Payouts are reported as the fraction of pulls that pay.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from envs.meta.bandit import BanditParams, BernoulliBandit

REFERENCES = ("random", "oracle", "greedy", "ucb1", "thompson", "wsls")


def rollout_keys(key: jax.Array, num_trials: int, horizon: int) -> tuple[jax.Array, jax.Array]:
    """`(reset keys [N], step keys [horizon, N])` of `num_trials` episodes."""
    key_reset, key_steps = jax.random.split(key)
    steps = jax.random.split(key_steps, horizon * num_trials).reshape(horizon, num_trials, -1)
    return jax.random.split(key_reset, num_trials), steps


def _choose(name: str, key: jax.Array, counts: jax.Array, last: jax.Array, t: jax.Array,
            probs: jax.Array, params: BanditParams) -> jax.Array:
    """One trial's arm. `counts[K, 2]` successes and failures, `last = (arm, reward)`."""
    k_noise, k_draw = jax.random.split(key)
    arms = jnp.arange(counts.shape[0])
    active = arms < params.num_arms
    noise = 1e-6 * jax.random.uniform(k_noise, arms.shape)  # random tie-breaking
    s, f = counts[:, 0], counts[:, 1]
    n = s + f

    def best(score):
        return jnp.argmax(jnp.where(active, score + noise, -jnp.inf))

    if name == "random":
        return best(jnp.zeros(arms.shape))
    if name == "oracle":
        return best(probs)
    if name == "greedy":
        return best((params.prior_a + s) / (params.prior_a + params.prior_b + n))
    if name == "ucb1":
        bonus = jnp.sqrt(2.0 * jnp.log(jnp.maximum(t, 1)) / jnp.maximum(n, 1))
        return best(jnp.where(n == 0, jnp.inf, s / jnp.maximum(n, 1) + bonus))
    if name == "thompson":
        return best(jax.random.beta(k_draw, params.prior_a + s, params.prior_b + f))
    if name == "wsls":
        arm, paid = last
        shift = best(jnp.where(arms == arm, -1.0, 0.0))
        return jnp.where((t > 0) & (paid > 0), arm, shift)
    raise ValueError(f"unknown reference {name!r}; available: {REFERENCES}")


def reference_payouts(
    params: BanditParams, key: jax.Array, num_trials: int, names: tuple[str, ...] = REFERENCES
) -> dict[str, np.ndarray]:
    """`{name: payout fraction [num_trials]}` of each reference on the draws of `key`."""
    env = BernoulliBandit()
    resets, steps = rollout_keys(key, num_trials, params.horizon)
    _, choose = rollout_keys(jax.random.fold_in(key, 1), num_trials, params.horizon)

    choosers = [functools.partial(_choose, name) for name in names]

    def trial(reference, reset_key, step_keys, choose_keys):
        _, state = env.reset(reset_key, params)
        probs = state.payout_probs

        def pull(carry, keys):
            state, counts, last, t = carry
            step_key, choose_key = keys
            arm = jax.lax.switch(reference, choosers, choose_key, counts, last, t, probs, params)
            _, state, reward, _, _, _ = env.step(step_key, state, arm, params)
            counts = counts.at[arm].add(jnp.stack([reward, 1.0 - reward]))
            return (state, counts, (arm, reward), t + 1), reward

        init = (state, jnp.zeros((env.max_arms, 2)), (jnp.int32(0), jnp.float32(0)),
                jnp.int32(0))
        _, rewards = jax.lax.scan(pull, init, (step_keys, choose_keys))
        return rewards.mean()

    # One program for every reference, so the env is compiled once: vmapped over the reference
    # index, `switch` computes every rule each pull and keeps the reference's own (cheap next to
    # the compile it saves; each reference still follows its own trajectory).
    play = jax.vmap(jax.vmap(trial, in_axes=(None, 0, 1, 1)), in_axes=(0, None, None, None))
    payouts = np.asarray(jax.jit(play)(jnp.arange(len(names)), resets, steps, choose))
    return dict(zip(names, payouts, strict=True))


def bayes_optimal_value(horizon: int, prior_a: float = 1.0, prior_b: float = 1.0) -> float:
    """Bayes-optimal expected total reward of a 2-armed Bernoulli bandit over `horizon` pulls,
    both arms Beta(prior_a, prior_b) a priori.

    `V_n(s1, f1, s2)` (f2 = n - s1 - f1 - s2) is the optimal expected reward still to come
    after n pulls with those counts; `V_H = 0` and
    `V_n = max_i [p_i (1 + V_{n+1}(counts + success_i)) + (1 - p_i) V_{n+1}(counts + failure_i)]`
    with `p_i = (a + s_i) / (a + b + s_i + f_i)` the posterior mean. Returns `V_0`.
    """
    a, b = float(prior_a), float(prior_b)
    nxt = np.zeros((horizon + 1,) * 3)
    for n in range(horizon - 1, -1, -1):
        s1, f1, s2 = np.meshgrid(*(np.arange(n + 1),) * 3, indexing="ij")
        f2 = n - s1 - f1 - s2
        valid = f2 >= 0
        f2 = np.maximum(f2, 0)
        p1 = (a + s1) / (a + b + s1 + f1)
        p2 = (a + s2) / (a + b + s2 + f2)
        arm1 = p1 * (1 + nxt[s1 + 1, f1, s2]) + (1 - p1) * nxt[s1, f1 + 1, s2]
        arm2 = p2 * (1 + nxt[s1, f1, s2 + 1]) + (1 - p2) * nxt[s1, f1, s2]
        value = np.where(valid, np.maximum(arm1, arm2), 0.0)
        nxt = np.zeros((horizon + 1,) * 3)
        nxt[: n + 1, : n + 1, : n + 1] = value
    return float(nxt[0, 0, 0])


def summary(payouts: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """`{name: {"mean", "ci95"}}`: mean payout fraction and the half-width of its 95 % normal
    interval over trials."""
    return {name: {"mean": float(x.mean()), "ci95": float(1.96 * x.std() / np.sqrt(x.size))}
            for name, x in payouts.items()}

