"""The trainer end to end on a very small tiny VLM: SFT, RL, resume, bad input."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from foveal.config import config_from_dict
from foveal.io import read_jsonl
from foveal.train import train
from foveal.train.checkpoint import list_checkpoints

FOVEAL = [sys.executable, "-m", "foveal.cli"]


def _cfg(tiny_dir, **sections):
    tree = {
        "model": {"path": str(tiny_dir)},
        "data": {"gym": {"tasks": ["count"], "levels": [1]}},
        "sampling": {"max_new_tokens": 8},
        "log": {"progress": False},
        "rewards": RECIPE_REWARDS,
    }
    for k, v in sections.items():
        tree[k] = {**tree.get(k, {}), **v} if isinstance(v, dict) else v
    return tree


@pytest.fixture(scope="module", autouse=True)
def distinct_chars_reward():
    """A reward that varies between random completions (accuracy and format are all 0 for an untrained model)."""
    from foveal.rewards import REWARDS, register_reward

    @register_reward("test_distinct_chars")
    def distinct_chars(completions, samples):
        return [len(set(c)) / max(len(c), 1) for c in completions]

    yield
    del REWARDS["test_distinct_chars"]


RECIPE_REWARDS = [{"name": "accuracy"}, {"name": "format", "weight": 0.5}, {"name": "test_distinct_chars"}]


def _weights(model_dir):
    return load_file(str(Path(model_dir) / "model.safetensors"))


def test_sft_then_rl_writes_logs_models_and_seed_range(tiny_dir, tmp_path):
    tree = _cfg(
        tiny_dir,
        sft={"steps": 4, "batch_size": 4, "micro_batch_size": 2, "optim": {"lr": 3e-3, "warmup_steps": 0, "schedule": "constant"}},
        rl={"steps": 2, "prompts_per_step": 2, "group_size": 3, "micro_batch_size": 4, "beta": 0.1, "mu": 2,
            "dynamic_sampling": True, "max_refill_rounds": 1, "optim": {"lr": 1e-3}},
        checkpoint={"every": 1, "keep": 2},
    )
    run = train(config_from_dict(tree), out=tmp_path / "run")
    rows = read_jsonl(run / "train.jsonl")
    assert [(r["stage"], r["step"]) for r in rows] == [("sft", 1), ("sft", 2), ("sft", 3), ("sft", 4), ("rl", 1), ("rl", 2)]
    sft = [r["loss"] for r in rows if r["stage"] == "sft"]
    assert sft[-1] < sft[0]  # SFT lowers the NLL of the targets
    rl = rows[-1]
    for key in ("reward_mean", "reward/accuracy/mean", "reward/format/std", "accuracy", "format_rate", "completion_len",
                "clip_frac", "kl", "entropy", "grad_norm", "lr", "samples_per_s", "filtered_frac"):
        assert key in rl, key
    assert rl["kl"] >= 0 and 0 <= rl["filtered_frac"] <= 1 and rl["reward_std"] > 0
    meta = json.loads((run / "meta.json").read_text())
    lo, hi = meta["data"]["train_seed_range"]
    assert lo == 1_000_000 and hi >= lo + 4 * 1 + 2 * 2  # SFT drew 16, RL at least 4 (more with refills)
    assert meta["final_model"].endswith("rl")
    assert [p.name for p in list_checkpoints(run)] == ["rl-000001", "rl-000002"]  # keep=2
    assert _weights(run / "sft").keys() == _weights(run / "rl").keys()
    assert any(not torch.equal(a, b) for a, b in zip(_weights(run / "sft").values(), _weights(run / "rl").values(), strict=False))


def test_by_task_means_averages_each_task_over_its_own_rollouts():
    from foveal.train.rl import by_task_means

    got = by_task_means(["count", "chart", "count", "count"], torch.tensor([1.0, 0.0, 0.0, 1.0]))
    assert list(got) == ["chart", "count"] and got["chart"] == 0.0 and got["count"] == pytest.approx(2 / 3)


def test_rl_on_a_task_mix_logs_each_tasks_accuracy(tiny_dir, tmp_path):
    tree = _cfg(tiny_dir, data={"gym": {"tasks": ["count", "chart"], "levels": [1]}},
                rl={"steps": 1, "prompts_per_step": 8, "group_size": 2, "optim": {"lr": 1e-3}})
    run = train(config_from_dict(tree), out=tmp_path / "run")
    row = read_jsonl(run / "train.jsonl")[-1]
    assert {"accuracy/count", "accuracy/chart"} <= row.keys()
    assert all(0 <= row[k] <= 1 for k in ("accuracy/count", "accuracy/chart"))


def _lose_all_but_the_first_checkpoint(run) -> None:
    """Simulate a crash after step 1: the later checkpoints and the final model are gone."""
    for p in list_checkpoints(run)[1:]:
        shutil.rmtree(p)
    shutil.rmtree(run / "rl")


def test_resume_after_losing_the_tail_is_bit_identical(tiny_dir, tmp_path):
    tree = _cfg(tiny_dir, rl={"steps": 3, "prompts_per_step": 2, "group_size": 2, "optim": {"lr": 1e-3}}, checkpoint={"every": 1, "keep": 5})
    full = train(config_from_dict(tree), out=tmp_path / "full")
    # Simulate a crash after step 1: later checkpoints, the final model and log rows are gone, a torn line remains.
    cut = tmp_path / "cut"
    train(config_from_dict(tree), out=cut)
    _lose_all_but_the_first_checkpoint(cut)
    lines = (cut / "train.jsonl").read_text().splitlines()
    (cut / "train.jsonl").write_text("\n".join(lines[:2]) + '\n{"stage": "rl", "st')
    train(None, resume=cut)
    a, b = _weights(full / "rl"), _weights(cut / "rl")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["step"] for r in read_jsonl(cut / "train.jsonl")] == [1, 2, 3]
    assert read_jsonl(cut / "train.jsonl")[2]["reward_mean"] == read_jsonl(full / "train.jsonl")[2]["reward_mean"]


class EMAStdAdvantage:
    """A stateful advantage (EMA-GRPO-like): A = (r - mean_g r) / (ema of the batch std + 1e-4)."""

    def __init__(self, decay: float = 0.5) -> None:
        self.decay, self.ema = decay, torch.tensor(1.0, dtype=torch.float64)

    def __call__(self, rewards, group_ids):
        from foveal.train.algos import group_stats

        self.ema = self.decay * self.ema + (1 - self.decay) * rewards.double().std()
        mean, _, _ = group_stats(rewards, group_ids)
        return ((rewards - mean) / (self.ema + 1e-4)).to(rewards.dtype)

    def state_dict(self):
        return {"ema": self.ema.clone()}

    def load_state_dict(self, state):
        self.ema = state["ema"].clone()


def test_resume_restores_stateful_entries_and_a_moving_reference(tiny_dir, tmp_path):
    from foveal.train import algos

    algos.register_advantage("test_ema_std", needs_groups=True)(EMAStdAdvantage)
    try:
        rl = {"steps": 3, "prompts_per_step": 2, "group_size": 2, "optim": {"lr": 1e-2},
              "advantage": {"name": "test_ema_std", "args": {"decay": 0.3}},
              "beta": {"name": "constant", "args": {"value": 0.5}}, "ref_update": {"name": "ema", "args": {"alpha": 0.5}}}
        tree = _cfg(tiny_dir, rl=rl, checkpoint={"every": 1, "keep": 5})
        full = train(config_from_dict(tree), out=tmp_path / "full")
        cut = tmp_path / "cut"
        train(config_from_dict(tree), out=cut)
        _lose_all_but_the_first_checkpoint(cut)
        state = torch.load(list_checkpoints(cut)[0] / "stage.pt", weights_only=False)
        assert set(state) == {"entries", "ref_model"} and set(state["entries"]) == {"advantage"}
        train(None, resume=cut)
    finally:
        del algos.ADVANTAGES["test_ema_std"]
    a, b = _weights(full / "rl"), _weights(cut / "rl")
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows_full, rows_cut = read_jsonl(full / "train.jsonl"), read_jsonl(cut / "train.jsonl")
    assert [r["kl"] for r in rows_cut] == [r["kl"] for r in rows_full] and rows_full[-1]["kl"] > 0
    assert rows_full[-1]["beta"] == pytest.approx(0.5)


def _stage(tiny_dir, tmp_path, **rl):
    """An RL stage on the tiny model (no run directory written)."""
    from foveal.models import load_policy
    from foveal.train.data import PromptSource
    from foveal.train.rl import RLStage
    from foveal.train.run import Session, make_accelerator

    cfg = config_from_dict(_cfg(tiny_dir, rl={"steps": 1, "prompts_per_step": 2, "group_size": 4, **rl}))
    session = Session(cfg, tmp_path, load_policy(str(tiny_dir), dtype="float32"), make_accelerator())
    return RLStage(session, PromptSource(cfg.data, seed=0))


def _group(policy, sample, texts):
    from foveal.rollout.base import Completion, Group

    eos = policy.tokenizer.eos_token_id
    comps = [Completion(text=t, token_ids=policy.tokenizer(t, add_special_tokens=False)["input_ids"] + [eos]) for t in texts]
    return Group(prompt_id=sample.id, completions=comps)


def test_dynamic_sampling_drops_a_group_equal_in_correctness_though_its_format_differs(tiny_dir, tmp_path):
    import foveal.tasks as gym
    from foveal.prompts import r1_format

    stage = _stage(tiny_dir, tmp_path, dynamic_sampling=True)
    sample = gym.get("count").generate(1_000_000, 1, "image", split="train")
    wrong = str(int(sample.answer) + 1)
    all_wrong = stage.score_group(sample, _group(stage.s.policy, sample, [r1_format("a", wrong), wrong, r1_format("b", wrong), "x"]))
    assert all_wrong.correct.tolist() == [0.0] * 4 and len(set(all_wrong.rewards.tolist())) > 1  # the format reward differs
    assert all_wrong.uninformative()
    mixed = stage.score_group(sample, _group(stage.s.policy, sample, [r1_format("a", sample.answer), wrong, wrong, wrong]))
    assert mixed.correct.tolist() == [1.0, 0.0, 0.0, 0.0] and not mixed.uninformative()


def test_a_moving_reference_is_built_without_a_kl_term_for_rewards_that_read_it(tiny_dir, tmp_path):
    """GRPO-CARE's bonus reads an EMA reference while beta is 0: a ref_update alone builds the reference."""
    frozen = _stage(tiny_dir, tmp_path)
    assert frozen.ref_model is None and not frozen.use_kl
    moving = _stage(tiny_dir, tmp_path, ref_update={"name": "ema", "args": {"alpha": 0.1}})
    assert moving.ref_model is not None and not moving.use_kl and "ref_model" in moving.state_dict()
    assert not any(p.requires_grad for p in moving.ref_model.parameters())


