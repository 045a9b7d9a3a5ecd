"""A sequence world model (S4WM / Drama / RSSM-like, by the memory it is given).

Indexing (one record per env step, see `replay.py`): at step t the model sees `x_t`, takes
`a_t` and receives `r_t`. With `u_t = [z_t, onehot(a_t)]`:

    posterior   q(z_t | x_t)                  from the current observation only (parallel)
    sequence    h_t = f(h_{<t}, u_t)           the memory; reset_t = is_first_t clears the
                                               state before u_t
    h_prev_t  = 0 if is_first_t else h_{t-1}   what the model knew before seeing x_t
    prior       p(z_t | h_prev_t)
    feature     s_t = [h_prev_t, z_t]          the Markov state: decoder, actor and critic read it
    reward      r_t   ~ two-hot head on h_t    (h_t has consumed a_t)
    continue    c_t   ~ Bernoulli head on h_t  (1 - is_terminal_t)

So `h_t` is DreamerV3's `h_{t+1}`: the sequence model runs over `[z_{t-1}, a_{t-1}]` to give
the state on which `z_t`'s prior is conditioned. Training is one parallel pass (`__call__`);
imagination steps the same memory (`step`), which reproduces the parallel pass exactly when fed
the same latents and actions.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from agents.common.dreamer_math import TwoHot
from agents.world_models.latents import (
    kl_balance_loss,
    sample_straight_through,
    unimix_logits,
)
from agents.world_models.networks import (
    MLP,
    ImageDecoder,
    ImageEncoder,
    VectorDecoder,
    VectorEncoder,
    is_image_shape,
    observation_target,
)
from agents.world_models.replay import Transitions


@struct.dataclass
class WMState:
    """Carried state: the memory's carry and its last output `h[*batch, d_model]`."""

    memory: Any
    h: jax.Array


class WorldModel(nn.Module):
    """Encoder, categorical posterior/prior, sequence memory and heads.

    Fields: `memory` (a `ssm_rl` Memory, e.g. `make_memory("s5", d_model=...)`; its output
    width is `memory.d_model`), `obs_shape` (`(D,)` or `(H, W, C)`), `num_actions`,
    `latent_groups` x `latent_classes` categorical latents, `unimix`, MLP `width` and
    `mlp_layers`, `reward_bins` (two-hot bins for the reward head), `zero_reward_head`
    (start the reward head's output layer at zero, as DreamerV3 does; off by default: with it
    the selective memory sits on a plateau that 7 of 10 seeds do not leave in 2000 updates,
    see docs/WORLD_MODELS.md).
    """

    memory: nn.Module
    obs_shape: tuple[int, ...]
    num_actions: int
    latent_groups: int = 32
    latent_classes: int = 32
    unimix: float = 0.01
    width: int = 256
    mlp_layers: int = 2
    reward_bins: int = 255
    zero_reward_head: bool = False

    def setup(self) -> None:
        latent = self.latent_groups * self.latent_classes
        if is_image_shape(self.obs_shape):
            self.encoder = ImageEncoder(self.width)
            self.decoder = ImageDecoder(tuple(self.obs_shape))
        else:
            self.encoder = VectorEncoder(self.width, self.mlp_layers)
            self.decoder = VectorDecoder(self.obs_shape[0], self.width, self.mlp_layers)
        self.posterior_head = nn.Dense(latent)
        self.prior_head = MLP(self.width, 1, out=latent)
        self.reward_head = MLP(self.width, self.mlp_layers, out=self.reward_bins,
                               zero_out=self.zero_reward_head)
        self.continue_head = MLP(self.width, self.mlp_layers, out=1)

    # --- pieces -----------------------------------------------------------------------------

    @property
    def latent_size(self) -> int:
        return self.latent_groups * self.latent_classes

    def initial_state(self, batch_shape: tuple[int, ...]) -> WMState:
        """Fresh state (callable on an unbound module)."""
        memory = self.memory.clone(parent=None)
        return WMState(
            memory=memory.initialize_carry(tuple(batch_shape)),
            h=jnp.zeros((*batch_shape, memory.d_model), jnp.float32),
        )

    def _logits(self, flat: jax.Array) -> jax.Array:
        logits = flat.reshape((*flat.shape[:-1], self.latent_groups, self.latent_classes))
        return unimix_logits(logits, self.unimix)

    def posterior(self, obs: jax.Array) -> jax.Array:
        """`q(z_t | x_t)`: obs `[..., *obs_shape]` -> logits `[..., groups, classes]`."""
        return self._logits(self.posterior_head(self.encoder(obs)))

    def prior(self, h_prev: jax.Array) -> jax.Array:
        """`p(z_t | h_prev_t)`: `[..., d_model]` -> logits `[..., groups, classes]`."""
        return self._logits(self.prior_head(h_prev))

    def _input(self, z: jax.Array, action: jax.Array) -> jax.Array:
        return jnp.concatenate([z, jax.nn.one_hot(action, self.num_actions, dtype=z.dtype)], -1)

    def decode(self, feat: jax.Array) -> jax.Array:
        """Predicted decoder target (`symlog(x)` or pixels) from `s_t` `[..., F]`."""
        return self.decoder(feat)

    def reward_logits(self, h: jax.Array) -> jax.Array:
        """Two-hot reward logits `[..., reward_bins]` from `h_t` (after the action)."""
        return self.reward_head(h)

    def continue_logit(self, h: jax.Array) -> jax.Array:
        """Logit `[...]` of `P(episode goes on after step t)` from `h_t`."""
        return self.continue_head(h)[..., 0]

    # --- sequence and step modes ------------------------------------------------------------

    def observe(
        self,
        key: jax.Array,
        state: WMState,
        obs: jax.Array,
        action: jax.Array,
        is_first: jax.Array,
    ) -> tuple[WMState, dict[str, jax.Array]]:
        """Sequence mode over `[T, *batch]`: posterior latents in one pass, then the memory.

        Returns the state after step T-1 and `post_logits[T,*b,G,C]`, `z[T,*b,G*C]` (straight-
        through samples), `h[T,*b,d]`, `h_prev[T,*b,d]`, `feat[T,*b,d+G*C]`.
        """
        post_logits = self.posterior(obs)
        z = sample_straight_through(key, post_logits)
        z = z.reshape((*z.shape[:-2], self.latent_size))
        memory, h = self.memory(state.memory, self._input(z, action), is_first)
        h_prev = jnp.concatenate([state.h[None], h[:-1]], axis=0)
        h_prev = jnp.where(is_first[..., None], 0.0, h_prev)
        out = {
            "post_logits": post_logits,
            "z": z,
            "h": h,
            "h_prev": h_prev,
            "feat": jnp.concatenate([h_prev, z], -1),
        }
        return WMState(memory=memory, h=h[-1]), out

    def step(
        self, state: WMState, z: jax.Array, action: jax.Array, is_first: jax.Array
    ) -> WMState:
        """Step mode: consume `u_t = [z_t[*b, G*C], a_t[*b]]`; `is_first[*b]` resets first."""
        memory, h = self.memory.step(state.memory, self._input(z, action), is_first)
        return WMState(memory=memory, h=h)

    def __call__(
        self,
        key: jax.Array,
        state: WMState,
        obs: jax.Array,
        action: jax.Array,
        is_first: jax.Array,
    ) -> tuple[WMState, dict[str, jax.Array]]:
        """`observe` plus every head (the training pass): adds `prior_logits`, `obs_pred`,
        `reward_logits`, `continue_logit`."""
        state, out = self.observe(key, state, obs, action, is_first)
        out["prior_logits"] = self.prior(out["h_prev"])
        out["obs_pred"] = self.decode(out["feat"])
        out["reward_logits"] = self.reward_logits(out["h"])
        out["continue_logit"] = self.continue_logit(out["h"])
        return state, out


