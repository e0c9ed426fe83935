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
    check_pref_config,
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


def test_dpo_matches_trls_dpo_trainer_loss_and_gradients(tiny_dir, tmp_path):
    """TRL 1.16 computes its sigmoid loss inline in `DPOTrainer._compute_loss` (no standalone function),
    so the trainer itself scores a batch of [chosen; rejected] rows of varied completion lengths with a
    perturbed tiny causal LM against its initial copy; foveal's `sequence_logps` + `dpo_loss` on the
    same model and tokens must give the same loss and gradients."""
    import copy

    from datasets import Dataset
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
    from trl import DPOConfig, DPOTrainer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64))
    args = DPOConfig(output_dir=str(tmp_path / "trl"), beta=0.3, loss_type=["sigmoid"], use_cpu=True, report_to=[], bf16=False,
                     disable_tqdm=True)  # bf16 off: DPOConfig defaults it on, and the accelerate state it sets is global
    data = Dataset.from_list([{"prompt": "a b", "chosen": " c", "rejected": " d"}] * 2)  # the trainer needs one
    trainer = DPOTrainer(model=model, ref_model=copy.deepcopy(model), args=args, train_dataset=data, processing_class=tok)
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    b, prompt, comp = 3, 4, 5
    ids = torch.randint(0, len(tok), (2 * b, prompt + comp))
    attn, cmask = torch.ones_like(ids), torch.zeros_like(ids)
    cmask[:, prompt:] = 1
    for row, n in ((1, 3), (b + 2, 2)):  # a shorter chosen and a shorter rejected (right padding)
        cmask[row, prompt + n :] = 0
        attn[row, prompt + n :] = 0
    trainer.model.train()
    trl_loss = trainer._compute_loss(trainer.model, {"input_ids": ids, "attention_mask": attn, "completion_mask": cmask}, False)
    trl_loss.backward()
    trl_grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters()}
    trainer.model.zero_grad()

    def seq(m):
        logits = m(input_ids=ids, attention_mask=attn).logits[:, :-1].float()
        return sequence_logps(torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1), cmask[:, 1:])

    s, n = seq(trainer.model)
    with torch.no_grad():
        ref, _ = seq(trainer.ref_model)
    ours = dpo_loss(*s.chunk(2), *n.chunk(2), *ref.chunk(2), beta=0.3).loss.mean()
    ours.backward()
    assert abs(trl_loss.item() - math.log(2)) > 1e-3  # the policy has moved off its reference
    assert ours.item() == pytest.approx(trl_loss.item(), abs=1e-5)
    assert all(torch.allclose(p.grad, trl_grads[n], atol=1e-6) for n, p in trainer.model.named_parameters())


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


# -- the pref stage of `foveal train` ------------------------------------------------------------

@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    """Four pairs of train problems: the worked R1 trace against the same trace with a wrong answer."""
    from foveal.prompts import sft_target

    pairs = []
    for seed in range(4):
        x = gym.get("count").generate(seed, 1, split="train")
        right = sft_target(x, "r1")
        pairs.append(Pair(x, right, right.replace(f"<answer>{x.answer}</answer>", f"<answer>{int(x.answer) + 1}</answer>"), 1.0, 0.0))
    return write_pairs(tmp_path_factory.mktemp("pairs") / "pairs.jsonl", pairs)


def _tree(tiny_dir, **sections):
    tree = {"model": {"path": str(tiny_dir)}, "data": {"gym": {"tasks": ["count"], "levels": [1]}},
            "sampling": {"max_new_tokens": 8}, "log": {"progress": False}}
    tree.update(sections)
    return tree


