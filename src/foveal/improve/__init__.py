"""foveal.improve: iterative self-improvement (`foveal improve`): rounds of generate → verify → keep the
right traces → SFT → optional GRPO, each round evaluated on val (OpenVLThinker, Video-STaR, MathSE).

    from foveal.improve import Problems, improve
    summary = improve(cfg, "runs/sft/sft", Problems(tasks=("count",), n=64), "runs/improve", rounds=3, k=8)

Modules: `vote` (majority-vote pseudo-labels, pure), `problems` (each round's training problems and
the val problems), `run` (the resumable loop), `report` (table, plot and HTML across rounds),
`commands` (the CLI).
"""

from foveal.improve.problems import Problems
from foveal.improve.run import improve
from foveal.improve.vote import Vote, majority_vote_label

__all__ = ["Problems", "Vote", "improve", "majority_vote_label"]
