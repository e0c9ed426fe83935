"""benchmarks/bench_rl_vs_trl.py: its inputs are well conditioned, and (long) every TRL loss type is at parity."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from foveal.train import algos

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_rl_vs_trl.py"
spec = importlib.util.spec_from_file_location("bench_rl_vs_trl", BENCH)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_stand_in_rewards_are_deterministic_bits():
    texts = ["<think>a</think><answer>3</answer>", "zzz", "", "above above above"]
    correct, fmt = bench.BENCH_REWARDS["bench_correct"], bench.BENCH_REWARDS["bench_format"]
    a, b = correct(texts, [None] * 4), fmt(texts, [None] * 4)
    assert set(a) | set(b) <= {0.0, 1.0}
    assert a == correct(list(texts), [None] * 4)
    totals = {x + 0.5 * y for x, y in zip(a, b, strict=True)}
    assert totals <= {0.0, 0.5, 1.0, 1.5}


@pytest.mark.long  # importing TRL takes ~15 s here
def test_trl_advantage_formula_matches_foveal_on_discrete_rewards():
    # rewards as the bench's take them: 0/1 + 0.5 * 0/1; group stds are 0 or >= 0.25
    rewards = torch.tensor([1.5, 0.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 1.0])
    groups = torch.arange(3).repeat_interleave(4)
    ours = algos.grpo_advantages(rewards, groups)
    theirs = bench.trl_group_advantages(rewards, 4)
    assert torch.equal(theirs[8:], torch.zeros(4)) and torch.equal(ours[8:], torch.zeros(4))
    assert (ours - theirs).abs().max().item() <= 1e-6
    assert ours.abs().max().item() > 1.0  # not trivially zero


@pytest.mark.long
def test_every_trl_loss_type_at_parity():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(BENCH), "--all-loss-types", "--no-speed", "--threads", "1"],
                         capture_output=True, text=True, env=env, timeout=900)
    lines = re.findall(r"^loss type (.+?): max abs diff (\S+)", out.stdout, re.M)
    assert [name for name, _ in lines] == list(bench.LOSS_TYPES), out.stdout + out.stderr[-2000:]
    assert all(float(x) <= 1e-5 for _, x in lines), out.stdout
    margin = float(re.search(r"margin at the threshold (\S+)", out.stdout).group(1))
    assert margin > 1e-5, out.stdout  # the top-entropy check is not one on ties
    assert "4 of 4 groups with >= 2 distinct values" in out.stdout, out.stdout
    assert out.returncode == 0, out.stdout