def features(state: WMState, z: jax.Array, is_first: jax.Array) -> jax.Array:
    """`s_t = [h_prev_t, z_t]` with `h_prev_t = 0` at episode starts: `[*b, d + G*C]`."""
    h_prev = jnp.where(is_first[..., None], 0.0, state.h)
    return jnp.concatenate([h_prev, z], -1)


@struct.dataclass
class LossScales:
    """DreamerV3 loss weights: reconstruction, reward, continue, KL dyn/rep, free bits (nats)."""

    decoder: float = 1.0
    reward: float = 1.0
    cont: float = 1.0
    dyn: float = 0.5
    rep: float = 0.1
    free_nats: float = 1.0


def world_model_loss(
    model: WorldModel,
    params: Any,
    key: jax.Array,
    batch: Transitions,
    twohot: TwoHot,
    scales: LossScales | None = None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean loss over a window batch `[T, B, ...]` started from a fresh state.

    KL terms count only where the prior saw the past it conditions on: steps after the first
    of the window, and episode starts (whose prior is the learned initial-state prior).
    """
    scales = scales or LossScales()
    length, batch_size = batch.reward.shape
    state = model.initial_state((batch_size,))
    _, out = model.apply(params, key, state, batch.obs, batch.action, batch.is_first)
    target = observation_target(batch.obs, model.obs_shape)
    event_axes = tuple(range(2, target.ndim))
    decoder = jnp.sum(jnp.square(out["obs_pred"] - target), axis=event_axes)
    reward = twohot.loss(out["reward_logits"], batch.reward)
    cont_target = 1.0 - batch.is_terminal.astype(jnp.float32)
    cont = optax.sigmoid_binary_cross_entropy(out["continue_logit"], cont_target)
    kl_loss, kl = kl_balance_loss(
        out["post_logits"], out["prior_logits"], scales.dyn, scales.rep, scales.free_nats
    )
    mask = (jnp.arange(length)[:, None] > 0) | batch.is_first
    mask = mask.astype(jnp.float32)
    kl_mean = jnp.sum(kl_loss * mask) / jnp.maximum(jnp.sum(mask), 1.0)
    loss = (
        scales.decoder * decoder.mean()
        + scales.reward * reward.mean()
        + scales.cont * cont.mean()
        + kl_mean
    )
    metrics = {
        "wm/loss": loss,
        "wm/decoder": decoder.mean(),
        "wm/reward": reward.mean(),
        "wm/continue": cont.mean(),
        "wm/kl": jnp.sum(kl["kl"] * mask) / jnp.maximum(jnp.sum(mask), 1.0),
    }
    return loss, metrics