def test_functions_that_ask_for_the_step_context_get_it(tiny_dir, tmp_path):
    import foveal.tasks as gym
    from foveal.prompts import r1_format
    from foveal.train import algos

    seen = {}

    def ctx_advantage(rewards, group_ids, *, ctx=None):
        seen["adv"] = ctx
        return algos.grpo_advantages(rewards, group_ids)

    def pass_rate_beta(step, n, *, scale=0.1, ctx=None):  # per sample: more KL on groups that pass more
        return scale * ctx.group_pass_rate

    def entropy_loss(logp, old_logp, advantages, mask, *, clip_low=0.2, clip_high=0.2, ctx=None, entropy=None):
        seen["loss"] = (ctx, entropy)
        return algos.ppo_clip_loss(logp, old_logp, advantages, mask, clip_low=clip_low, clip_high=clip_high)

    algos.register_advantage("test_ctx", needs_groups=True)(ctx_advantage)
    algos.register_beta("test_pass_rate")(pass_rate_beta)
    algos.register_policy_loss("test_entropy")(entropy_loss)
    try:
        stage = _stage(tiny_dir, tmp_path, advantage={"name": "test_ctx"}, loss={"name": "test_entropy"},
                       beta={"name": "test_pass_rate", "args": {"scale": 0.2}})
        samples = [gym.get("count").generate(1_000_000 + i, 1, "image", split="train") for i in range(2)]
        right = [r1_format("r", s.answer) for s in samples]
        wrong = [r1_format("w", str(int(s.answer) + 1)) for s in samples]
        groups = [_group(stage.s.policy, samples[0], [right[0], wrong[0], wrong[0], wrong[0]]),
                  _group(stage.s.policy, samples[1], [right[1], right[1], right[1], "no"])]
        stage.current_step = 7
        ro = stage.assemble([stage.score_group(s, g) for s, g in zip(samples, groups, strict=True)], 2, 0, 1)
        prepared, _ = stage.update(ro)
    finally:
        del algos.ADVANTAGES["test_ctx"], algos.BETA_SCHEDULES["test_pass_rate"], algos.POLICY_LOSSES["test_entropy"]
    ctx = seen["adv"]
    assert ctx.step == 7 and ctx.tasks == ["count"] * 8 and ctx.levels == [1] * 8 and ctx.samples == ro.samples
    assert ctx.correct.tolist() == [1, 0, 0, 0, 1, 1, 1, 0]
    assert ctx.group_pass_rate.tolist() == [0.25] * 4 + [0.75] * 4
    assert ctx.group_ids.tolist() == [0] * 4 + [1] * 4
    assert ctx.lengths.tolist() == [float(len(t)) for t in ro.token_ids]
    assert ctx.backend is stage.backend and ctx.policy is stage.s.policy and ctx.ref_model is stage.ref_model
    assert torch.allclose(prepared.beta, torch.tensor([0.05] * 4 + [0.15] * 4))
    loss_ctx, entropy = seen["loss"]
    assert loss_ctx is ctx and entropy.shape == prepared.mbs[0].mask.shape and not entropy.requires_grad


