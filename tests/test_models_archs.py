"""load_policy, encodings and the hf backend on a non-Qwen VLM: a tiny random LLaVA built locally."""

from __future__ import annotations

import pytest
import torch

from foveal import tasks
from foveal.models import load_policy
from foveal.models.policy import Policy
from foveal.models.tokenizer import CHAT_TEMPLATE, IM_END, PAD, VOCAB_FILE
from foveal.rollout import Sampling, get_backend

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def llava_dir(tmp_path_factory):
    """LlavaForConditionalGeneration (1-layer CLIP + 1-layer Llama) with a LlavaProcessor, saved."""
    from tokenizers import Tokenizer
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    template = CHAT_TEMPLATE.replace("<|vision_start|><|image_pad|><|vision_end|>", "<image>")
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_file(str(VOCAB_FILE)),
        eos_token=IM_END,
        pad_token=PAD,
        extra_special_tokens={"image_token": "<image>"},
    )
    tok.add_tokens(["<image>"], special_tokens=True)
    tok.chat_template = template
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    text = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config).eval()
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tok,
        patch_size=8,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=0,
        chat_template=template,
    )
    out = tmp_path_factory.mktemp("archs") / "llava"
    Policy(model=model, processor=processor, name="llava").save(out)
    return out


def test_llava_images_video_frames_and_text_with_logprob_parity(llava_dir):
    policy = load_policy(llava_dir)
    assert policy.is_vlm and type(policy.model).__name__ == "LlavaForConditionalGeneration"
    samples = [
        tasks.get("count").generate(0, 1),
        tasks.get("motion").generate(0, 1),
        tasks.get("count").generate(1, 1).as_text(),
    ]
    batch = policy.encode_prompts(samples)
    assert batch["pixel_values"].shape[0] == 1 + 4  # one image, four frames, none for the text form
    groups = get_backend("hf", policy=policy, batch_size=4).generate(
        samples, 2, Sampling(max_new_tokens=6, seed=1)
    )
    flat = [c for g in groups for c in g.completions]
    pairs = policy.encode_pairs([s for s in samples for _ in range(2)], [c.token_ids for c in flat])
    with torch.no_grad():
        logp, _ = policy.token_logprobs(pairs)
    for i, c in enumerate(flat):
        assert torch.allclose(logp[i, : len(c.token_ids)], torch.tensor(c.logprobs), atol=1e-4)