def _weights(model_dir):
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def test_dpo_stage_after_sft_logs_checkpoints_and_resumes_bit_identical(tiny_dir, pairs_file, tmp_path):
    import shutil

    from foveal.config import config_from_dict
    from foveal.io import read_jsonl
    from foveal.train import train
    from foveal.train.checkpoint import list_checkpoints

    tree = _tree(tiny_dir, sft={"steps": 2, "batch_size": 2, "micro_batch_size": 2},
                 pref={"steps": 3, "batch_size": 3, "micro_batch_size": 2, "pairs": str(pairs_file),
                       "loss": {"name": "dpo", "args": {"beta": 0.5}}, "optim": {"lr": 1e-2}},
                 checkpoint={"every": 1, "keep": 9})
    full = train(config_from_dict(tree), out=tmp_path / "full")
    rows = read_jsonl(full / "train.jsonl")
    assert [(r["stage"], r["step"]) for r in rows] == [("sft", 1), ("sft", 2), ("pref", 1), ("pref", 2), ("pref", 3)]
    pref = [r for r in rows if r["stage"] == "pref"]
    # step 1 scores the pairs before its update: the policy is its own reference, so every pair's loss is log 2
    assert pref[0]["loss"] == pytest.approx(math.log(2), abs=1e-6) and pref[0]["reward_margin"] == pytest.approx(0, abs=1e-6)
    assert all(r["pairs"] == 3 for r in pref) and pref[-1]["loss"] < pref[0]["loss"]  # the same 4 pairs recur: DPO learns them
    assert pref[-1]["reward_margin"] > 0
    assert [p.name for p in list_checkpoints(full)][-3:] == ["pref-000001", "pref-000002", "pref-000003"]
    assert any(not torch.equal(a, b) for a, b in zip(_weights(full / "sft").values(), _weights(full / "pref").values(), strict=True))
    assert json.loads((full / "meta.json").read_text())["final_model"].endswith("pref")
    # a crash after pref step 1: resuming reloads DPO's reference from RUN/sft and ends where the full run did
    cut = tmp_path / "cut"
    shutil.copytree(full, cut)
    for p in list_checkpoints(cut)[-2:]:
        shutil.rmtree(p)
    shutil.rmtree(cut / "pref")
    train(None, resume=cut)
    a, b = _weights(full / "pref"), _weights(cut / "pref")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["loss"] for r in read_jsonl(cut / "train.jsonl")] == [r["loss"] for r in rows]


def test_redi_stage_on_generated_pairs_with_gold_chosen(tiny_dir, tmp_path):
    from foveal.config import config_from_dict
    from foveal.io import read_jsonl
    from foveal.train import train

    gen = {"k": 2, "prompts": 2, "max_rounds": 1, "gold_chosen": True}
    tree = _tree(tiny_dir, pref={"steps": 2, "batch_size": 2, "generate": gen, "loss": {"name": "redi", "args": {"alpha": 0.5}},
                                 "optim": {"lr": 1e-2}})
    run = train(config_from_dict(tree), out=tmp_path / "redi")
    rows = read_jsonl(run / "train.jsonl")
    assert [(r["stage"], r["step"]) for r in rows] == [("pref", 1), ("pref", 2)]
    for r in rows:  # an untrained model answers wrong: each prompt's gold trace against a sampled one
        assert r["pairs"] == 2 and r["sample_accuracy"] == 0 and r["gen_rounds"] == 1
        # REDI's loss is the mean of -log pi(y+)/|y+| + alpha log pi(y-)/|y-|, the rewards' means
        assert r["loss"] == pytest.approx(-r["reward_chosen"] + 0.5 * r["reward_rejected"], rel=1e-5)
    # without gold traces nothing is right, so there are no pairs and no update
    tree["pref"] = {**tree["pref"], "steps": 1, "generate": {**gen, "gold_chosen": False}}
    none = train(config_from_dict(tree), out=tmp_path / "none")
    row = read_jsonl(none / "train.jsonl")[0]
    assert row["pairs"] == 0 and "loss" not in row
    init, after = _weights(tiny_dir), _weights(none / "pref")  # a run that never updated saves the initial weights
    assert init.keys() == after.keys() and all(torch.equal(init[k], after[k]) for k in init)
    trained = _weights(run / "pref")
    assert any(not torch.equal(init[k], trained[k]) for k in init)


