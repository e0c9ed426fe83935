"""The seeds' objectives wired into the trainer: `foveal algos` lists them, each recipe trains two RL
steps on a tiny model, PAPO's second forward and the top-entropy mask give the hand-computed loss."""

import json
import random
from pathlib import Path

import pytest
import torch

from foveal.config import config_from_dict, load_config
from foveal.io import read_jsonl
from foveal.train import train

pytestmark = pytest.mark.usefixtures("one_thread")
RECIPES = Path(__file__).parent.parent / "recipes"
OBJECTIVES = ["apo", "grpo_d", "ema_grpo", "grpo_care", "acre", "papo"]


def test_foveal_algos_lists_the_seeds_objectives_and_trls_loss_types(capsys):
    from foveal.cli import main

    with pytest.raises(SystemExit) as e:
        main(["algos", "--json"])
    assert e.value.code == 0
    listing = json.loads(capsys.readouterr().out)
    names = {entry["name"] for entries in listing.values() for entry in entries}
    assert {"apo", "grpo_d", "ema_grpo", "grpo_care", "acre", "papo", "cispo", "sapo", "bnpo"} <= names
    by = {section: {e["name"]: e for e in entries} for section, entries in listing.items()}
    assert {"apo", "ema_grpo"} <= by["advantages"].keys() and by["advantages"]["ema_grpo"]["flags"] == {"needs_groups": True}
    assert {"apo", "linear", "cosine", "step", "adaptive_kl", "grpo_d"} <= by["beta_schedules"].keys()
    assert by["beta_schedules"]["grpo_d"]["options"] == {"total": "(required)", "beta0": 0.0, "beta_end": 0.04}
    assert by["beta_schedules"]["grpo_d"]["doc"].startswith("GRPO-D")
    assert by["policy_losses"]["papo"]["flags"] == {"view": True} and by["policy_losses"]["papo"]["options"]["gamma"] == 0.02
    assert {"grpo_care", "acre"} <= by["rewards"].keys() and by["rewards"]["acre"]["flags"] == {}
    assert "bnpo" in by["aggregations"] and {"cispo", "sapo"} <= by["policy_losses"].keys()


@pytest.mark.parametrize("name", OBJECTIVES)
def test_each_objective_recipe_trains_two_rl_steps(name, tiny_dir, tmp_path):
    small = [f"model.path={tiny_dir}", "rl.steps=2", "rl.prompts_per_step=2", "rl.group_size=2", "rl.micro_batch_size=4",
             "sampling.max_new_tokens=8", "log.progress=false", "checkpoint.every=2"]
    cfg = load_config(RECIPES / f"{name}.yaml", small)
    run = train(cfg, out=tmp_path / name)
    rows = [r for r in read_jsonl(run / "train.jsonl") if r["stage"] == "rl"]
    assert [r["step"] for r in rows] == [1, 2] and all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
    assert (run / "rl" / "model.safetensors").is_file()
    if name == "grpo_d":  # linear from 0 to 0.04 over 100 steps: 0 at step 0, 0.0004 at step 1
        assert [r["beta"] for r in rows] == pytest.approx([0.0, 0.0004])
    if name == "grpo_care":  # beta 0, yet a moving reference for the reward; its bonus is logged
        assert rows[0].get("kl") is None and "reward/grpo_care/mean" in rows[0]
    if name == "ema_grpo":  # a stateful advantage: its per-task moments are checkpointed
        from foveal.train.checkpoint import list_checkpoints

        state = torch.load(list_checkpoints(run)[0] / "stage.pt", weights_only=False)
        assert set(state["entries"]["advantage"]["moments"]) <= {"count", "spatial"} and state["entries"]["advantage"]["moments"]


def _stage(tiny_dir, tmp_path, **rl):
    from foveal.models import load_policy
    from foveal.train.data import PromptSource
    from foveal.train.rl import RLStage
    from foveal.train.run import Session, make_accelerator

    tree = {"model": {"path": str(tiny_dir)}, "data": {"gym": {"tasks": ["count"], "levels": [1]}},
            "sampling": {"max_new_tokens": 8}, "log": {"progress": False},
            "rewards": [{"name": "accuracy"}, {"name": "format", "weight": 0.5}],
            "rl": {"steps": 1, "prompts_per_step": 2, "group_size": 4, "micro_batch_size": 8,
                   "aggregation": {"name": "token-mean"}, **rl}}
    cfg = config_from_dict(tree)
    session = Session(cfg, tmp_path, load_policy(str(tiny_dir), dtype="float32"), make_accelerator())
    return RLStage(session, PromptSource(cfg.data, seed=0))


