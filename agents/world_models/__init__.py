"""Sequence world models (S4WM / Drama / RSSM-like by the `ssm_rl` memory they use) and an
agent that learns in imagination. Modules: `latents` (categorical latents, KL balancing),
`networks`, `world_model`, `imagination`, `replay`, `actor_critic`, `agent` (the trainer
`DreamerAgent`, run by `agents.common.training.run_training` like PPO), `config`,
`evaluation` (S4WM-style offline evaluation)."""
