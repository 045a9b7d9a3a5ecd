"""Environments (gymnax 1.x API): POPGym in JAX, meta-RL tasks, wrappers and the id registry."""

from envs.registry import make, register, register_alias, registered_ids, suite

__all__ = ["make", "register", "register_alias", "registered_ids", "suite"]

import envs.meta  # noqa: E402,F401  (registers the MetaGymnax-*/MetaBrax-* ids)