def test_lora_with_gradient_checkpointing_trains_only_the_adapted_projections(tiny_dir, tmp_path):
    tree = _cfg(
        tiny_dir,
        model={"lora": {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}, "gradient_checkpointing": True},
        sft={"steps": 2, "batch_size": 2, "micro_batch_size": 2, "optim": {"lr": 1e-2, "warmup_steps": 0}},
        rl={"steps": 1, "prompts_per_step": 2, "group_size": 2, "beta": 0.1, "optim": {"lr": 1e-2}},
    )
    run = train(config_from_dict(tree), out=tmp_path / "run")
    base, tuned = _weights(tiny_dir), _weights(run / "rl")  # saved with the adapters merged
    changed = {k for k in base if not torch.equal(base[k], tuned[k])}
    assert changed and all(".q_proj." in k or ".v_proj." in k for k in changed)


def test_sft_from_a_dataset_dir_with_tensorboard(tiny_dir, tmp_path):
    import foveal.tasks as gym
    from foveal.tasks.export import write_dataset

    data = tmp_path / "data"
    write_dataset([gym.get("spatial").generate(seed, 1, "image", split="train") for seed in range(5)], data, "jsonl", {})
    tree = _cfg(tiny_dir, sft={"steps": 2, "batch_size": 4, "micro_batch_size": 4}, log={"tensorboard": True})
    tree["data"] = {"dataset": str(data)}
    run = train(config_from_dict(tree), out=tmp_path / "run")
    assert [r["tokens"] > 0 for r in read_jsonl(run / "train.jsonl")] == [True, True]
    assert list((run / "tb").glob("events.out.tfevents.*"))
    meta = json.loads((run / "meta.json").read_text())
    assert meta["data"] == {"dataset": str(data), "size": 5, "drawn": 8}  # two epochs' worth of a 5-sample set


