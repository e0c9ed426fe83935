"""The `hf` rollout backend: transformers' `generate` on a `Policy`, in length-sorted batches.

    backend = HFBackend(policy, batch_size=32)
    groups = backend.generate(samples, n=8, sampling=Sampling(temperature=1.0, max_new_tokens=64, seed=step))

How it works: prompts are sorted by length (number of images, then text tokens) so each batch
pads little; each batch is encoded by `Policy.encode_prompts` (chat template, images through
the processor, left padding) and sampled with the KV cache, `n` sequences per prompt. Groups
come back in the order of `prompts`.

Each completion carries
    token_ids: generated ids up to and including the eos token or the token that completed a
        stop string (nothing after it, no padding);
    text:      `decode(token_ids, skip_special_tokens=True)`, so it ends with the stop string
        that ended it (R1 tags such as `</answer>` survive: they are not special tokens);
    logprobs:  log softmax(logits)[token] -- the model's own distribution at temperature 1, before
        temperature/top-p (recorded step by step by `SampledLogprobs`, never holding all logits),
        what `Policy.token_logprobs(..., temperature=1)` returns teacher-forced (tested to 1e-4);
    finish_reason: "stop" (eos or stop string) or "length".

Sampling is deterministic for a given `sampling.seed` and inputs (on CPU): the seed is applied
inside `torch.random.fork_rng`, so the caller's global RNG state is left untouched. Give each
training step its own seed or every step repeats the same samples.
"""

from __future__ import annotations

from typing import Any

from foveal.models.policy import Policy, prompt_id
from foveal.rollout.base import Completion, Group, Prompt, Sampling
from foveal.sample import Sample


class HFBackend:
    """Rollouts from an in-process `Policy` with transformers' `generate`.

    batch_size: sequences per `generate` call (prompts per call = max(1, batch_size // n)).
    """

    def __init__(self, policy: Policy, batch_size: int = 32) -> None:
        if batch_size < 1:
            from foveal.errors import FovealError

            raise FovealError(f"batch_size must be >= 1, got {batch_size}")
        self.policy = policy
        self.batch_size = batch_size

    def generate(self, prompts: list[Prompt], n: int = 1, sampling: Sampling = Sampling()) -> list[Group]:
        """`n` completions per prompt, as one `Group` per prompt in input order."""
        import torch

        from foveal.errors import FovealError

        if n < 1:
            raise FovealError(f"n must be >= 1, got {n}")
        if sampling.temperature < 0 or not 0 < sampling.top_p <= 1 or sampling.max_new_tokens < 1:
            raise FovealError(
                f"bad sampling parameters {sampling}: need temperature >= 0, 0 < top_p <= 1, max_new_tokens >= 1"
            )
        order = sorted(range(len(prompts)), key=lambda i: self.length_key(prompts[i]))
        per_call = max(1, self.batch_size // n)
        groups: dict[int, Group] = {}
        model = self.policy.model
        was_training = model.training
        model.eval()
        device = self.policy.device
        devices = [device.index or 0] if device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices), torch.no_grad():
                for k, start in enumerate(range(0, len(order), per_call)):
                    idx = order[start : start + per_call]
                    torch.manual_seed(sampling.seed * 1_000_003 + k)
                    for i, group in zip(
                        idx, self._generate_batch([prompts[i] for i in idx], idx, n, sampling), strict=True
                    ):
                        groups[i] = group
        finally:
            model.train(was_training)
        return [groups[i] for i in range(len(prompts))]

    def length_key(self, prompt: Prompt) -> tuple[int, int]:
        """Sort key approximating the encoded length: (number of images, characters of text)."""
        if isinstance(prompt, Sample):
            return (
                len(prompt.images) if self.policy.is_vlm else 0,
                len(prompt.prompt if self.policy.is_vlm else prompt.text_twin),
            )
        n_img = sum(
            1
            for m in prompt
            if isinstance(m.get("content"), list)
            for p in m["content"]
            if p.get("type") != "text"
        )
        n_chr = sum(len(m["content"]) if isinstance(m.get("content"), str) else 0 for m in prompt)
        return (n_img, n_chr)

    # -- internals -----------------------------------------------------------------
    def _generate_batch(
        self, prompts: list[Prompt], indices: list[int], n: int, sampling: Sampling
    ) -> list[Group]:
        from transformers import LogitsProcessorList

        policy = self.policy
        tok = policy.tokenizer
        enc = policy.encode_prompts(prompts)
        width = enc["input_ids"].shape[1]
        eos = policy.eos_token_ids
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "num_return_sequences": n,
            "eos_token_id": eos,
            "pad_token_id": tok.pad_token_id,
            "use_cache": True,
            "repetition_penalty": 1.0,
            "no_repeat_ngram_size": 0,
        }
        if sampling.temperature > 0:
            kwargs.update(
                do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0, typical_p=1.0
            )
        else:
            kwargs.update(do_sample=False)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=tok)
        recorder = SampledLogprobs()
        sequences = policy.model.generate(**enc, **kwargs, logits_processor=LogitsProcessorList([recorder]))
        new = sequences[:, width:]
        logp = recorder.finish(new)
        groups = []
        for j, (prompt, i) in enumerate(zip(prompts, indices, strict=True)):
            prompt_ids = enc["input_ids"][j][enc["attention_mask"][j].bool()].tolist()
            comps = [
                cut_completion(tok, new[r].tolist(), logp[r].tolist(), eos, sampling.stop)
                for r in range(j * n, (j + 1) * n)
            ]
            groups.append(
                Group(prompt_id=prompt_id(prompt, i), completions=comps, prompt_token_ids=prompt_ids)
            )
        return groups


