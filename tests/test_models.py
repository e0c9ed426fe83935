"""foveal.models: the tiny VLM, its tokenizer, Policy encodings, load_policy, LoRA and bad input."""

from __future__ import annotations

import json

import pytest
import torch

from foveal import tasks
from foveal.errors import FovealError
from foveal.models import apply_lora, build_tiny_vlm, completion_mask, load_policy
from foveal.models.tiny import build_tiny_lm
from foveal.prompts import r1_target

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = {"text_layers": 1, "vision_depth": 1}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "tiny"
    build_tiny_vlm(out, seed=3, **SMALL)
    return out


@pytest.fixture(scope="module")
def policy(tiny_dir):
    return load_policy(tiny_dir)


def samples():
    """Image (two sizes), video frames and text-form samples."""
    count, motion = tasks.get("count"), tasks.get("motion")
    return [count.generate(1, 1), count.generate(2, 2), motion.generate(0, 1), count.generate(4, 1).as_text()]


def test_tiny_is_deterministic_for_a_seed():
    a, b, c = (
        build_tiny_vlm(seed=0, **SMALL),
        build_tiny_vlm(seed=0, **SMALL),
        build_tiny_vlm(seed=1, **SMALL),
    )
    sa, sb, sc = (p.model.state_dict() for p in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_tiny_reloads_with_auto_classes_and_generates_images_and_video(tiny_dir, policy):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_dir)
    model = AutoModelForImageTextToText.from_pretrained(tiny_dir)
    assert type(model).__name__ == "Qwen2VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2VLProcessor"
    batch = policy.encode_prompts(samples())
    assert batch["image_grid_thw"].shape[0] == 1 + 1 + 4  # two images, then four video frames
    assert (batch["mm_token_type_ids"] == 1).sum() == (
        batch["input_ids"] == model.config.image_token_id
    ).sum()
    out = model.generate(**batch, max_new_tokens=6, do_sample=False)
    assert out.shape == (4, batch["input_ids"].shape[1] + 6)
    with torch.no_grad():  # the Auto-loaded model is the saved policy model
        assert torch.allclose(model(**batch).logits, policy.model(**batch).logits, atol=1e-6)


def test_tokenizer_keeps_answers_single_tokens_and_round_trips(policy):
    tok = policy.tokenizer
    target = "<think>I count 3 circles.</think><answer>3</answer>"
    ids = tok(target, add_special_tokens=False)["input_ids"]
    pieces = tok.convert_ids_to_tokens(ids)
    assert pieces[:1] == ["<think>"] and pieces[-3:] == ["<answer>", "3", "</answer>"]
    for answer in ["7", "B", "12"]:
        assert len(tok(answer, add_special_tokens=False)["input_ids"]) == len(answer)
    for text in [target, "ünïcode ✓ and unseen wörds 12345", "<|im_end|>"]:
        assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
    assert tok.decode(policy.tokenize_target(target), skip_special_tokens=True) == target  # R1 tags survive


def test_tokenizer_corpus_covers_every_query_and_phrasing_and_training_is_deterministic():
    from foveal.models.tokenizer import gym_corpus, measure, sample_texts, train_tokenizer

    task = tasks.get("block_count")
    corpus = gym_corpus(seeds=1, image_seeds=1, names=["block_count"])
    assert corpus == gym_corpus(seeds=1, image_seeds=1, names=["block_count"])
    asked = {(level, q, p) for level in task.levels for q in task.level_queries(level) for p in task.phrasings}
    assert len({q for _, q, _ in asked}) == len(task.queries) > 1 and len({p for *_, p in asked}) == 4
    for level, q, p in asked:  # every variant's twin and image prompt is in the corpus
        assert task.generate(0, level, form="text", query=q, phrasing=p).prompt in corpus
        assert task.generate(0, level, query=q, phrasing=p).prompt.replace("<image>", " ") in corpus
    tok = train_tokenizer(corpus, vocab_size=400)
    assert tok.to_str() == train_tokenizer(corpus, vocab_size=400).to_str()  # same corpus -> same file
    assert tok.get_vocab_size() == 400
    stats = measure(tok, sample_texts(names=["block_count"]))
    assert 0 < stats["R1 target"] < stats["twin"] and 0 <= stats["words in >= 3 pieces"] < 1


def test_messages_place_images_and_text_twins(policy, tmp_path):
    img, _, video, text_form = samples()
    parts = policy.messages(img)[-1]["content"]
    assert [p["type"] for p in parts] == ["image", "text"] and parts[0]["image"] is img.images[0]
    assert [p["type"] for p in policy.messages(video)[-1]["content"]] == ["image"] * 4 + ["text"]
    assert policy.messages(img)[0] == {
        "role": "system",
        "content": [{"type": "text", "text": policy.system_prompt}],
    }
    lm = build_tiny_lm(tmp_path / "lm", text_layers=1)
    lm = load_policy(tmp_path / "lm")
    assert not lm.is_vlm and type(lm.model).__name__ == "Qwen2ForCausalLM"
    assert lm.messages(img)[-1] == {"role": "user", "content": img.text_twin}
    assert "pixel_values" not in lm.encode_prompts([img, text_form])