def test_pref_config_errors_name_the_field_and_nothing_is_written(tiny_dir, pairs_file, tmp_path):
    from foveal.config import config_from_dict
    from foveal.train import train

    base = {"steps": 1, "pairs": str(pairs_file)}
    for pref, message in [
        ({"steps": 1}, "give exactly one of pref.pairs"),
        ({**base, "generate": {"k": 2}}, "give exactly one of pref.pairs"),
        ({"steps": 1, "pairs": str(tmp_path / "none.jsonl")}, "none.jsonl is not a file"),
        ({**base, "generate": None, "loss": {"name": "dpp"}}, "unknown preference loss 'dpp' .*did you mean dpo"),
        ({**base, "loss": {"name": "redi", "args": {"beta": 1}}}, r"preference loss 'redi' has no option\(s\) \['beta'\]"),
    ]:
        with pytest.raises(FovealError, match=message):
            train(config_from_dict(_tree(tiny_dir, pref=pref)), out=tmp_path / "out")
        assert not (tmp_path / "out").exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(pairs_file.read_text() + '{"prompt": {}, "chosen": "a"}\n')
    with pytest.raises(FovealError, match=r"bad.jsonl:5: missing \['rejected'\]"):
        train(config_from_dict(_tree(tiny_dir, pref={"steps": 1, "pairs": str(bad)})), out=tmp_path / "out")
    with pytest.raises(FovealError, match="no reward has role 'correctness'"):
        train(config_from_dict(_tree(tiny_dir, pref={"steps": 1, "generate": {"k": 2}}, rewards=[{"name": "format"}])),
              out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # the split over processes, known where training starts, is checked with the rest
    with pytest.raises(FovealError, match="pref.batch_size 3 must divide by the 2 processes"):
        check_pref_config(config_from_dict(_tree(tiny_dir, pref={**base, "batch_size": 3})), world=2)
    with pytest.raises(FovealError, match="pref.generate runs on one process"):
        check_pref_config(config_from_dict(_tree(tiny_dir, pref={"steps": 1, "generate": {"k": 2}})), world=2)
    # loss: redi is short for {name: redi}; `--set pref.loss.args.beta=0.3` keeps the default name, dpo
    cfg = config_from_dict(_tree(tiny_dir), overrides=[f"pref.pairs={pairs_file}", "pref.steps=2", "pref.loss.args.beta=0.3"])
    assert (cfg.pref.loss.name, cfg.pref.loss.args, cfg.sft.steps, cfg.rl.steps) == ("dpo", {"beta": 0.3}, 0, 0)
    assert config_from_dict(_tree(tiny_dir, pref={**base, "loss": "redi"})).pref.loss.name == "redi"


def test_bad_loss_values_are_refused_by_the_config_check(tiny_dir, pairs_file):
    """dpo's beta <= 0 and redi's alpha outside [0, 1] fail the check a run makes before it writes
    anything (not the first pref step, after SFT and RL have written sft/ and rl/)."""
    from foveal.config import config_from_dict

    base = {"steps": 1, "pairs": str(pairs_file)}
    for loss, message in [({"name": "dpo", "args": {"beta": 0}}, r"pref.loss.args: dpo: beta must be > 0, got 0"),
                          ({"name": "dpo", "args": {"beta": -0.1}}, "beta must be > 0"),
                          ({"name": "redi", "args": {"alpha": 1.5}}, r"pref.loss.args: redi: alpha must lie in \[0, 1\]")]:
        with pytest.raises(FovealError, match=message):
            check_pref_config(config_from_dict(_tree(tiny_dir, sft={"steps": 1}, pref={**base, "loss": loss})))
    check_pref_config(config_from_dict(_tree(tiny_dir, pref={**base, "loss": {"name": "redi", "args": {"alpha": 1}}})))


def test_a_run_without_a_pref_stage_dumps_its_config_as_before(tiny_dir, pairs_file):
    import yaml

    from foveal.config import config_from_dict, dump_config

    plain = config_from_dict(_tree(tiny_dir, sft={"steps": 1}))
    assert "pref" not in yaml.safe_load(dump_config(plain)) and config_from_dict(yaml.safe_load(dump_config(plain))) == plain
    pref = config_from_dict(_tree(tiny_dir, pref={"steps": 2, "pairs": str(pairs_file), "loss": "redi"}))
    tree = yaml.safe_load(dump_config(pref))
    assert tree["pref"]["loss"] == {"name": "redi", "args": {}} and config_from_dict(tree) == pref