def test_rejection_sampling_keeps_distinct_completions_that_pass(tiny_dir):
    import foveal.tasks as gym
    from foveal.models import load_policy
    from foveal.rollout import Sampling, get_backend
    from foveal.train.sft import rejection_sample

    policy = load_policy(str(tiny_dir), dtype="float32", device="cpu")
    samples = [gym.get("count").generate(seed, 1, "image") for seed in range(2)]
    backend = get_backend("hf", policy=policy)

    def long_enough(completions, samples):  # accepts roughly half of an untrained model's completions
        return [1.0 if len(c) >= 20 else 0.0 for c in completions]

    kept = rejection_sample(backend, samples, 6, Sampling(1.0, 1.0, 8, seed=0), long_enough)
    groups = backend.generate(samples, 6, Sampling(1.0, 1.0, 8, seed=0))
    want = {(g.prompt_id, tuple(c.token_ids)) for g in groups for c in g.completions if len(c.text) >= 20}
    assert {(s.id, tuple(ids)) for s, ids in kept} == want and len(kept) == len(want)


def _run(args, **kw):
    """The real `foveal` command in a subprocess."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(FOVEAL + args, capture_output=True, text=True, env=env, **kw)


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tiny_dir, tmp_path, capsys):
    from foveal.cli import main

    good = _cfg(tiny_dir, rl={"steps": 1})
    cases = {
        "unknown_field": ({**good, "rl": {"steps": 1, "gruop_size": 4}}, "rl.gruop_size: unknown field"),
        "missing_dataset": ({**good, "data": {"dataset": str(tmp_path / "nope")}}, "is not a directory"),
        "not_a_model": ({**good, "model": {"path": str(tmp_path)}}, "not a model directory"),
        "g_below_2": ({**good, "rl": {"steps": 1, "group_size": 1}}, "group_size must be >= 2"),
        "bad_option": ({**good, "rl": {"steps": 1, "loss": {"name": "ppo_clip", "args": {"clip": 0.3}}}},
                       "rl.loss.args: policy loss 'ppo_clip' has no option(s) ['clip'] (its options: clip_low=0.2"),
    }
    for name, (tree, message) in cases.items():
        recipe = tmp_path / f"{name}.yaml"
        recipe.write_text(yaml.safe_dump(tree))
        out = tmp_path / f"run_{name}"
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "--config", str(recipe), "--out", str(out)])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2, (name, err)
        assert message in err and len(err.strip().splitlines()) == 1, (name, err)
        assert not out.exists(), name


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_matches_uninterrupted_run(tiny_dir, tmp_path):
    tree = _cfg(
        tiny_dir,
        sft={"steps": 3, "batch_size": 4, "micro_batch_size": 2},
        rl={"steps": 8, "prompts_per_step": 2, "group_size": 2, "beta": 0.05, "entropy_coef": 0.01, "optim": {"lr": 1e-3}},
        checkpoint={"every": 1, "keep": 2},
    )
    tree["rewards"] = RECIPE_REWARDS[:2]  # the subprocess knows only the built-in rewards; the entropy term moves the weights
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(tree))
    full, killed = tmp_path / "full", tmp_path / "killed"
    # Only the killed run needs its own process (a torch import costs more than the run): the uninterrupted
    # run and the resume run here, the killed one with this process's thread count (same float sums).
    train(config_from_dict(tree), out=full)
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    proc = subprocess.Popen(FOVEAL + ["train", "--config", str(recipe), "--out", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:  # kill once RL is under way (the reference model must be rebuilt on resume)
        rows = read_jsonl(killed / "train.jsonl")
        if sum(r["stage"] == "rl" for r in rows) >= 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "rl").exists()
    train(None, resume=killed)
    a, b = _weights(full / "rl"), _weights(killed / "rl")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert read_jsonl(full / "train.jsonl") != [] and [r["step"] for r in read_jsonl(killed / "train.jsonl")] == [
        r["step"] for r in read_jsonl(full / "train.jsonl")
    ]
