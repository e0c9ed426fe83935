"""Preference losses (DPO, REDI) against values worked by hand, the pair builder, the pair file, and
the `pref` stage of `foveal train` on the tiny model (runs, logs, checkpoints, resumes)."""

import json
import math

import pytest
import torch

import foveal.tasks as gym
from foveal.errors import FovealError
from foveal.train.preference import (
    PREFERENCE_LOSSES,
    Pair,
    build_pairs,
    dpo_loss,
    read_pairs,
    redi_loss,
    sequence_logps,
    write_pairs,
)

T = torch.tensor


def _sig(x):
    return 1 / (1 + math.exp(-x))


# -- losses --------------------------------------------------------------------------------------

def test_dpo_matches_the_sigmoid_loss_by_hand_with_its_gradient():
    chosen = T([-10.0, -3.0], requires_grad=True)
    rejected = T([-12.0, -2.0], requires_grad=True)
    ref_c, ref_r = T([-11.0, -3.0]), T([-11.0, -4.0])
    out = dpo_loss(chosen, rejected, T([5.0, 2.0]), T([6.0, 2.0]), ref_c, ref_r, beta=0.5)
    # pair 0: ratios +1 and -1, delta 2 -> -log sigmoid(1) = log(1 + e^-1)
    # pair 1: ratios 0 and +2, delta -2 -> -log sigmoid(-1) = log(1 + e)
    assert torch.allclose(out.loss, T([math.log1p(math.exp(-1)), math.log1p(math.e)]), atol=1e-6)
    assert torch.allclose(out.chosen_reward, T([0.5, 0.0])) and torch.allclose(out.rejected_reward, T([-0.5, 1.0]))
    out.loss.sum().backward()
    # dL/dchosen = -beta * sigmoid(-beta * delta), dL/drejected its negative
    g = [-0.5 * _sig(-1.0), -0.5 * _sig(1.0)]
    assert torch.allclose(chosen.grad, T(g), atol=1e-6) and torch.allclose(rejected.grad, -T(g), atol=1e-6)
    with pytest.raises(ValueError, match="beta must be > 0"):
        dpo_loss(chosen, rejected, T([1.0, 1.0]), T([1.0, 1.0]), ref_c, ref_r, beta=0.0)


def test_dpo_at_the_reference_is_log_2_whatever_the_traces():
    # TRL's first DPO step logs loss = log 2 (policy == reference): delta 0 for every pair
    x = torch.randn(5) * 20
    y = torch.randn(5) * 20
    out = dpo_loss(x, y, torch.ones(5), torch.ones(5), x.clone(), y.clone(), beta=0.1)
    assert torch.allclose(out.loss, torch.full((5,), math.log(2.0)))


def test_redi_is_length_normalised_and_down_weights_the_negatives_by_hand():
    chosen = T([-6.0, -1.0], requires_grad=True)
    rejected = T([-8.0, -9.0], requires_grad=True)
    out = redi_loss(chosen, rejected, T([3.0, 0.0]), T([4.0, 3.0]), alpha=0.8)
    # pair 0: -(-6/3) + 0.8 * (-8/4) = 2 - 1.6 = 0.4; pair 1: |y+| 0 is clamped to 1: 1 + 0.8 * (-3) = -1.4
    assert torch.allclose(out.loss, T([0.4, -1.4]), atol=1e-6)
    assert torch.allclose(out.chosen_reward, T([-2.0, -1.0])) and torch.allclose(out.rejected_reward, T([-2.0, -3.0]))
    out.loss.sum().backward()
    assert torch.allclose(chosen.grad, T([-1 / 3, -1.0])) and torch.allclose(rejected.grad, T([0.2, 0.8 / 3]))
    # alpha 0 is SFT on the positives (token-mean NLL); alpha outside [0, 1] is refused
    assert torch.allclose(redi_loss(chosen, rejected, T([3.0, 1.0]), T([4.0, 3.0]), alpha=0.0).loss, T([2.0, 1.0]))
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]"):
        redi_loss(chosen, rejected, T([3.0, 1.0]), T([4.0, 3.0]), alpha=1.5)


