"""Sequence world models (S4WM / Drama / RSSM-like by the `ssm_rl` memory they use) and an
agent that learns in imagination. Modules: `latents` (categorical latents, KL balancing),
`networks`, `world_model`, `imagination`, `replay`, `actor_critic`, `agent`, `config`, `run`
(host loop), `evaluation` (S4WM-style offline evaluation)."""