def test_encode_pairs_layout_and_differentiable_logprobs(policy):
    ss = samples()
    comps = [policy.tokenize_target(r1_target(s)) for s in ss]
    comps[1] = comps[1][:3]
    batch = policy.encode_pairs(ss, comps)
    prompts = policy.encode_prompts(ss)
    p, tc = prompts["input_ids"].shape[1], max(map(len, comps))
    assert batch["input_ids"].shape == (4, p + tc)
    assert torch.equal(batch["input_ids"][:, :p], prompts["input_ids"])
    mask = completion_mask(batch)
    assert mask.sum(1).tolist() == [len(c) for c in comps]
    assert batch["completion_mask"][:, :p].sum() == 0
    for i, c in enumerate(comps):
        assert batch["input_ids"][i, p : p + len(c)].tolist() == c
        assert (c[-1] == policy.tokenizer.eos_token_id) == (i != 1)
    policy.model.zero_grad()
    logp, entropy = policy.token_logprobs(batch)
    assert logp.shape == entropy.shape == (4, tc)
    assert (logp[mask == 0] == 0).all() and (logp[mask == 1] < 0).all()
    assert (entropy[mask == 1] > 0).all()
    (-logp.sum()).backward()
    grads = [q.grad for q in policy.model.parameters() if q.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    policy.model.zero_grad()
    # temperature scales the logits before the softmax
    with torch.no_grad():
        hot, _ = policy.token_logprobs(batch, temperature=2.0)
    assert not torch.allclose(hot, logp.detach())


def test_lora_wrap_and_merge_give_the_same_logits(tiny_dir, tmp_path):
    lora_policy = load_policy(tiny_dir, lora={"r": 4})
    total, trainable = lora_policy.num_parameters(), lora_policy.num_parameters(trainable_only=True)
    assert 0 < trainable < total / 5
    assert all("lora_" in n for n, q in lora_policy.model.named_parameters() if q.requires_grad)
    assert not any("visual" in n for n, q in lora_policy.model.named_parameters() if q.requires_grad)
    torch.manual_seed(0)
    with torch.no_grad():  # lora_B starts at zero; make the adapters do something
        for n, q in lora_policy.model.named_parameters():
            if "lora_B" in n:
                q.normal_(0, 0.5)
    batch = lora_policy.encode_prompts(samples())
    with torch.no_grad():
        wrapped = lora_policy.model(**batch).logits
        base = load_policy(tiny_dir).model(**batch).logits
        lora_policy.save(tmp_path / "merged")  # merges a copy; the policy keeps its adapters
        assert hasattr(lora_policy.model, "peft_config")
        merged = lora_policy.merge_lora().model(**batch).logits
        reloaded = load_policy(tmp_path / "merged").model(**batch).logits
    assert not torch.allclose(wrapped, base, atol=1e-3)
    assert torch.allclose(wrapped, merged, atol=1e-4)  # fp32 rounding of W + BA: ~1e-5 on logits ~1
    assert torch.allclose(wrapped, reloaded, atol=1e-4)


def test_cli_model_tiny(tmp_path, capsys):
    from foveal.cli import main

    with pytest.raises(SystemExit) as e:
        main(["model", "tiny", "--out", str(tmp_path / "m")])
    assert e.value.code == 0
    out = capsys.readouterr().out
    n = int(out.split("parameters")[1].split()[0].replace(",", ""))
    assert 0.2e6 < n < 5e6  # the default size, within the range
    assert (tmp_path / "m" / "model.safetensors").exists() and (
        tmp_path / "m" / "chat_template.jinja"
    ).exists()
    with pytest.raises(SystemExit) as e:
        main(["model", "tiny", "--out", str(tmp_path / "m")])
    assert e.value.code == 2 and "already exists" in capsys.readouterr().err


# -- bad input --------------------------------------------------------------------------
def test_not_a_model_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FovealError, match="no config.json"):
        load_policy(tmp_path)
    with pytest.raises(FovealError, match="does not exist"):
        load_policy(tmp_path / "missing")
    with pytest.raises(FovealError, match="not a model directory"):
        load_policy(tmp_path / "notes.txt")


def test_processor_model_mismatch(tiny_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_dir, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["image_token_id"] = cfg["video_token_id"]
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(FovealError, match="mismatch.*image token"):
        load_policy(bad)


def test_offline_hub_id_says_how_to_use_a_local_dir(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(FovealError, match="local directory.*--local-dir"):
        load_policy("some-org/some-model-that-is-not-here")


def test_undecodable_image_names_the_prompt_or_file(policy, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    for image, pattern in [
        (b"\x00garbage", "prompt 0: cannot decode inline image"),
        (str(broken), "broken.png"),
    ]:
        msgs = [
            {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "hi"}]}
        ]
        with pytest.raises(FovealError, match=pattern):
            policy.encode_prompts([msgs])


def test_prompt_longer_than_context_names_the_sample():
    short = build_tiny_vlm(max_position_embeddings=100, **SMALL)
    short.system_prompt = None
    video = tasks.get("motion").generate(0, 1)
    with pytest.raises(FovealError, match=f"prompt {video.id} is .* tokens, longer than .* context of 100"):
        short.encode_prompts([tasks.get("count").generate(0, 1).as_text(), video])


def test_bad_lora_and_dtype(policy):
    with pytest.raises(FovealError, match="lora"):
        apply_lora(build_tiny_vlm(**SMALL).model, {"rank": 4})
    with pytest.raises(FovealError, match="dtype"):
        load_policy("tiny", dtype="float33")
    with pytest.raises(FovealError, match="tiny model"):
        build_tiny_vlm(layers=3)


@pytest.mark.slow
def test_smollm2_loads_from_the_wheel_and_answers():
    from foveal.rollout import Sampling, get_backend

    pytest.importorskip("gguf")
    policy = load_policy("smollm2-135m", system_prompt=None)
    assert not policy.is_vlm and 130e6 < policy.num_parameters() < 140e6
    msgs = [[{"role": "user", "content": "What is 2 + 3?"}]]
    group = get_backend("hf", policy=policy).generate(msgs, 1, Sampling(temperature=0, max_new_tokens=16))[0]
    assert group.completions[0].text.strip()
