"""Math-PUMA's cross-form KL term in SFT: the pure function, its config, and a tiny-model SFT run."""

import dataclasses
import math

import pytest
import torch

from foveal.config import AlignConfig, config_from_dict
from foveal.errors import FovealError
from foveal.io import read_jsonl
from foveal.train.align import align_kl

# One target token, two-word vocabulary: the text twin says p = (1/2, 1/2), the image form q = (1/4, 3/4).
P, Q = (0.5, 0.5), (0.25, 0.75)
FKL = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)  # KL(p || q) = ln(4/3) / 2
RKL = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)  # KL(q || p) = (3 ln 3 - 4 ln 2) / 4


def _logits(probs):
    return torch.tensor(probs).log().view(1, 1, -1)  # softmax(log p) = p


def test_kl_by_hand_in_each_direction():
    one = torch.ones(1, 1)
    got = {d: align_kl(_logits(Q), _logits(P), one, d).item() for d in ("forward", "reverse", "symmetric")}
    assert got["forward"] == pytest.approx(FKL, abs=1e-6) and got["forward"] == pytest.approx(math.log(4 / 3) / 2, abs=1e-6)
    assert got["reverse"] == pytest.approx(RKL, abs=1e-6)
    assert got["symmetric"] == pytest.approx((FKL + RKL) / 2, abs=1e-6)
    assert abs(FKL - RKL) > 0.01  # the directions differ on this pair, so a swap would fail above


def test_temperature_scales_the_logits_and_the_kl_by_t_squared():
    # At T = 2 the distributions are proportional to sqrt(p) and sqrt(q): p stays (1/2, 1/2),
    # q becomes (1, sqrt 3) / (1 + sqrt 3); the result is multiplied by T^2 = 4.
    r3 = math.sqrt(3)
    q2 = (1 / (1 + r3), r3 / (1 + r3))
    want = 4 * (0.5 * math.log(0.5 / q2[0]) + 0.5 * math.log(0.5 / q2[1]))
    assert align_kl(_logits(Q), _logits(P), torch.ones(1, 1), "forward", 2.0).item() == pytest.approx(want, abs=1e-6)


def test_mask_zeroes_padding_and_only_the_image_side_gets_gradients():
    image = torch.cat([_logits(Q), _logits(P)], 1).requires_grad_(True)  # [1, 2, 2]: token 2 agrees
    text = torch.cat([_logits(P), _logits(Q)], 1).requires_grad_(True)
    out = align_kl(image, text, torch.tensor([[1.0, 0.0]]))
    assert out.shape == (1, 2) and out[0, 1].item() == 0.0 and out[0, 0].item() == pytest.approx(FKL, abs=1e-6)
    out.sum().backward()
    assert text.grad is None  # the text twin is the target
    assert image.grad[0, 0].abs().sum() > 0 and image.grad[0, 1].abs().sum() == 0
    # d KL(p || q) / d z_image = q - p: the image logits move towards the text twin's distribution
    assert torch.allclose(image.grad[0, 0], torch.tensor(Q) - torch.tensor(P), atol=1e-6)
    same = align_kl(text.detach(), text.detach(), torch.ones(1, 2), "symmetric")
    assert same.abs().max().item() < 1e-7
    with pytest.raises(ValueError, match="direction 'sideways'"):
        align_kl(image, text, torch.ones(1, 2), "sideways")


def base(**sections):
    """A fresh minimal recipe tree (overrides edit nested dicts in place)."""
    return {"model": {"path": "tiny"}, "data": {"gym": {"tasks": ["count"]}}, "sft": {"steps": 1}, **sections}


