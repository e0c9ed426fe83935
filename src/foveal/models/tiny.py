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
