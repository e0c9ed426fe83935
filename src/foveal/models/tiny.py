"""The embedded tiny VLM: a real, randomly initialised Qwen2-VL small enough to train on 2 CPU cores.

    policy = build_tiny_vlm(out_dir="runs/tiny")      # or: foveal model tiny --out runs/tiny
    AutoModelForImageTextToText.from_pretrained("runs/tiny")   # loads like any hub model

Architecture (defaults, ~1 M parameters): a 64-wide, 2-block vision tower on 8 px patches,
2 x 2 patch merging (a 64 px image -> 8 x 8 patches -> 16 visual tokens), and a 128-wide,
4-layer, 4-head text decoder with multimodal RoPE (`mrope_section` [4, 6, 6] over the
16 rotary frequency pairs of a 32-dim head). The sizes were chosen by measurement (FACTS.md):
this model learns "how many circles" from scratch to ~90% in about 3 minutes on 2 cores.

The tokenizer is a byte-level BPE trained on the gym's own text (`foveal.models.tokenizer`),
the processor is the real `Qwen2VLProcessor` with the image processor sized so that images
of 32-80 px give 4-25 visual tokens. Everything is deterministic for a given `seed`.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from foveal.errors import FovealError

TINY_NAME = "tiny"


@dataclass(frozen=True)
class TinySize:
    """The knobs of the tiny VLM. `head_dim = text_hidden / text_heads` must be 32 for `mrope_section`."""

    text_hidden: int = 128
    text_layers: int = 4
    text_heads: int = 4
    text_intermediate: int = 256
    vision_embed: int = 64
    vision_depth: int = 2
    vision_heads: int = 4
    patch_size: int = 8
    merge_size: int = 2
    min_pixels: int = 32 * 32
    max_pixels: int = 80 * 80
    max_position_embeddings: int = 2048
    rope_theta: float = 10000.0

    def __post_init__(self) -> None:
        head_dim, rem = divmod(self.text_hidden, self.text_heads)
        if rem or head_dim % 2:
            raise FovealError(
                f"tiny VLM: text_hidden {self.text_hidden} must split into an even head_dim over {self.text_heads} heads"
            )

    @property
    def mrope_section(self) -> list[int]:
        """Split of the head's rotary frequency pairs over (time, height, width), Qwen2-VL's 1:1.5:1.5-ish."""
        half = self.text_hidden // self.text_heads // 2
        t = half // 4
        h = (half - t) // 2
        return [t, h, half - t - h]


def tiny_processor(size: TinySize = TinySize()):
    """The `Qwen2VLProcessor` (tokenizer + image + video processors) of the tiny VLM."""
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    from foveal.models.tokenizer import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    pixels = {"min_pixels": size.min_pixels, "max_pixels": size.max_pixels}
    common = {"patch_size": size.patch_size, "merge_size": size.merge_size, "temporal_patch_size": 2}
    image_processor = Qwen2VLImageProcessor(**pixels, **common)
    video_processor = Qwen2VLVideoProcessor(**pixels, **common)
    return Qwen2VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=tokenizer.chat_template,
    )


def _text_config(tokenizer, size: TinySize) -> dict:
    """The decoder's config fields shared by the tiny VLM and the tiny LM."""
    from foveal.models import tokenizer as tk

    return {
        "vocab_size": len(tokenizer),
        "hidden_size": size.text_hidden,
        "intermediate_size": size.text_intermediate,
        "num_hidden_layers": size.text_layers,
        "num_attention_heads": size.text_heads,
        "num_key_value_heads": size.text_heads,
        "max_position_embeddings": size.max_position_embeddings,
        "bos_token_id": None,
        "eos_token_id": tokenizer.convert_tokens_to_ids(tk.IM_END),
        "pad_token_id": tokenizer.convert_tokens_to_ids(tk.PAD),
        "tie_word_embeddings": True,
    }


