"""One process of the multi-process training check (tests/test_multiprocess.py); not a test itself.

    python tests/ddp_worker.py RECIPE OUT                                    # one process
    accelerate launch --multi_gpu --num_processes 2 tests/ddp_worker.py RECIPE OUT  # two (gloo, no GPU)

Runs foveal's own SFT and RL stages (`foveal.train.sft.SFTStage`, `foveal.train.rl.RLStage`) in the
order a run does, and writes what the test compares:

    OUT/sft.pt        weights after `sft.steps` SFT steps
    OUT/fixed.pt      weights after one RL update on fixed rollouts (the same completions whatever the
                      number of processes: each process scores and trains on its shard of them)
    OUT/rank-R.json   the sample ids process R trained on, per stage, its data cursor and what its
                      curriculum sampler learned at the end

then `rl.steps` real RL steps (sampling, DAPO refills) whose prompts each process records too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from accelerate.utils import set_seed

from foveal.config import load_config
from foveal.models import load_policy
from foveal.prompts import r1_format
from foveal.rewards import register_reward
from foveal.rollout.base import Completion, Group
from foveal.train import algos
from foveal.train.data import PromptSource
from foveal.train.rl import RLStage
from foveal.train.run import Session, make_accelerator
from foveal.train.sft import SFTStage


@register_reward("half_constant")
def half_constant(completions, samples):
    """Constant (so dropped by dynamic sampling when it has the correctness role) for even seeds, varying
    for odd: processes refill unequally."""
    return [0.0 if s.seed % 2 == 0 else len(set(c)) / max(len(c), 1) for c, s in zip(completions, samples, strict=True)]


@algos.register_advantage("test_ctx_grpo", needs_groups=True)
def ctx_grpo(rewards, group_ids, *, scale="group", ctx=None):
    """GRPO scaled per completion by its group's pass rate and its length, read from the step context:
    one process and two give the same update only if the context is gathered like the rewards."""
    assert ctx.n == len(rewards) == len(ctx.lengths) == len(ctx.tasks)
    weight = 1 + ctx.group_pass_rate.nan_to_num(0) + ctx.lengths / 100
    return algos.grpo_advantages(rewards, group_ids, scale=scale) * weight


def fixed_group(policy, sample, g: int) -> Group:
    """G completions that do not depend on the model: right and wrong answers, in R1 format or not."""
    texts = [r1_format(f"try {j}", sample.answer if j % 2 == 0 else "0") if j % 3 else f"maybe {j}" for j in range(g)]
    comps = [Completion(text=t, token_ids=policy.tokenizer(t, add_special_tokens=False)["input_ids"] + [policy.tokenizer.eos_token_id],
                        finish_reason="stop") for t in texts]
    return Group(prompt_id=sample.id, completions=comps)


def main(recipe: str, out: str) -> None:
    out_dir = Path(out)
    cfg = load_config(recipe)
    accelerator = make_accelerator()  # what `foveal train` uses (the test hides any GPU)
    set_seed(cfg.seed)
    policy = load_policy(cfg.model.path, dtype="float32", device="cpu", system_prompt=cfg.model.system_prompt)
    session = Session(cfg, out_dir, policy, accelerator)
    source = PromptSource(cfg.data, seed=cfg.seed)

    trained: dict[str, list[str]] = {"sft": [], "fixed": [], "rl": []}
    stage_name = ["sft"]
    encode = policy.encode_pairs

    def recording_encode(samples, ids):  # every batch a loss is computed on passes through here
        trained[stage_name[0]].extend(s.id for s in samples)
        return encode(samples, ids)

    policy.encode_pairs = recording_encode
    sft = SFTStage(session, source)
    for k in range(cfg.sft.steps):
        sft.step(k)
    if accelerator.is_main_process:
        torch.save(accelerator.unwrap_model(session.model).state_dict(), out_dir / "sft.pt")

    stage_name[0] = "fixed"
    rl = RLStage(session, source)  # builds its reference model (a copy of the policy now) when beta > 0
    fixed_prompts = session.shard(PromptSource(cfg.data, seed=cfg.seed + 1).draw(cfg.rl.prompts_per_step))
    scored = [rl.score_group(x, fixed_group(policy, x, cfg.rl.group_size)) for x in fixed_prompts]
    rl.update(rl.assemble(scored, len(scored), 0, 1))
    if accelerator.is_main_process:
        torch.save(accelerator.unwrap_model(session.model).state_dict(), out_dir / "fixed.pt")

    stage_name[0] = "rl"
    for k in range(cfg.rl.steps):
        rl.step(k)
    record = {"rank": session.rank, "world": session.world, "cursor": source.cursor, "sampler": source.sampler_state(),
              **{name: sorted(set(ids)) for name, ids in trained.items()}}
    (out_dir / f"rank-{session.rank}.json").write_text(json.dumps(record))
    accelerator.end_training()  # waits for every process, then leaves the process group cleanly


if __name__ == "__main__":
    main(*sys.argv[1:3])
