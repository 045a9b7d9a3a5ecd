"""Config pieces every trainer shares: the env and logger sections, the run-level fields,
dict -> dataclass conversion with unknown-key and type errors, and value checks.

A trainer's config is a tree of dataclasses (its Hydra schema) whose root extends `RunConfig`:

    config = TrainPPOConfig.from_dict(composed_hydra_config_or_nested_dict)
    config.validate()          # ValueError naming the first bad value, before anything compiles
    config.to_dict()           # what config.yaml stores

`RunConfig.trainer` names the trainer class the config builds
(agents.common.training.make_trainer); `from_dict` names any unknown key and the keys allowed
where it appeared.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from omegaconf import DictConfig, OmegaConf

from agents.common.distributed import DistributedConfig

T = TypeVar("T")


@dataclass
class EnvConfig:
    """Which environment, from which suite, with which agent-side wrappers.

    `options` are keyword arguments of the env's factory, e.g. for a meta id
    `env.options={episodes_per_trial: 4, num_projections: 16}` (see `envs.registry.make`).
    """

    suite: str = "popgym"  # a suite of envs.registry (popgym, gymnax, brax, meta) or "any"
    id: str = "RepeatPreviousEasy"
    previous_action: bool = True  # previous action, reward and is-first flag in the observation
    flatten_multidiscrete: bool = True  # MultiDiscrete actions as one categorical
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoggerConfig:
    """Host-side run machinery: chunking, TensorBoard, progress bar, checkpoints."""

    updates_per_chunk: int = 1  # jitted updates between host callbacks
    tensorboard: bool = True
    progress_bar: bool = True
    checkpoint: bool = True  # save the whole train state after every chunk
    keep_last: int = 1  # recent checkpoints kept in checkpoints/ (1: checkpoint.ckpt only)
    keep_best: bool = True  # best.ckpt: the checkpoint of the best chunk return so far
    wandb: bool = False  # also log to Weights & Biases (pip install -e ".[wandb]")
    wandb_project: str = "ssm_rl"


def agent_env(env: EnvConfig, user_env: Any = None, user_params: Any = None) -> tuple[Any, Any]:
    """`(agent env, env params)` a trainer acts in: the env `env` names (`make_env`), or a
    user's own env object with the gymnax 1.x API wrapped as `env` says
    (`envs.wrappers.wrap_for_agent`); one whose outermost wrapper is already a `LogWrapper` is
    taken as it is. `user_params` default to `user_env.default_params`."""
    from envs.wrappers import LogWrapper, wrap_for_agent

    if user_env is None:
        return make_env(env)
    params = user_env.default_params if user_params is None else user_params
    if isinstance(user_env, LogWrapper):
        return user_env, params
    return wrap_for_agent(user_env, params, previous_action=env.previous_action,
                          flatten_multidiscrete=env.flatten_multidiscrete), params


def make_env(env: EnvConfig, env_id: str | None = None) -> tuple[Any, Any]:
    """`(agent env, env params)` of `env` (or of `env_id`, e.g. a sibling split, with the same
    wrappers and options): `envs.wrappers.make_agent_env`."""
    from envs.wrappers import make_agent_env

    return make_agent_env(
        env.id if env_id is None else env_id,
        previous_action=env.previous_action,
        flatten_multidiscrete=env.flatten_multidiscrete,
        **env.options,
    )


@dataclass
class RunConfig:
    """The fields every trainer's run config starts with; `model` is
    `{"name": <memory>, **make_memory options}`. Subclasses add their sections, set `trainer`
    ("module:Class") and extend `validate_sections`."""

    trainer: ClassVar[str]

    env: EnvConfig = field(default_factory=EnvConfig)
    model: dict[str, Any] = field(default_factory=lambda: {"name": "s5"})
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 0
    num_seeds: int = 1  # seeds trained at once (vmap); seed k uses PRNGKey(seed) split k
    resume: str | None = None  # run directory to continue
    # XLA flags for bit-reproducible GPU runs (agents/common/determinism.py; slower on GPU)
    deterministic: bool = False
    # several hosts: jax.distributed.initialize() (agents/common/distributed.py); every run
    # shards the env batch over all devices, so the env batch must divide over them
    distributed: DistributedConfig = field(default_factory=DistributedConfig)

    @property
    def memory_name(self) -> str:
        return str(self.model["name"])

    @property
    def memory_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.model.items() if k != "name"}

    @classmethod
    def from_dict(cls: type[T], cfg: DictConfig | dict) -> T:
        """A composed Hydra config (or a plain nested dict) -> this config; see `build_config`."""
        return build_config(cls, cfg)

    def to_dict(self) -> dict[str, Any]:
        """The config as a nested dict (what config.yaml and checkpoints store)."""
        return dataclasses.asdict(self)

    def member_labels(self) -> list[str]:
        """One label per member of the run's leading state axis (`agents.common.sweep`):
        the seeds, times the hyper-parameter grid where the config has a sweep."""
        from agents.common.sweep import member_labels

        return member_labels(self.to_dict())

    @property
    def num_members(self) -> int:
        return len(self.member_labels())

    def validate(self, *, env_known: bool = False) -> None:
        """ValueError naming the first bad value and what is allowed; runs before compiling.

        `env_known=True` skips the env-id check (an env object is supplied directly).
        """
        if not env_known:
            validate_env(self.env)
        positive_int("num_seeds", self.num_seeds)
        positive_int("logger.updates_per_chunk", self.logger.updates_per_chunk)
        positive_int("logger.keep_last", self.logger.keep_last)
        if self.logger.wandb and importlib.util.find_spec("wandb") is None:
            raise ValueError('logger.wandb=true needs the wandb package: pip install -e ".[wandb]"')
        self.validate_sections()
        validate_model(self)

    def validate_sections(self) -> None:
        """Checks of the subclass's own sections (ValueError naming the value)."""