def _rollouts(stage):
    """Two count prompts, four completions each: one right in the first group, three in the second."""
    import foveal.tasks as gym
    from foveal.prompts import r1_format
    from foveal.rollout.base import Completion, Group

    tok = stage.s.policy.tokenizer
    samples = [gym.get("count").generate(1_000_000 + i, 1, "image", split="train") for i in range(2)]
    right = [r1_format("r", s.answer) for s in samples]
    wrong = [r1_format("w", str(int(s.answer) + 1)) for s in samples]
    texts = [[right[0], wrong[0], wrong[0], wrong[0]], [right[1], right[1], right[1], "no"]]
    groups = [Group(prompt_id=s.id, completions=[Completion(text=t, token_ids=tok(t, add_special_tokens=False)["input_ids"])
                                                 for t in ts]) for s, ts in zip(samples, texts, strict=True)]
    return stage.assemble([stage.score_group(s, g) for s, g in zip(samples, groups, strict=True)], 2, 0, 1)


def test_papo_gets_a_masked_second_forward_and_adds_its_token_loss(tiny_dir, tmp_path):
    from foveal.train.objectives import mask_sample, papo_token_loss

    stage = _stage(tiny_dir, tmp_path, loss={"name": "papo", "args": {"gamma": 0.5, "eta": 0.25, "mask_ratio": 1.0, "patch": 8}})
    stage.current_step = 3
    ro = _rollouts(stage)
    policy = stage.s.policy
    # independently, before the update: the same completions on all-black pictures, and on the real ones
    masked = [mask_sample(x, 1.0, random.Random(f"0/3/{x.id}"), 8) for x in ro.samples]
    with torch.no_grad():
        view_logp, view_h = policy.token_logprobs(policy.encode_pairs(masked, ro.token_ids))
        real_batch = policy.encode_pairs(ro.samples, ro.token_ids)
        logp, h = policy.token_logprobs(real_batch)
    mask = real_batch["completion_mask"][:, -logp.shape[1]:].float()
    prepared, stats = stage.update(ro)
    got_logp, got_h = prepared.view[0]
    assert torch.allclose(got_logp, view_logp, atol=1e-6) and torch.allclose(got_h, view_h, atol=1e-6)
    assert not torch.allclose(view_logp * mask, logp * mask, atol=1e-3)  # the pictures matter to the tiny VLM
    # the loss: token-mean of ppo_clip on-policy (-A per token) plus L_PAPO, beta 0
    adv = prepared.advantages[:, None]
    per_tok = -adv + papo_token_loss(logp, view_logp, h, view_h, gamma=0.5, eta=0.25)
    assert stats["loss"] == pytest.approx(float((per_tok * mask).sum() / mask.sum()), rel=1e-5, abs=1e-6)


def test_top_entropy_quantile_trains_only_the_highest_entropy_tokens(tiny_dir, tmp_path):
    from foveal.train.algos import top_entropy_mask

    losses = {}
    for q in (1.0, 0.25):
        stage = _stage(tiny_dir, tmp_path, top_entropy_quantile=q, entropy_coef=0.1)
        ro = _rollouts(stage)
        policy = stage.s.policy
        with torch.no_grad():
            batch = policy.encode_pairs(ro.samples, ro.token_ids)
            _, h = policy.token_logprobs(batch)
        mask = batch["completion_mask"][:, -h.shape[1]:].float()
        keep = mask * top_entropy_mask(h, mask, q)
        prepared, stats = stage.update(ro)
        n = mask.sum()
        # token-mean of -A over the kept tokens, minus the entropy bonus over the same tokens
        want = float((-prepared.advantages[:, None] * keep).sum() / n - 0.1 * (h * keep).sum() / n)
        assert stats["loss"] == pytest.approx(want, rel=1e-5, abs=1e-6)
        losses[q] = (stats["loss"], int(keep.sum()), int(mask.sum()))
    assert losses[1.0][1] == losses[1.0][2] and 0 < losses[0.25][1] < losses[0.25][2] and losses[0.25][0] != losses[1.0][0]


def test_a_view_loss_without_a_view_method_is_refused_at_registration():
    from foveal.train import algos

    with pytest.raises(ValueError, match="view=True needs a view"):
        algos.register_policy_loss("test_viewless", view=True)(algos.POLICY_LOSSES["ppo_clip"])
    assert "test_viewless" not in algos.POLICY_LOSSES