def cut_completion(
    tokenizer, ids: list[int], logps: list[float], eos: list[int], stop: tuple[str, ...]
) -> Completion:
    """A generated row cut at its first eos token or completed stop string (padding after it dropped).

    finish_reason is "stop" when an eos token or a stop string ended the row, "length" otherwise.
    """
    cut, reason = len(ids), "length"
    eos_set = set(eos)
    for j, t in enumerate(ids):
        if t in eos_set:
            cut, reason = j + 1, "stop"
            break
    if stop and any(s in tokenizer.decode(ids[:cut], skip_special_tokens=True) for s in stop):
        lo, hi = 1, cut  # smallest prefix whose text contains a stop string
        while lo < hi:
            mid = (lo + hi) // 2
            if any(s in tokenizer.decode(ids[:mid], skip_special_tokens=True) for s in stop):
                hi = mid
            else:
                lo = mid + 1
        cut, reason = lo, "stop"
    ids = ids[:cut]
    return Completion(
        text=tokenizer.decode(ids, skip_special_tokens=True),
        token_ids=ids,
        logprobs=logps[:cut],
        finish_reason=reason,
    )


class SampledLogprobs:
    """A logits processor that records log softmax(logits)[sampled token] at every step.

    `generate` calls it once per step with the ids so far and that step's next-token logits;
    the token sampled from step k-1's logits is the last id at step k, so only one step's
    log-softmax is ever kept ([B, V]) instead of every step's logits ([B, T, V], tens of GB
    for a 150k vocabulary). It runs after the processors transformers builds from the
    generation config (foveal sets none: no repetition penalty, no n-gram bans) and before
    temperature and top-p, so the log-probs are the model's own distribution at temperature 1.
    """

    def __init__(self) -> None:
        self.prev = None
        self.steps: list = []

    def __call__(self, input_ids, scores):
        import torch

        if self.prev is not None:
            self.steps.append(torch.gather(self.prev, 1, input_ids[:, -1:]).squeeze(1))
        self.prev = torch.log_softmax(scores.float(), -1)
        return scores

    def finish(self, new_ids):
        """[B, T] log-probs of `new_ids` (the generated columns); the last step is read here."""
        import torch

        if self.prev is not None and new_ids.shape[1] > len(self.steps):
            self.steps.append(torch.gather(self.prev, 1, new_ids[:, len(self.steps), None]).squeeze(1))
        return torch.stack(self.steps, 1)
