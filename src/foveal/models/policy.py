"""`Policy`: a model with its processor, and the encodings the trainer, rollout and eval share.

    policy = load_policy("tiny")                         # or any HF VLM / causal LM directory
    batch = policy.encode_prompts(samples)               # left-padded, images included
    pairs = policy.encode_pairs(samples, completion_ids) # prompt + completion, for losses
    logp, entropy = policy.token_logprobs(pairs)         # [B, Tc], differentiable
    mask = completion_mask(pairs)                        # [B, Tc], 1 on real completion tokens
    pairs = policy.share_prompts(pairs, samples)         # same log-probs, each repeated prompt run once

Layout of a pair batch (P = longest prompt, Tc = longest completion, T = P + Tc):

    input_ids  [B, T] = [pad .. pad prompt tokens | completion tokens pad .. pad]
                         <- left-padded, width P -> <- right-padded, width Tc ->

so every completion starts at column P, and the logits at columns P-1 .. T-2 predict it.
A vision-language model sees each sample's images through its own processor (Qwen2-VL's
`pixel_values`, `image_grid_thw`, `mm_token_type_ids`, Idefics3's `pixel_attention_mask`, ...);
a text-only model gets each sample's text twin instead. Video samples (several `<image>`
frames) are passed as several images, in order.

Shared prompts. In an RL step each prompt is repeated G times (one row per completion) and is most
of each row. `share_prompts` marks runs of consecutive rows with the same prompt and encodes each
run's prompt once; `token_logprobs` then runs each prompt once, keeps its KV cache (a function of the
weights, so gradients flow through it), gives every row of the run its prompt's cache, and runs only
the completions on it. The log-probs are those of the plain pass up to float rounding (the cache is
the same per-layer keys and values; gradients from the G rows are summed where the prompt's
activations are, instead of per row). Models whose cache is not plain per-layer keys and values
(sliding-window, linear-attention or recurrent layers), or that checkpoint their layers, take the plain
pass: `prompt_sharing_unsupported`.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from foveal.errors import FovealError
from foveal.prompts import R1_SYSTEM_PROMPT
from foveal.sample import IMAGE_TOKEN, Sample

# Keys of a pair batch that are not model inputs.
PAIR_KEYS = ("completion_ids", "completion_mask", "prompt_runs", "prompt_batch")


@dataclass
class Policy:
    """A (vision-)language model, its processor (a tokenizer for text-only models) and chat formatting.

    model: a transformers model (or a peft `PeftModel` wrapping one).
    processor: the model's processor (VLM) or tokenizer (LM).
    tokenizer: the text tokenizer (`processor.tokenizer` for a VLM).
    name: where it came from (a directory, "tiny", "smollm2-135m").
    is_vlm: whether the model takes images; if not, samples are given as their text twin.
    system_prompt: prepended as a system message to every Sample's chat (None: no system message).
    """

    model: Any
    processor: Any
    name: str = ""
    system_prompt: str | None = R1_SYSTEM_PROMPT
    tokenizer: Any = field(default=None)
    is_vlm: bool | None = None

    def __post_init__(self) -> None:
        if self.tokenizer is None:
            self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        if self.is_vlm is None:
            self.is_vlm = hasattr(self.processor, "image_processor")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"

    # -- chat formatting -----------------------------------------------------------
    def messages(self, prompt: Sample | list[dict]) -> list[dict]:
        """Chat messages for a Sample (system prompt + user turn), or ready messages unchanged.

        A VLM gets the prompt split at each `<image>` into [{"type": "image", "image": PIL}, {"type":
        "text", ...}] parts in order; a text-only model gets `sample.as_text().prompt` (the twin).
        """
        if not isinstance(prompt, Sample):
            return list(prompt)
        msgs: list[dict] = []
        if self.system_prompt:  # VLM templates (e.g. Idefics3's) index content parts, so give VLMs a list
            system = [{"type": "text", "text": self.system_prompt}] if self.is_vlm else self.system_prompt
            msgs.append({"role": "system", "content": system})
        if not self.is_vlm or not prompt.images:
            text = prompt.as_text().prompt if not self.is_vlm else prompt.prompt
            if not text:
                raise FovealError(f"sample {prompt.id}: no text twin to give the text-only model {self.name}")
            msgs.append(
                {"role": "user", "content": text if not self.is_vlm else [{"type": "text", "text": text}]}
            )
            return msgs
        parts: list[dict] = []
        pieces = prompt.prompt.split(IMAGE_TOKEN)
        for i, piece in enumerate(pieces):
            if i > 0:
                parts.append({"type": "image", "image": prompt.images[i - 1]})
            if piece.strip():
                parts.append({"type": "text", "text": piece.strip()})
        msgs.append({"role": "user", "content": parts})
        return msgs

    def chat_text(self, prompt: Sample | list[dict]) -> tuple[str, list[Image.Image]]:
        """The prompt as templated text ending with the assistant header, and its images in order."""
        pid = prompt_id(prompt, 0)
        msgs, images = [], []
        for m in self.messages(prompt):
            content = m.get("content")
            if isinstance(content, list):
                new = []
                for part in content:
                    if part.get("type") in ("image", "image_url") or "image" in part or "image_url" in part:
                        images.append(decode_image(part, pid))
                        new.append({"type": "image"})
                    else:
                        new.append(part)
                if not self.is_vlm:
                    if images:
                        raise FovealError(
                            f"prompt {pid}: {self.name} is a text-only model but the prompt has images"
                        )
                    new = "".join(p.get("text", "") for p in new)
                m = {**m, "content": new}
            msgs.append(m)
        template_owner = self.processor if self.is_vlm else self.tokenizer
        text = template_owner.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        return text, images

    # -- encodings -----------------------------------------------------------------
    def encode_prompts(self, prompts: list[Sample | list[dict]]) -> dict[str, Any]:
        """Tokenise a batch of prompts, left-padded, on the model's device.

        Returns the processor's tensors: `input_ids` [B, P], `attention_mask` [B, P] and, for a VLM
        with images, e.g. `pixel_values`, `image_grid_thw`, `mm_token_type_ids` [B, P] (Qwen2-VL).
        Raises FovealError naming the sample if a prompt is longer than the model's context.
        """
        if not prompts:
            raise FovealError("encode_prompts: no prompts given")
        texts, images = zip(*(self.chat_text(p) for p in prompts), strict=True)
        kwargs: dict[str, Any] = {"return_tensors": "pt", "padding": True}
        if self.is_vlm:
            if any(images):
                kwargs["images"] = [list(ims) for ims in images]
            enc = self.processor(text=list(texts), **kwargs)
        else:
            enc = self.tokenizer(list(texts), add_special_tokens=False, **kwargs)
        enc = dict(enc)
        lengths = enc["attention_mask"].sum(1).tolist()
        ctx = self.context_length
        for i, n in enumerate(lengths):
            if n > ctx:
                raise FovealError(
                    f"prompt {prompt_id(prompts[i], i)} is {n} tokens, longer than {self.name}'s context of {ctx}"
                )
        return {k: v.to(self.device) if hasattr(v, "to") else v for k, v in enc.items()}

    def encode_pairs(
        self, prompts: list[Sample | list[dict]], completion_ids: list[list[int]]
    ) -> dict[str, Any]:
        """Prompts (left-padded) followed by completions (right-padded): the input of losses.

        Returns the model inputs over T = P + Tc columns plus
            completion_ids  [B, Tc]: the completions, right-padded with the pad id;
            completion_mask [B, T]: 1 on completion tokens (0 on prompt and padding), for SFT losses.
        """
        import torch

        if len(prompts) != len(completion_ids):
            raise FovealError(f"encode_pairs: {len(prompts)} prompts but {len(completion_ids)} completions")
        enc = self.encode_prompts(prompts)
        b, p = enc["input_ids"].shape
        tc = max(1, max(len(c) for c in completion_ids))
        pad = self.tokenizer.pad_token_id
        comp = torch.full((b, tc), pad, dtype=enc["input_ids"].dtype)
        cmask = torch.zeros((b, tc), dtype=enc["attention_mask"].dtype)
        ctx = self.context_length
        for i, ids in enumerate(completion_ids):
            comp[i, : len(ids)] = torch.as_tensor(ids, dtype=comp.dtype)
            cmask[i, : len(ids)] = 1
            n = int(enc["attention_mask"][i].sum()) + len(ids)
            if n > ctx:
                raise FovealError(
                    f"prompt {prompt_id(prompts[i], i)} plus its completion is {n} tokens, longer than "
                    f"{self.name}'s context of {ctx}"
                )
        comp, cmask = comp.to(self.device), cmask.to(self.device)
        out = dict(enc)
        out["input_ids"] = torch.cat([enc["input_ids"], comp], 1)
        out["attention_mask"] = torch.cat([enc["attention_mask"], cmask], 1)
        if "mm_token_type_ids" in enc:
            out["mm_token_type_ids"] = torch.cat([enc["mm_token_type_ids"], torch.zeros_like(comp)], 1)
        if "token_type_ids" in enc:
            out["token_type_ids"] = torch.cat([enc["token_type_ids"], torch.zeros_like(comp)], 1)
        out["completion_ids"] = comp
        out["completion_mask"] = torch.cat(
            [torch.zeros((b, p), dtype=cmask.dtype, device=cmask.device), cmask], 1
        )
        return out

    def share_prompts(self, batch: dict[str, Any], prompts: list[Sample | list[dict]]) -> dict[str, Any]:
        """The pair batch of `prompts`, marked so that `token_logprobs` runs each repeated prompt once.

        Adds `prompt_runs` [R] (lengths of the runs of consecutive equal prompts, summing to B) and
        `prompt_batch` (`encode_prompts` of each run's prompt: its rows are the runs' prompt columns,
        the same P wide). Unchanged when no prompt repeats.
        """
        import torch

        if len(prompts) != batch["input_ids"].shape[0]:
            raise FovealError(f"share_prompts: {len(prompts)} prompts for a batch of {batch['input_ids'].shape[0]} rows")
        runs: list[int] = []
        for i, x in enumerate(prompts):
            if i and (x is prompts[i - 1] or x == prompts[i - 1]):
                runs[-1] += 1
            else:
                runs.append(1)
        if len(runs) == len(prompts):
            return batch
        heads = [sum(runs[:r]) for r in range(len(runs))]
        enc = self.encode_prompts([prompts[i] for i in heads])
        p = batch["input_ids"].shape[1] - batch["completion_ids"].shape[1]
        if not torch.equal(enc["input_ids"], batch["input_ids"][heads, :p]):  # never seen: the plain pass is right
            return batch
        return {**batch, "prompt_runs": torch.tensor(runs), "prompt_batch": enc}

    def token_logprobs(self, batch: dict[str, Any], temperature: float = 1.0):
        """Per-token log-probability and entropy of each completion token, teacher-forced.

            logp[b, t]    = log softmax(z_{P-1+t} / temperature)[completion_ids[b, t]]
            entropy[b, t] = -sum_v p_v log p_v of that same distribution

        Both are [B, Tc], differentiable, and 0 where `completion_mask(batch)` is 0. Only the last
        Tc + 1 positions' logits are computed (`logits_to_keep`), to spare memory on long prompts. A
        batch marked by `share_prompts` runs each repeated prompt once (`shared_prompt_logits`) when
        the model allows it (`prompt_sharing_unsupported`), else every row whole.
        """
        import torch

        comp = batch["completion_ids"]
        tc = comp.shape[1]
        inputs = {k: v for k, v in batch.items() if k not in PAIR_KEYS}
        if "prompt_batch" in batch and prompt_sharing_unsupported(self.model) is None:
            logits = shared_prompt_logits(self.model, inputs, batch["prompt_batch"], batch["prompt_runs"], tc)
        else:
            logits = self.model(**inputs, use_cache=False, logits_to_keep=tc + 1).logits[:, -tc - 1 : -1]
        logits = logits.float() / temperature
        logz = torch.logsumexp(logits, -1)
        logp = torch.gather(logits, -1, comp.unsqueeze(-1)).squeeze(-1) - logz
        all_logp = logits - logz.unsqueeze(-1)
        entropy = -(all_logp.exp() * all_logp).sum(-1)
        mask = completion_mask(batch).to(logp.dtype)
        return logp * mask, entropy * mask

    def tokenize_target(self, text: str) -> list[int]:
        """Completion ids for an SFT target: the text's tokens (no special prefix) then the eos token."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return list(ids) + [self.tokenizer.eos_token_id]

    # -- model helpers -------------------------------------------------------------
    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def context_length(self) -> int:
        """The model's maximum sequence length (text config's `max_position_embeddings`)."""
        cfg = self.model.config
        cfg = getattr(cfg, "text_config", None) or cfg
        return int(getattr(cfg, "max_position_embeddings", None) or self.tokenizer.model_max_length)

    @property
    def eos_token_ids(self) -> list[int]:
        """Token ids that end a completion: the generation config's eos ids and the tokenizer's eos."""
        gen = getattr(self.model, "generation_config", None)
        ids = getattr(gen, "eos_token_id", None)
        ids = [] if ids is None else [ids] if isinstance(ids, int) else list(ids)
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad or not trainable_only)

    def merge_lora(self) -> Policy:
        """Fold LoRA adapters into the base weights (W + B A * alpha / r); the model stops being a PeftModel."""
        if hasattr(self.model, "merge_and_unload"):
            self.model = self.model.merge_and_unload()
        return self

    def save(self, out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write a standalone model + processor directory atomically (LoRA adapters merged into a copy).

        The result loads with `load_policy(out_dir)` or the Auto classes of transformers.
        """
        from foveal.io import atomic_dir

        model = self.model
        if hasattr(model, "merge_and_unload"):
            import copy

            model = copy.deepcopy(model).merge_and_unload()
        with atomic_dir(out_dir, overwrite=overwrite) as tmp, quiet_transformers():
            model.save_pretrained(tmp)
            self.processor.save_pretrained(tmp)
        return Path(out_dir)


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' per-shard progress bars (foveal shows its own progress)."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def base_model(model):
    """The transformers model inside a DDP wrapper (`.module`) and/or a peft `PeftModel`."""
    model = getattr(model, "module", model)
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def prompt_sharing_unsupported(model) -> str | None:
    """Why `model`'s prompt cache cannot be shared by the rows of a run (None: it can).

    Sharing needs a cache of plain per-layer keys and values (transformers' `DynamicLayer`), whose
    rows can be repeated: a sliding-window layer drops old positions, a linear-attention or
    recurrent layer keeps a state that is not per position. Gradient checkpointing drops the cache in
    the layers it wraps.
    """
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    base = base_model(model)
    if any(getattr(m, "gradient_checkpointing", False) is True for m in base.modules()):
        return "gradient checkpointing drops the cache in the layers it recomputes"
    try:
        layers = DynamicCache(config=base.config).layers
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        return f"no key-value cache can be built from its config ({e})"
    other = sorted({type(x).__name__ for x in layers if type(x) is not DynamicLayer})
    return f"its cache has {', '.join(other)} layers, not plain keys and values" if other else None


def shared_prompt_logits(model, inputs: dict[str, Any], prompt_batch: dict[str, Any], runs, tc: int):
    """The logits [B, Tc, V] at columns P-1 .. T-2 of a pair batch, each run of rows with one prompt
    running that prompt once:

        head  = model(prompt of each run [R, P], cache on)  -> logits at column P-1, cache K, V [R, ., P, .]
        cache = K[run(b)], V[run(b)] for each row b          (indexing: the rows' gradients add up)
        tail  = model(completions [B, Tc], cache)           -> logits at columns P .. T-1
        logits = [head logits[run(b)], tail logits[:, :-1]]

    Positions are those of the plain pass: Qwen2-VL-style 3-D rotary positions (`get_rope_index`) are
    computed for the full rows and split into prompt and completion columns; other models count on
    from the cache's length, as they do when generating.
    """
    import torch
    from transformers import DynamicCache

    base = base_model(model)
    device = inputs["input_ids"].device
    runs = runs.to(device)
    run_of = torch.repeat_interleave(torch.arange(len(runs), device=device), runs)  # [B]
    heads = torch.cumsum(runs, 0) - runs  # [R] first row of each run
    p = inputs["input_ids"].shape[1] - tc
    positions = plain_position_ids(base, inputs)
    key = "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
    cache = DynamicCache(config=base.config)
    head_inputs = dict(prompt_batch)
    if positions is not None:
        head_inputs["position_ids"] = positions[..., heads, :p]
    head = model(**head_inputs, **{key: cache}, use_cache=True, logits_to_keep=1)
    cache.batch_select_indices(run_of)
    tail_inputs = {"input_ids": inputs["input_ids"][:, p:], "attention_mask": inputs["attention_mask"]}
    for k in ("mm_token_type_ids", "token_type_ids"):
        if k in inputs:
            tail_inputs[k] = inputs[k][:, p:]
    if positions is not None:
        tail_inputs["position_ids"] = positions[..., p:]
    tail = model(**tail_inputs, **{key: cache}, use_cache=True)
    return torch.cat([head.logits[run_of, -1:], tail.logits[:, :-1]], 1)


def plain_position_ids(base, inputs: dict[str, Any]):
    """The position ids the plain forward gives the rows of `inputs` ([3, B, T] or [B, T]), where the
    model computes them itself from the inputs (Qwen2-VL-style `get_rope_index`: images get 3-D
    positions, text without images counts 0 .. T-1); None for a model that counts positions on from its
    cache's length."""
    import torch

    rope_index = next((m.get_rope_index for m in base.modules() if hasattr(m, "get_rope_index")), None)
    if rope_index is None:
        return None
    ids = inputs["input_ids"]
    if inputs.get("image_grid_thw") is None and inputs.get("video_grid_thw") is None:
        return torch.arange(ids.shape[1], device=ids.device).expand(ids.shape[0], -1)
    params = inspect.signature(rope_index).parameters
    extra = {k: v for k, v in inputs.items() if k in params and k != "input_ids"}
    return rope_index(ids, **extra)[0]


def completion_mask(batch: dict[str, Any]):
    """The [B, Tc] mask of a pair batch, aligned with `Policy.token_logprobs`' outputs."""
    tc = batch["completion_ids"].shape[1]
    return batch["completion_mask"][:, -tc:]


def prompt_id(prompt: Sample | list[dict], index: int) -> str:
    """A Sample's id, or the prompt's position for raw messages."""
    return prompt.id if isinstance(prompt, Sample) else str(index)


def decode_image(part: dict, pid: str) -> Image.Image:
    """The PIL image of a message part: a PIL image, a file path, raw bytes or a base64 data URL."""
    src = part.get("image")
    if src is None and "image_url" in part:
        url = part["image_url"]
        src = url.get("url") if isinstance(url, dict) else url
    if isinstance(src, Image.Image):
        return src.convert("RGB") if src.mode != "RGB" else src
    what = "inline image"
    try:
        if isinstance(src, (bytes, bytearray)):
            data = bytes(src)
        elif isinstance(src, str) and src.startswith("data:"):
            data = base64.b64decode(src.split(",", 1)[1])
        elif isinstance(src, (str, os.PathLike)):
            what = f"image file {src}"
            data = Path(src).read_bytes()
        else:
            raise FovealError(f"prompt {pid}: image part has no image (got {type(src).__name__})")
        im = Image.open(io.BytesIO(data))
        im.load()
        return im.convert("RGB")
    except FovealError:
        raise
    except (OSError, ValueError, IndexError) as e:
        raise FovealError(f"prompt {pid}: cannot decode {what}: {e}") from None