def test_sequence_logps_sum_only_the_completion_tokens():
    logp = T([[-1.0, -2.0, -3.0], [-0.5, -0.5, -7.0]])
    mask = T([[1, 1, 1], [1, 1, 0]])
    s, n = sequence_logps(logp, mask)
    assert s.tolist() == [-6.0, -1.0] and n.tolist() == [3.0, 2.0]


def test_the_registry_lists_dpo_and_redi_with_options_and_docs():
    by = {e["name"]: e for e in PREFERENCE_LOSSES.describe()}
    assert by["dpo"]["options"] == {"beta": 0.1} and by["dpo"]["flags"] == {"needs_ref": True}
    assert by["redi"]["options"] == {"alpha": 0.8} and by["redi"]["doc"].startswith("REDI")
    with pytest.raises(FovealError, match=r"pref.loss.args: preference loss 'dpo' has no option\(s\) \['alpha'\]"):
        PREFERENCE_LOSSES.build("dpo", {"alpha": 0.5}, "pref.loss.args")


# -- pairs ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    return gym.get("count").generate(5, 1, split="train")


def test_pairs_zip_distinct_right_and_wrong_traces_in_sampling_order(sample):
    texts = ["a", "b", "a", "c", "d", "b"]
    scores = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    two = build_pairs(sample, texts, scores, pairs_per_prompt=2)
    assert [(p.chosen, p.rejected) for p in two] == [("a", "b"), ("d", "c")]  # "a" and "b" count once
    assert all(p.prompt is sample and p.chosen_score == 1.0 and p.rejected_score == 0.0 for p in two)
    assert [(p.chosen, p.rejected) for p in build_pairs(sample, texts, scores)] == [("a", "b")]
    assert len(build_pairs(sample, texts, scores, pairs_per_prompt=5)) == 2  # min(#right 2, #wrong 2)
    assert build_pairs(sample, ["a", "b"], [1.0, 1.0]) == []  # no wrong sample
    assert build_pairs(sample, ["a", "b"], [0.0, 0.0]) == []  # no right sample, no gold
    gold = build_pairs(sample, ["a", "b", "c"], [0.0, 0.0, 0.0], pairs_per_prompt=2, gold="G")
    assert [(p.chosen, p.rejected, p.meta) for p in gold] == [("G", "a", {"chosen": "gold"}), ("G", "b", {"chosen": "gold"})]
    assert build_pairs(sample, ["a", "b"], [1.0, 0.0], gold="G")[0].chosen == "a"  # gold only stands in for no right one
    with pytest.raises(ValueError, match="2 completions but 1 scores"):
        build_pairs(sample, ["a", "b"], [1.0])


def test_the_pair_file_round_trips_and_names_bad_lines(sample, tmp_path):
    pairs = build_pairs(sample, ["r", "w"], [1.0, 0.0], meta={"round": 2})
    path = write_pairs(tmp_path / "pairs.jsonl", pairs)
    back = read_pairs(path)
    assert len(back) == 1 and (back[0].chosen, back[0].rejected, back[0].meta) == ("r", "w", {"round": 2})
    assert back[0].prompt.id == sample.id and back[0].prompt.answer == sample.answer
    assert back[0].prompt.images[0].tobytes() == sample.images[0].tobytes()
    rec = json.loads(path.read_text())
    bad = tmp_path / "bad.jsonl"
    for line, message in [
        ("{not json", r"bad.jsonl:2: not valid JSON"),
        (json.dumps({k: v for k, v in rec.items() if k != "rejected"}), r"bad.jsonl:2: missing \['rejected'\]"),
        (json.dumps({**rec, "score": 1}), r"bad.jsonl:2: unknown key\(s\) \['score'\]"),
        (json.dumps({**rec, "chosen": 3}), r"bad.jsonl:2: chosen must be a string"),
        (json.dumps({**rec, "prompt": {"id": "x"}}), r"bad.jsonl:2: prompt is not a valid sample record"),
    ]:
        bad.write_text(path.read_text() + line + "\n")
        with pytest.raises(FovealError, match=message):
            read_pairs(bad)
    test_problem = gym.get("count").generate(5, 1, split="test")
    write_pairs(bad, [Pair(test_problem, "r", "w")])
    with pytest.raises(FovealError, match="is a test-split problem"):
        read_pairs(bad)
    with pytest.raises(FovealError, match="does not exist"):
        read_pairs(tmp_path / "none.jsonl")