def _init(model_cls, config, seed: int):
    """`model_cls(config)` initialised under `seed` without disturbing the caller's global RNG."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_cls(config)
    gen, text = model.generation_config, config.get_text_config()  # older transformers keep the ids only there
    gen.eos_token_id, gen.pad_token_id, gen.bos_token_id = text.eos_token_id, text.pad_token_id, None
    return model.eval()


def tiny_model(tokenizer, size: TinySize = TinySize(), seed: int = 0):
    """A randomly initialised `Qwen2VLForConditionalGeneration` whose special ids match `tokenizer`."""
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    from foveal.models import tokenizer as tk

    text_config = _text_config(tokenizer, size)
    text_config["rope_parameters"] = {
        "rope_type": "default",
        "rope_theta": size.rope_theta,
        "mrope_section": size.mrope_section,
    }
    vision_config = {
        "depth": size.vision_depth,
        "embed_dim": size.vision_embed,
        "hidden_size": size.text_hidden,
        "num_heads": size.vision_heads,
        "mlp_ratio": 4,
        "patch_size": size.patch_size,
        "spatial_merge_size": size.merge_size,
        "temporal_patch_size": 2,
    }
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in tk.SPECIAL_TOKENS}
    config = Qwen2VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids[tk.IMAGE_PAD],
        video_token_id=ids[tk.VIDEO_PAD],
        vision_start_token_id=ids[tk.VISION_START],
        vision_end_token_id=ids[tk.VISION_END],
        tie_word_embeddings=True,
        eos_token_id=text_config["eos_token_id"],
        pad_token_id=text_config["pad_token_id"],
    )
    return _init(Qwen2VLForConditionalGeneration, config, seed)


def _size(size: dict) -> TinySize:
    try:
        return TinySize(**size)
    except TypeError as e:
        raise FovealError(f"tiny model: {e} (known sizes: {', '.join(asdict(TinySize()))})") from None


def _finish(policy, out_dir, overwrite: bool):
    if out_dir is not None:
        policy.save(out_dir, overwrite=overwrite)
        policy.name = str(out_dir)
    return policy


def build_tiny_vlm(out_dir: str | os.PathLike | None = None, seed: int = 0, overwrite: bool = False, **size):
    """Build the tiny VLM as a `Policy`; with `out_dir`, also save it there atomically.

    size: overrides of `TinySize` fields (e.g. `text_layers=1` for tests).
    """
    from foveal.models.policy import Policy

    tiny_size = _size(size)
    processor = tiny_processor(tiny_size)
    model = tiny_model(processor.tokenizer, tiny_size, seed)
    return _finish(Policy(model=model, processor=processor, name=TINY_NAME), out_dir, overwrite)


# -- other embedded architectures (issue 17: does "where" depend on the vision tower?) ---------------
# Each is built locally from transformers configs with the same decoder (Qwen2, 128 wide x 4 layers)
# and the same BPE tokenizer, saves with `Policy.save` and reloads with the Auto classes.
DEEP_SIZE = {"vision_depth": 6, "vision_embed": 128, "vision_heads": 4}
VIT_SIZE = {"hidden_size": 64, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
            "image_size": 64, "patch_size": 8}
# Idefics3's processor always writes these markers around an image; they are added to the tokenizer.
IDEFICS3_TOKENS = ("<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>")


def build_tiny_deep(out_dir: str | os.PathLike | None = None, seed: int = 0, overwrite: bool = False):
    """The tiny Qwen2-VL with a deeper and wider vision tower (6 blocks x 128 instead of 2 x 64); same
    processor, decoder and tokenizer. Its vision tower still sees position only through rotary attention."""
    policy = build_tiny_vlm(seed=seed, **DEEP_SIZE)
    policy.name = "tiny-deep"
    return _finish(policy, out_dir, overwrite)


def _qwen2_text(tokenizer, size: TinySize) -> dict:
    """The tiny decoder as a `Qwen2Config` dict (plain RoPE), the language model of LLaVA and Idefics3."""
    return {**_text_config(tokenizer, size), "model_type": "qwen2",
            "rope_parameters": {"rope_type": "default", "rope_theta": size.rope_theta}}


def build_tiny_llava(out_dir: str | os.PathLike | None = None, seed: int = 0, overwrite: bool = False):
    """A LLaVA: a CLIP vision tower (learned absolute position embeddings, 2 blocks x 64 wide, 8 px patches
    on a 64 px image: 64 visual tokens, CLS dropped), a 2-layer MLP projector and the tiny decoder.

    Images are resized (not cropped) to 64 x 64 by the `CLIPImageProcessor`; the processor expands the
    chat template's `<|image_pad|>` to 64 image tokens, so the tokenizer is the tiny one, unchanged.
    """
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    from foveal.models import tokenizer as tk
    from foveal.models.policy import Policy

    size, side = TinySize(), VIT_SIZE["image_size"]
    tokenizer = tk.tiny_tokenizer()
    image_processor = CLIPImageProcessor(size={"height": side, "width": side}, do_center_crop=False,
                                         crop_size={"height": side, "width": side})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer,
                               patch_size=VIT_SIZE["patch_size"], vision_feature_select_strategy="default",
                               num_additional_image_tokens=1, image_token=tk.IMAGE_PAD,
                               chat_template=tokenizer.chat_template)
    text = _qwen2_text(tokenizer, size)
    config = LlavaConfig(
        vision_config={**VIT_SIZE, "model_type": "clip_vision_model"},
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(tk.IMAGE_PAD),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        tie_word_embeddings=True,
        eos_token_id=text["eos_token_id"],
        pad_token_id=text["pad_token_id"],
    )
    model = _init(LlavaForConditionalGeneration, config, seed)
    return _finish(Policy(model=model, processor=processor, name="tiny-llava"), out_dir, overwrite)


def build_tiny_idefics3(out_dir: str | os.PathLike | None = None, seed: int = 0, overwrite: bool = False):
    """An Idefics3 / SmolVLM: a SigLIP vision tower (learned absolute position embeddings, 2 blocks x 64
    wide, 8 px patches on a 64 px image), pixel shuffle by 2 (64 patches -> 16 visual tokens, as many as
    the tiny Qwen2-VL's) and the tiny decoder.

    Images are resized to 64 x 64 without splitting; the tokenizer is the tiny BPE plus the four markers
    Idefics3's processor writes around an image (`IDEFICS3_TOKENS`), and the chat template puts `<image>`
    where the tiny one puts `<|vision_start|><|image_pad|><|vision_end|>`.
    """
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
    )

    from foveal.models import tokenizer as tk
    from foveal.models.policy import Policy

    size, side, scale = TinySize(), VIT_SIZE["image_size"], 2
    tokenizer = tk.tiny_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": list(IDEFICS3_TOKENS)})
    template = tokenizer.chat_template.replace(f"{tk.VISION_START}{tk.IMAGE_PAD}{tk.VISION_END}", "<image>")
    tokenizer.chat_template = template
    image_processor = Idefics3ImageProcessor(do_image_splitting=False, size={"longest_edge": side},
                                             max_image_size={"longest_edge": side})
    seq_len = (side // VIT_SIZE["patch_size"]) ** 2 // scale**2
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=seq_len,
                                  chat_template=template)
    text = _qwen2_text(tokenizer, size)
    config = Idefics3Config(
        vision_config={**VIT_SIZE, "model_type": "idefics3_vision"},
        text_config=text,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        scale_factor=scale,
        tie_word_embeddings=True,
        eos_token_id=text["eos_token_id"],
        pad_token_id=text["pad_token_id"],
    )
    model = _init(Idefics3ForConditionalGeneration, config, seed)
    return _finish(Policy(model=model, processor=processor, name="tiny-idefics3"), out_dir, overwrite)


# name -> builder(out_dir=None, seed=0, overwrite=False) of every embedded VLM (docs/models.md compares them)
ARCHS = {
    TINY_NAME: build_tiny_vlm,
    "tiny-deep": build_tiny_deep,
    "tiny-llava": build_tiny_llava,
    "tiny-idefics3": build_tiny_idefics3,
}


def build_tiny_lm(out_dir: str | os.PathLike | None = None, seed: int = 0, overwrite: bool = False, **size):
    """The text-only twin of the tiny VLM: the same decoder (`Qwen2ForCausalLM`) and tokenizer, no vision.

    A same-size baseline for the text form of the gym's problems (the modality gap), and the
    smallest real causal LM for tests. Loads with `AutoModelForCausalLM`.
    """
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from foveal.models.policy import Policy
    from foveal.models.tokenizer import tiny_tokenizer

    tiny_size = _size(size)
    tokenizer = tiny_tokenizer()
    config = Qwen2Config(
        **_text_config(tokenizer, tiny_size),
        rope_parameters={"rope_type": "default", "rope_theta": tiny_size.rope_theta},
    )
    model = _init(Qwen2ForCausalLM, config, seed)
    return _finish(Policy(model=model, processor=tokenizer, name="tiny-lm"), out_dir, overwrite)
