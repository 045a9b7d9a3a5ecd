"""World model: parallel pass == step mode, imagination == teacher forcing, resets cut
gradients, the loss is finite, the actor gets a REINFORCE gradient."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from agents.common.dreamer_math import ReturnScale, TwoHot, symlog
from agents.world_models.actor_critic import (
    Actor,
    ActorCriticConfig,
    Critic,
    actor_critic_loss,
)
from agents.world_models.imagination import rollout, start_from_context
from agents.world_models.replay import Transitions
from agents.world_models.world_model import WorldModel, world_model_loss
from ssm_rl.memory import available_memories, make_memory

MEMORY_OPTIONS = {
    "s5": {"d_model": 16, "num_layers": 2, "state_size": 8},
    "mamba": {"d_model": 16, "num_layers": 2},
    "gru": {"d_model": 16},
}
MEMORIES = [name for name in MEMORY_OPTIONS if name in available_memories()]
T, B, OBS, ACTIONS = 7, 2, 5, 3


def make_model(name: str) -> WorldModel:
    return WorldModel(
        memory=make_memory(name, **MEMORY_OPTIONS[name]),
        obs_shape=(OBS,),
        num_actions=ACTIONS,
        latent_groups=4,
        latent_classes=4,
        width=16,
        mlp_layers=1,
        reward_bins=31,
    )


def make_batch(key, resets=((0, 4), (0,))) -> Transitions:
    k1, k2, k3 = jax.random.split(key, 3)
    is_first = np.zeros((T, B), bool)
    for b, steps in enumerate(resets):
        is_first[list(steps), b] = True
    return Transitions(
        obs=jax.random.normal(k1, (T, B, OBS)),
        action=jax.random.randint(k2, (T, B), 0, ACTIONS),
        reward=jax.random.normal(k3, (T, B)),
        is_first=jnp.asarray(is_first),
        is_last=jnp.asarray(np.roll(is_first, -1, axis=0)),
        is_terminal=jnp.zeros((T, B), bool),
    )


def init(model, batch):
    key = jax.random.PRNGKey(0)
    state = model.initial_state((B,))
    return model.init(key, key, state, batch.obs, batch.action, batch.is_first)


@pytest.mark.parametrize("name", MEMORIES)
def test_step_mode_and_imagination_reproduce_parallel_pass(name):
    model = make_model(name)
    batch = make_batch(jax.random.PRNGKey(1))
    params = init(model, batch)
    key = jax.random.PRNGKey(2)
    _, out = model.apply(params, key, model.initial_state((B,)), batch.obs, batch.action,
                         batch.is_first, method=WorldModel.observe)
    # Step mode, one record at a time, with the same latents (resets inside the sequence).
    step = jax.jit(lambda s, z, a, f: model.apply(params, s, z, a, f, method=WorldModel.step))
    state = model.initial_state((B,))
    for t in range(T):
        state = step(state, out["z"][t], batch.action[t], batch.is_first[t])
        np.testing.assert_allclose(state.h, out["h"][t], rtol=1e-5, atol=1e-5)
    # Imagination fed the true latents, actions and episode starts == the parallel pass.
    twohot = TwoHot.create(31)
    latents = jnp.concatenate([out["z"][1:], jnp.zeros_like(out["z"][:1])])
    resets = jnp.concatenate([batch.is_first[1:], jnp.zeros_like(batch.is_first[:1])])
    roll = partial(rollout, model, horizon=T)
    traj = roll(params, twohot, key, model.initial_state((B,)), out["z"][0], batch.is_first[0],
                actions=batch.action, latents=latents, resets=resets)
    np.testing.assert_allclose(traj.h, out["h"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(traj.feat[:T], out["feat"], rtol=1e-5, atol=1e-5)
    reward_logits = model.apply(params, out["h"], method=WorldModel.reward_logits)
    np.testing.assert_allclose(traj.reward, twohot.mean(reward_logits), rtol=1e-5, atol=1e-6)
    # Imagined latents come from the prior: the rollout then departs from the data.
    dreamed = roll(params, twohot, key, model.initial_state((B,)), out["z"][0],
                   batch.is_first[0], actions=batch.action, resets=resets)
    assert not np.allclose(dreamed.feat[1:], traj.feat[1:])
    no_reset = batch.replace(is_first=jnp.zeros((T, B), bool).at[0].set(True))
    # The warm-up consumes records 0..C-2 only; record C-1 gives the start latent.
    start = partial(start_from_context, model)
    state, _, _ = start(params, key, no_reset)
    changed = no_reset.replace(
        obs=no_reset.obs.at[-1].add(5.0),
        action=no_reset.action.at[-1].set((no_reset.action[-1] + 1) % ACTIONS),
    )
    state2, _, _ = start(params, key, changed)
    np.testing.assert_array_equal(state.h, state2.h)


@pytest.mark.parametrize("name", MEMORIES)
def test_resets_cut_gradients_between_episodes(name):
    model = make_model(name)
    batch = make_batch(jax.random.PRNGKey(3), resets=((0, 4), (0,)))
    params = init(model, batch)
    key = jax.random.PRNGKey(4)

    def later_outputs(obs):
        _, out = model.apply(params, key, model.initial_state((B,)), obs, batch.action,
                             batch.is_first)
        parts = ("h", "feat", "prior_logits", "obs_pred", "reward_logits", "continue_logit")
        return sum(jnp.sum(jnp.sin(out[p][4:])) for p in parts)

    grad = np.asarray(jax.grad(later_outputs)(batch.obs))
    assert np.all(grad[:4, 0] == 0.0), "episode starting at t=4 depends on the one before"
    assert np.abs(grad[:4, 1]).max() > 0.0, "without a reset, earlier inputs must matter"


@pytest.mark.parametrize("name", MEMORIES[:1])
def test_world_model_loss_finite_and_masks_window_start(name):
    model = make_model(name)
    batch = make_batch(jax.random.PRNGKey(5), resets=((4,), ()))
    params = init(model, batch)
    twohot = TwoHot.create(31)
    loss, metrics = world_model_loss(model, params, jax.random.PRNGKey(6), batch, twohot)
    grads = jax.grad(lambda p: world_model_loss(model, p, jax.random.PRNGKey(6), batch,
                                                 twohot)[0])(params)
    assert np.isfinite(float(loss))
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    # Reference: per-step terms from the raw outputs, by hand. Window step 0 of env 1 is
    # mid-episode (not is_first): its prior had no past, so its KL is left out.
    _, out = model.apply(params, jax.random.PRNGKey(6), model.initial_state((B,)), batch.obs,
                         batch.action, batch.is_first)
    post = jax.nn.log_softmax(out["post_logits"])
    prior = jax.nn.log_softmax(out["prior_logits"])
    kl = np.asarray(jnp.sum(jnp.exp(post) * (post - prior), axis=(-2, -1)))  # [T, B]
    kl_terms = 0.5 * np.maximum(kl, 1.0) + 0.1 * np.maximum(kl, 1.0)
    mask = np.ones((T, B), bool)
    mask[0] = np.asarray(batch.is_first[0])
    decoder = np.sum((np.asarray(out["obs_pred"]) - np.asarray(symlog(batch.obs))) ** 2, -1)
    cont = np.asarray(optax.sigmoid_binary_cross_entropy(out["continue_logit"], 1.0))
    reward = np.asarray(twohot.loss(out["reward_logits"], batch.reward))
    expected = decoder.mean() + reward.mean() + cont.mean() + kl_terms[mask].mean()
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    np.testing.assert_allclose(metrics["wm/kl"], kl[mask].mean(), rtol=1e-5)


def test_actor_gets_reinforce_gradient():
    name = MEMORIES[0]
    model = make_model(name)
    batch = make_batch(jax.random.PRNGKey(7), resets=((0,), (0,)))
    params = init(model, batch)
    twohot = TwoHot.create(31)
    feat_size = 16 + 16
    actor, critic = Actor(ACTIONS, width=16, layers=1), Critic(bins=31, width=16, layers=1)
    actor_params = actor.init(jax.random.PRNGKey(8), jnp.zeros((feat_size,)))
    critic_params = critic.init(jax.random.PRNGKey(9), jnp.zeros((feat_size,)))

    def policy(key, feat):
        return actor.apply(actor_params, feat).sample(seed=key)

    def imagine(params):
        state, z, first = start_from_context(model, params, jax.random.PRNGKey(10), batch)
        return rollout(model, params, twohot, jax.random.PRNGKey(11), state, z, first, 5,
                       policy=policy)

    traj = imagine(params)
    # Give the imagined steps distinct rewards so that advantages are not all zero.
    traj = traj.replace(reward=jax.random.normal(jax.random.PRNGKey(12), traj.reward.shape))
    config = ActorCriticConfig(entropy=0.0)

    def loss(a_params):
        return actor_critic_loss(actor, critic, a_params, critic_params, critic_params, traj,
                                 ReturnScale.create(), twohot, config)[0]

    grads = jax.grad(loss)(actor_params)
    norm = optax.tree.norm(grads)
    assert np.isfinite(float(norm)) and float(norm) > 1e-6
    # A small gradient step lowers the loss, i.e. raises log-probs of advantaged actions.
    stepped = jax.tree.map(lambda p, g: p - 1e-2 * g / norm, actor_params, grads)
    assert float(loss(stepped)) < float(loss(actor_params))