def build_config(cls: type[T], cfg: DictConfig | dict) -> T:
    """A composed Hydra config (or a plain nested dict) -> dataclass `cls`.

    Unknown keys raise ValueError naming them and the allowed keys; a value whose type differs
    from its field's default raises TypeError. The `hydra` node is ignored.
    """
    if isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_container(cfg, resolve=True)
    cfg = {k: v for k, v in cfg.items() if k != "hydra"}
    return _build(cls, cfg, "")


def _build(cls: type, values: dict, prefix: str):
    if not isinstance(values, dict):
        where = prefix.rstrip(".") or "the config"
        raise TypeError(f"{where} must be a mapping of keys to values, got {values!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(
            f"unknown config key(s) {[prefix + k for k in unknown]}; allowed under "
            f"{prefix.rstrip('.') or 'the top level'}: {sorted(names)}"
        )
    kwargs = {}
    for name, value in values.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            kwargs[name] = _build(type(default), value, f"{prefix}{name}.")
        else:
            _check_type(f"{prefix}{name}", value, default)
            kwargs[name] = value
    return cls(**kwargs)


def _check_type(name: str, value: Any, default: Any) -> None:
    """TypeError unless `value` has the type of the field's default (an int passes for a float;
    fields that default to None take anything)."""
    if default is None:
        return
    allowed = (int, float) if type(default) is float else (type(default),)
    if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, allowed):
        raise TypeError(f"{name}={value!r} must be of type {type(default).__name__}")


def positive_int(name: str, value: Any) -> None:
    """ValueError unless `value` is an int >= 1 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")


def validate_env(env: EnvConfig) -> None:
    """ValueError if `env.id` is not in `env.suite` (aliases pass) or `env.options` names a
    keyword the env's factory does not take."""
    from envs import registry

    allowed = registry.registered_ids() if env.suite == "any" else registry.suite(env.suite)
    suites = registry.suites_of(env.id)
    if env.suite != "any" and env.suite not in suites:
        if suites:
            raise ValueError(f"env.id={env.id!r} is in suite {suites[0]!r}, not {env.suite!r}: "
                             f"select it with env={suites[0]} (or env.suite={suites[0]})")
        close = difflib.get_close_matches(str(env.id), allowed, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        listing = (f"allowed: {allowed}" if len(allowed) <= 12
                   else f"envs.suite({env.suite!r}) lists its {len(allowed)} ids")
        raise ValueError(f"env.id={env.id!r} is not in suite {env.suite!r}{hint}; {listing}")
    factory = registry.factory(env.id)  # aliases (e.g. popgym's gym ids) resolve here
    if env.options:
        signature = inspect.signature(factory)
        try:
            signature.bind(**env.options)
        except TypeError:
            keywords = [
                p.name for p in signature.parameters.values()
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            raise ValueError(
                f"env.options={env.options!r} do not fit env {env.id!r}; its options: {keywords}"
            ) from None


def validate_model(config: RunConfig) -> None:
    """ValueError if `config.model` lacks a registered memory `name` or has options that memory
    does not take."""
    from ssm_rl.memory import available_memories, make_memory
    from ssm_rl.params import memory_parameter_count

    if "name" not in config.model:
        raise ValueError(
            f"model needs a 'name' (one of {available_memories()}), got {config.model}"
        )
    memory = make_memory(config.memory_name, **config.memory_options)
    # Shapes only: runs the layers' set-up checks (e.g. heads dividing d_model) before compiling.
    memory_parameter_count(memory, memory.d_model)