@pytest.mark.parametrize("override, message", [
    ("sft.align.weight=-1", "sft.align.weight: Input should be greater than or equal to 0"),
    ("sft.align.weight=.nan", "sft.align.weight: Input should be a finite number"),
    ("sft.align.direction=both", "sft.align.direction: Input should be 'forward', 'reverse' or 'symmetric'"),
    ("sft.align.temperature=0", "sft.align.temperature: Input should be greater than 0"),
    ("sft.align.lambda=1", "sft.align.lambda: unknown field"),
    ("data.gym.form=text", "sft.align pairs each picture with its text twin, but data.gym.form text draws no pictures"),
])
def test_bad_align_config_is_one_line_naming_the_field(override, message):
    with pytest.raises(FovealError) as e:
        config_from_dict(base(sft={"steps": 1, "align": {"weight": 0.5}}), "recipe.yaml", [override])
    assert message in str(e.value) and "\n" not in str(e.value)


def test_align_that_would_do_nothing_is_refused():
    """sft.align without SFT steps, or on text draws whose sampler shows no picture during SFT, is
    an error; a staged sampler during sft with an image stage is accepted."""
    from foveal.train.data import build_sampler, check_sampler

    with pytest.raises(FovealError, match="sft.align is a term of the SFT loss, but sft.steps is 0"):
        config_from_dict(base(sft={"steps": 0, "align": {}}, rl={"steps": 1}))

    def check(during, forms):
        stages = [{"until": 2, "forms": ["text"]}, {"until": None, "forms": forms}]
        cfg = config_from_dict(base(sft={"steps": 2, "align": {}}, rl={"steps": 1}, data={"gym": {
            "tasks": ["count"], "form": "text"}, "sampler": {"name": "staged", "args": {"during": during, "stages": stages}}}))
        check_sampler(cfg, build_sampler(cfg.data))

    check("sft", ["image"])
    check("sft", ["mixed", "text"])
    for during, forms in (("rl", ["image"]), ("sft", ["text"])):
        with pytest.raises(FovealError, match="data.gym.form text with data.sampler 'staged' draws no pictures during sft"):
            check(during, forms)


def test_align_config_defaults_and_off_by_default():
    import yaml

    from foveal.config import dump_config

    plain = config_from_dict(base())
    assert plain.sft.align is None
    assert "align" not in yaml.safe_load(dump_config(plain))["sft"]  # a plain run records what it did before
    cfg = config_from_dict(base(), overrides=["sft.align.direction=reverse"])
    assert cfg.sft.align == AlignConfig(weight=1.0, direction="reverse", temperature=1.0)
    assert config_from_dict(yaml.safe_load(dump_config(cfg))).sft.align == cfg.sft.align


def test_weight_zero_is_plain_sft_exactly_and_the_term_adds_lambda_kl(tiny_dir, tmp_path, one_thread):
    import foveal.tasks as gym
    from foveal.models import load_policy
    from foveal.train.run import Session, make_accelerator
    from foveal.train.sft import align_sft_loss, sft_loss, target_text

    cfg = config_from_dict(base(model={"path": str(tiny_dir)}))
    session = Session(cfg, tmp_path, load_policy(str(tiny_dir), dtype="float32"), make_accelerator())
    samples = [gym.get("count").generate(seed, 1, "image", split="train") for seed in (3, 7)]
    ids = [session.policy.tokenize_target(target_text(x, "r1")) for x in samples]
    n = float(sum(map(len, ids)))
    plain, info = sft_loss(session, samples, ids, n)
    zero, info0 = align_sft_loss(session, samples, ids, n, AlignConfig(weight=0.0))
    assert torch.equal(zero, plain) and info0["nll_sum"] == info["nll_sum"] and info0["tokens"] == n
    assert info0["kl_sum"] > 0  # an untrained model answers a picture and its twin differently
    lam, info1 = align_sft_loss(session, samples, ids, n, AlignConfig(weight=0.5, direction="reverse"))
    assert lam.item() == pytest.approx(plain.item() + 0.5 * info1["kl_sum"] / n, rel=1e-6)
    # a text-form sample trains on NLL alone; a mixed-form one (part picture, part text) is paired too
    text, mixed = samples[0].as_text(), gym.get("count").generate(3, 1, "mixed", split="train")
    both, info2 = align_sft_loss(session, [text, samples[1]], ids, n, AlignConfig(weight=1.0))
    _, alone = align_sft_loss(session, samples[1:], ids[1:], n, AlignConfig(weight=1.0))
    assert info2["kl_sum"] == pytest.approx(alone["kl_sum"], rel=1e-5) and info2["kl_tokens"] == len(ids[1])
    assert align_sft_loss(session, [mixed], ids[:1], n, AlignConfig())[1]["kl_sum"] > 0
    no_twin = dataclasses.replace(samples[0], text_twin="")
    with pytest.raises(FovealError, match=f"sample {no_twin.id} has no text twin"):
        align_sft_loss(session, [no_twin], ids[:1], n, AlignConfig())


