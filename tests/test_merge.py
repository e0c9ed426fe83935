"""`foveal merge`: task vectors, layer swapping and interpolation on real saved tiny models.

Two unrelated tiny VLMs (Qwen2-VL, different init seeds) and two tiny LMs (Qwen2) are saved with
`save_pretrained`; every identity the module promises is checked with `torch.equal` on every
tensor, and the merged models are loaded back with the plain transformers Auto classes and made
to generate.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from foveal.errors import FovealError
from foveal.merge import (
    count_layers,
    decoder_layer,
    merge_add,
    merge_interpolate,
    merge_layers,
    parse_layers,
    parse_schedule,
)
from foveal.models.tiny import build_tiny_lm, build_tiny_vlm

SMALL = {"text_layers": 4, "vision_depth": 1}
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge")
    for name, build, seed in (("vlm_a", build_tiny_vlm, 0), ("vlm_b", build_tiny_vlm, 1),
                              ("lm_a", build_tiny_lm, 0), ("lm_b", build_tiny_lm, 1)):
        build(root / name, seed=seed, **SMALL)
    return {name: root / name for name in ("vlm_a", "vlm_b", "lm_a", "lm_b")}


def weights(d: Path) -> dict[str, torch.Tensor]:
    return load_file(str(d / "model.safetensors"))


def snapshot(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_size for p in root.rglob("*")}


@pytest.mark.parametrize("kind", ["vlm", "lm"])
def test_add_with_alpha_1_reproduces_an_unrelated_model_exactly(models, kind, tmp_path):
    a, b = models[f"{kind}_a"], models[f"{kind}_b"]
    merge_add(a, plus=b, minus=a, alpha=1.0, out=tmp_path / "out")
    got, want, base = weights(tmp_path / "out"), weights(b), weights(a)
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want)
    assert not any(torch.equal(base[k], want[k]) for k in want if k.endswith("proj.weight"))  # really unrelated


def test_add_scales_the_vector_in_float64(models, tmp_path):
    a, b = models["vlm_a"], models["vlm_b"]
    merge_add(a, plus=b, minus=a, alpha=-0.5, out=tmp_path / "out")
    got, wa, wb = weights(tmp_path / "out"), weights(a), weights(b)
    for k in wa:
        want = (1.5 * wa[k].double() - 0.5 * wb[k].double()).float()
        assert got[k].dtype == torch.float32
        assert torch.allclose(got[k], want, rtol=0, atol=1e-6), k


def test_layers_takes_exactly_the_listed_decoder_layers_from_the_donor(models, tmp_path):
    a, b = models["vlm_a"], models["vlm_b"]
    recipe = merge_layers(a, donor=b, layers="0,2-3", out=tmp_path / "out")
    got, wa, wb = weights(tmp_path / "out"), weights(a), weights(b)
    assert recipe["layers"] == [0, 2, 3] and recipe["n_layers"] == 4
    donor = [k for k in got if k.startswith("model.layers.") and int(k.split(".")[2]) in (0, 2, 3)]
    assert len(donor) == 3 * 12 == recipe["tensors_from_donor"]
    for k in got:
        assert torch.equal(got[k], (wb if k in donor else wa)[k]), k
    assert any(k.startswith("visual.blocks.0.") for k in got)  # vision blocks: not decoder layers, kept from A
    assert all(torch.equal(got[k], wa[k]) for k in got if k.startswith("visual."))


@pytest.mark.parametrize("kind", ["vlm", "lm"])
def test_interpolate_at_0_and_1_gives_a_and_b_exactly(models, kind, tmp_path):
    a, b = models[f"{kind}_a"], models[f"{kind}_b"]
    for alpha, want in ((0, a), (1, b)):
        merge_interpolate(a, b, alpha, out=tmp_path / f"out{alpha}")
        got, w = weights(tmp_path / f"out{alpha}"), weights(want)
        assert all(torch.equal(got[k], w[k]) for k in w)


def test_interpolate_schedule_per_decoder_layer(models, tmp_path):
    a, b = models["vlm_a"], models["vlm_b"]
    recipe = merge_interpolate(a, b, "linear:0:1", out=tmp_path / "out", rest=1)
    assert recipe["alpha"] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    got, wa, wb = weights(tmp_path / "out"), weights(a), weights(b)
    for k in got:
        layer = decoder_layer(k)
        if layer == 0:
            assert torch.equal(got[k], wa[k]), k
        elif layer in (None, 3):  # rest = 1: embeddings, norm and vision tower from B; last layer at 1
            assert torch.equal(got[k], wb[k]), k
        else:
            t = recipe["alpha"][layer]
            assert torch.allclose(got[k], ((1 - t) * wa[k].double() + t * wb[k].double()).float(), atol=1e-6), k


def test_merged_vlm_loads_with_auto_classes_and_load_policy_and_generates(models, tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from foveal import tasks
    from foveal.models import load_policy

    out = tmp_path / "out"
    merge_interpolate(models["vlm_a"], models["vlm_b"], "0.3", out=out)
    processor = AutoProcessor.from_pretrained(out)
    model = AutoModelForImageTextToText.from_pretrained(out)
    sample = tasks.get("count").generate(0, 1)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "How many circles?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    batch = processor(text=[text], images=[sample.images[0]], return_tensors="pt")
    gen = model.generate(**batch, max_new_tokens=4, do_sample=False)
    assert gen.shape == (1, batch["input_ids"].shape[1] + 4)
    policy = load_policy(out, device="cpu")
    assert type(policy.model).__name__ == "Qwen2VLForConditionalGeneration"
    with torch.no_grad():
        assert torch.equal(policy.model(**batch).logits, model(**batch).logits)


def test_merged_lm_loads_with_auto_classes_and_generates(models, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "out"
    merge_add(models["lm_a"], plus=models["lm_b"], minus=models["lm_a"], alpha=0.5, out=out)
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    ids = tok("How many circles are there?", return_tensors="pt")
    gen = model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert gen.shape == (1, ids["input_ids"].shape[1] + 4)


def test_decoder_layers_are_found_across_architectures():
    names = {
        "model.layers.3.mlp.up_proj.weight": 3,  # llama, Qwen2, Qwen2-VL as saved
        "model.language_model.layers.12.self_attn.q_proj.weight": 12,  # Qwen2-VL in memory
        "language_model.model.layers.5.input_layernorm.weight": 5,  # LLaVA
        "model.text_model.layers.7.mlp.down_proj.weight": 7,  # Idefics3 / SmolVLM
        "transformer.h.2.attn.c_attn.weight": 2,  # GPT-2
        "gpt_neox.layers.1.attention.dense.weight": 1,
        "model.embed_tokens.weight": None,
        "model.norm.weight": None,
        "lm_head.weight": None,
        "visual.blocks.0.attn.qkv.weight": None,  # vision towers are not decoder layers
        "model.visual.blocks.1.mlp.fc1.weight": None,
        "vision_tower.vision_model.encoder.layers.4.mlp.fc1.weight": None,
        "model.vision_model.encoder.layers.0.self_attn.k_proj.weight": None,
        "multi_modal_projector.linear_1.weight": None,
    }
    assert {n: decoder_layer(n) for n in names} == names
    assert count_layers(names) == 13


def test_layer_specs_and_schedules_parse_and_refuse():
    assert parse_layers("0,2-3", 4) == [0, 2, 3]
    assert parse_layers(" 3 , 1", 4) == [1, 3]
    assert parse_schedule("0.25", 3) == [0.25] * 3
    assert parse_schedule("linear:0.2:0.8", 4) == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert parse_schedule("0,0.5,1", 3) == [0, 0.5, 1]
    for spec, needle in (("4", "out of range"), ("3-1", "backwards"), ("a", "expected"), ("", "expected")):
        with pytest.raises(FovealError, match=needle):
            parse_layers(spec, 4)
    for spec, needle in (("1.5", r"\[0, 1\]"), ("nan", r"\[0, 1\]"), ("linear:0:2", r"\[0, 1\]"),
                         ("0,1", "2 values for 3"), ("x", "expected")):
        with pytest.raises(FovealError, match=needle):
            parse_schedule(spec, 3)


def test_bad_inputs_are_refused_before_anything_is_written(models, tmp_path):
    a, b, lm = models["vlm_a"], models["vlm_b"], models["lm_a"]
    empty = tmp_path / "empty"
    empty.mkdir()
    half = tmp_path / "bf16"  # the same model saved in another dtype
    half.mkdir()
    save_file({k: v.to(torch.bfloat16) for k, v in weights(a).items()}, str(half / "model.safetensors"))
    reshaped = tmp_path / "reshaped"
    reshaped.mkdir()
    w = weights(a)
    w["model.norm.weight"] = torch.zeros(7)
    save_file(w, str(reshaped / "model.safetensors"))
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "model.safetensors").write_bytes(b"not safetensors")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    out = tmp_path / "out"
    cases = [
        (lambda: merge_add(tmp_path / "nope", b, a, 1.0, out), "--base .*no such model directory"),
        (lambda: merge_add(a, empty, a, 1.0, out), "--plus .*no \\*.safetensors"),
        (lambda: merge_add(a, b, corrupt, 1.0, out), "--minus .*not a readable safetensors file"),
        (lambda: merge_add(a, b, lm, 1.0, out), "--minus: has no tensor visual"),
        (lambda: merge_add(a, reshaped, a, 1.0, out), r"--plus: tensor model.norm.weight has shape \[7\]"),
        (lambda: merge_add(a, half, a, 1.0, out), "--plus: tensor .* is BF16"),
        (lambda: merge_add(a, b, a, float("nan"), out), "--alpha nan"),
        (lambda: merge_add(a, b, a, 1.0, busy), "--out .*already exists"),
        (lambda: merge_add(a, b, a, 1.0, b), "--out .*one of the input models"),
        (lambda: merge_layers(a, b, "0,4", out), "layer 4 out of range"),
        (lambda: merge_interpolate(a, b, "1.5", out), r"--alpha '1.5'.*\[0, 1\]"),
        (lambda: merge_interpolate(a, b, "0.5", out, rest=-1), "--rest"),
    ]
    before = {**snapshot(tmp_path), **snapshot(a.parent)}
    for call, needle in cases:
        with pytest.raises(FovealError, match=needle):
            call()
    assert {**snapshot(tmp_path), **snapshot(a.parent)} == before
    assert (busy / "keep.txt").read_text() == "mine"


def test_empty_out_is_used_and_overwrite_replaces(models, tmp_path):
    a, b = models["lm_a"], models["lm_b"]
    out = tmp_path / "out"
    out.mkdir()
    merge_interpolate(a, b, "1", out=out)  # an empty directory is fine
    merge_interpolate(a, b, "0", out=out, overwrite=True)
    got, wa = weights(out), weights(a)
    assert all(torch.equal(got[k], wa[k]) for k in wa)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [p.name for p in a.iterdir()] + ["merge.json"])


def test_cli_merge_add(models, tmp_path, capsys):
    from foveal.cli import main

    out = tmp_path / "out"
    a, b = models["lm_a"], models["lm_b"]
    with pytest.raises(SystemExit) as e:
        main(["merge", "add", "--base", str(a), "--plus", str(b), "--minus", str(a), "--alpha", "1",
              "--out", str(out)])
    assert e.value.code == 0
    assert "merge add" in capsys.readouterr().out
    got, wb = weights(out), weights(b)
    assert all(torch.equal(got[k], wb[k]) for k in wb)


def test_ties_and_dare_thin_the_vector_and_are_exact_at_density_1(models, tmp_path):
    from foveal.merge import sparsify

    a, b = models["lm_a"], models["lm_b"]
    for method in ("ties", "dare"):
        merge_add(a, plus=b, minus=a, alpha=1.0, out=tmp_path / f"{method}1", method=method, density=1.0)
        got, wb = weights(tmp_path / f"{method}1"), weights(b)
        assert all(torch.equal(got[k], wb[k]) for k in wb)
    delta = torch.randn(1000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    trimmed = sparsify(delta, "ties", 0.2)
    assert (trimmed != 0).sum() == 200
    assert trimmed.abs().min() == 0 and (trimmed != 0).logical_and(trimmed.abs() < delta.abs().topk(200).values.min()).sum() == 0
    dropped = sparsify(delta, "dare", 0.5, seed=3, name="w")
    kept = dropped != 0
    assert 400 < kept.sum() < 600
    assert torch.equal(dropped[kept], delta[kept] / 0.5)
    assert torch.equal(dropped, sparsify(delta, "dare", 0.5, seed=3, name="w"))  # deterministic
    assert not torch.equal(dropped, sparsify(delta, "dare", 0.5, seed=3, name="v"))  # per tensor
    recipe = merge_add(a, plus=b, minus=a, alpha=1.0, out=tmp_path / "dare", method="dare", density=0.5)
    assert recipe["method"] == "dare" and recipe["density"] == 0.5
    with pytest.raises(FovealError, match="--density 0"):
        merge_add(a, plus=b, minus=a, alpha=1.0, out=tmp_path / "x", method="ties", density=0)
    with pytest.raises(FovealError, match="--method 'mean'"):
        merge_add(a, plus=b, minus=a, alpha=1.0, out=tmp_path / "x", method="mean")
    assert not (tmp_path / "x").exists()
