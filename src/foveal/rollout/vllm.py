"""The `vllm` backend: fast batched sampling on GPUs with vLLM's offline `LLM` engine.

    backend = VLLMBackend("runs/sft", gpu_memory_utilization=0.3)   # any vLLM engine argument
    groups = backend.generate(samples, n=8, sampling=Sampling(temperature=1.0, max_new_tokens=256))
    backend.load_weights(policy.model.state_dict())                  # RL weight sync, in memory

Needs `pip install 'foveal[vllm]'` on a CUDA machine; importing this module never imports vLLM
(that happens when a `VLLMBackend` is built), so foveal works without it.

Prompts are formatted exactly as the hf backend formats them: `Policy.chat_text` (the model's
own chat template, one vision placeholder per image, the text twin for text-only models) on a
`Policy` holding only the processor, and the images go to vLLM as
`multi_modal_data={"image": [...]}` in prompt order; vLLM expands each placeholder itself.

Each completion carries its token ids and the log-prob of each sampled token under the model's
raw distribution (vLLM's default `logprobs_mode="raw_logprobs"`: temperature 1, before top-p),
the same quantity the hf backend returns and `Policy.token_logprobs` recomputes.

Weight sync (RL colocated with training): `load_weights(state_dict)` hands (name, tensor) pairs
to the model's own `load_weights` inside the vLLM worker (`LLM.collective_rpc`, as verl and TRL's
colocate mode do), which maps Hugging Face parameter names to vLLM's fused layout, then resets
the prefix cache so no stale KV from the old weights is reused. By default the engine runs in
this process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`) so the tensors are passed by reference, not
copied between processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from foveal.errors import FovealError
from foveal.prompts import R1_SYSTEM_PROMPT
from foveal.rollout.base import Completion, Group, Prompt, Sampling

INSTALL_HINT = "the vllm backend needs vLLM on a CUDA machine: pip install 'foveal[vllm]'"


def _load_weights_in_worker(worker: Any, weights: list[tuple[str, Any]]) -> int:
    """Runs inside each vLLM worker: load (name, tensor) pairs into its model; the number loaded."""
    loaded = worker.model_runner.model.load_weights(weights=weights)
    return len(loaded) if loaded is not None else len(weights)


class VLLMBackend:
    """Rollouts from a vLLM `LLM` engine.

    model_path: a model directory vLLM can load (e.g. one written by `Policy.save` or `foveal model tiny`).
    system_prompt: system message before each Sample (None: none), as in the hf backend.
    engine_kw: passed to `vllm.LLM` (e.g. gpu_memory_utilization, max_model_len, tensor_parallel_size,
        dtype, enforce_eager); for a VLM `limit_mm_per_prompt` defaults to 8 images per prompt.
    """

    def __init__(
        self, model_path: str | os.PathLike, system_prompt: str | None = R1_SYSTEM_PROMPT, **engine_kw: Any
    ) -> None:
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        try:
            import vllm
        except ImportError as e:
            raise FovealError(f"{INSTALL_HINT} ({e})") from None
        from transformers import AutoProcessor

        from foveal.models.policy import Policy

        self.model_path = str(model_path)
        if not os.path.isdir(self.model_path):
            raise FovealError(f"vllm backend: {self.model_path} is not a model directory")
        processor = AutoProcessor.from_pretrained(self.model_path)
        # A Policy without a model: only its chat formatting is used, so vLLM sees what hf sees.
        self.formatter = Policy(
            model=None, processor=processor, name=self.model_path, system_prompt=system_prompt
        )
        if self.formatter.is_vlm:
            engine_kw.setdefault("limit_mm_per_prompt", {"image": 8})
        engine_kw.setdefault("seed", 0)
        self._vllm = vllm
        self.llm = vllm.LLM(model=self.model_path, **engine_kw)

    def generate(self, prompts: list[Prompt], n: int = 1, sampling: Sampling = Sampling()) -> list[Group]:
        """`n` completions per prompt, one Group per prompt in input order."""
        from foveal.models.policy import prompt_id

        if n < 1:
            raise FovealError(f"n must be >= 1, got {n}")
        inputs = []
        for p in prompts:
            text, images = self.formatter.chat_text(p)
            row: dict[str, Any] = {"prompt": text}
            if images:
                row["multi_modal_data"] = {"image": images}
            inputs.append(row)
        params = self._vllm.SamplingParams(
            n=n,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            stop=list(sampling.stop) or None,
            include_stop_str_in_output=True,  # like the hf backend: the text ends with the stop string
            seed=sampling.seed,
            logprobs=0,  # the sampled token's log-prob only
            skip_special_tokens=True,
        )
        outputs = self.llm.generate(inputs, sampling_params=params, use_tqdm=False)
        return [
            Group(
                prompt_id=prompt_id(p, i),
                completions=[_completion(c) for c in out.outputs],
                prompt_token_ids=list(out.prompt_token_ids or []),
            )
            for i, (p, out) in enumerate(zip(prompts, outputs, strict=True))
        ]

    def load_weights(self, state_dict: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> int:
        """Replace the engine's weights with `state_dict` (Hugging Face names); the number of tensors loaded.

        Pass the training model's `state_dict()` (LoRA merged first: `Policy.merge_lora` on a copy,
        or peft's `merge_and_unload`). Names vLLM does not know raise inside the worker.
        """
        weights = list(state_dict.items()) if isinstance(state_dict, Mapping) else list(state_dict)
        counts = self.llm.collective_rpc(_load_weights_in_worker, args=(weights,))
        self.llm.reset_prefix_cache()
        return int(counts[0]) if counts else 0


def _completion(output: Any) -> Completion:
    """A Completion from a vLLM `CompletionOutput`: text, token ids, sampled-token log-probs."""
    ids = list(output.token_ids)
    logprobs = None
    if output.logprobs is not None:
        logprobs = [float(step[t].logprob) for step, t in zip(output.logprobs, ids, strict=True)]
    return Completion(
        text=output.text,
        token_ids=ids,
        logprobs=logprobs,
        finish_reason="length" if output.finish_reason == "length" else "stop",
    )