def test_sft_run_with_the_term_logs_it_and_trains_differently(tiny_dir, tmp_path, one_thread):
    from safetensors.torch import load_file

    from foveal.train import train

    def run(name, align, form="image", sampler=None):
        tree = {"model": {"path": str(tiny_dir)}, "data": {"gym": {"tasks": ["count"], "form": form}, "sampler": sampler},
                "log": {"progress": False}, "sft": {"steps": 2, "batch_size": 2, "micro_batch_size": 1, "align": align}}
        out = train(config_from_dict(tree), out=tmp_path / name)
        return read_jsonl(out / "train.jsonl"), load_file(str(out / "sft" / "model.safetensors"))

    rows, on = run("on", {"weight": 1.0, "direction": "forward"})
    plain_rows, off = run("off", None)
    assert [r["step"] for r in rows] == [1, 2]
    assert all(math.isfinite(r["align_kl"]) and r["align_kl"] > 0 for r in rows)
    assert all("align_kl" not in r for r in plain_rows)
    text_rows, _ = run("text", {"weight": 1.0}, form="text", sampler={"name": "staged", "args": {
        "during": "sft", "stages": [{"until": 1, "forms": ["text"]}, {"until": None, "forms": ["image"]}]}})
    assert "align_kl" not in text_rows[0] and text_rows[1]["align_kl"] > 0  # step 1 drew no picture
    assert rows[0]["loss"] == pytest.approx(plain_rows[0]["loss"], rel=1e-6)  # same first batch, same weights
    assert any(not torch.equal(on[k], off[k]) for k in on)  # the KL term moved the weights


def test_transfer_recipes_draw_the_forms_they_say():
    """text_only_rl: SFT on pictures and twins, every RL prompt a twin; text_first_rl: RL steps 0-59 twins, 60- pictures."""
    from pathlib import Path

    from foveal.config import load_config
    from foveal.train.data import PromptSource

    recipes = Path(__file__).parent.parent / "recipes"

    def forms(name, stage, step):
        cfg = load_config(recipes / f"{name}.yaml")
        return {x.form for x in PromptSource(cfg.data, seed=0).draw(16, step=step, stage=stage)}

    assert forms("text_only_rl", "sft", 0) == {"image", "text"} and forms("text_only_rl", "rl", 119) == {"text"}
    assert forms("text_first_rl", "sft", 0) == {"image"}
    assert forms("text_first_rl", "rl", 59) == {"text"} and forms("text_first_rl", "rl", 60) == {"image"}
    assert load_config(recipes / "puma_sft.yaml").sft.align is not None


def test_a_text_only_model_is_refused_before_anything_is_written(tmp_path, one_thread):
    from foveal.models.tiny import build_tiny_lm
    from foveal.train import train

    build_tiny_lm(tmp_path / "lm", text_layers=1)
    cfg = config_from_dict(base(model={"path": str(tmp_path / "lm")}, sft={"steps": 1, "align": {"weight": 1.0}}))
    with pytest.raises(FovealError, match="sft.align needs a vision-language model: .* is text-only"):
        train(cfg, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
