"""Dynamic batching: concurrent chat requests become one `generate` call.

    batcher = Batcher(policy, max_batch=32, max_wait=0.01, max_queue=256)
    batcher.submit(job)          # from any thread; QueueFull when max_queue requests wait
    ...                          # job.done(completions, prompt_token_ids) or job.done(error=...)

One worker thread owns the model. It takes the oldest waiting request, waits up to `max_wait`
seconds from that request's arrival for more, then runs every waiting request that can share
the call (the same stop strings), oldest first, up to `max_batch` sequences (a request asking
for `n` completions counts n). Requests that came while a call ran go in the next call at
once. Everything else differs per row: temperature, top-p, seed and max_tokens.

Per-row sampling (`RowSampler`): each sequence draws its tokens from its own seeded generator
with its own temperature and top-p, then hands transformers' `generate` a one-hot choice, so a
request's completions depend on its seed and prompt, not on which requests shared its batch
(up to float rounding of the padded batch). Seeds: choice i of a request with seed s samples
from `torch.Generator().manual_seed(s * 1_000_003 + i)`; temperature 0 is greedy.

Log-probs are the model's own distribution at temperature 1 (log softmax of the raw logits at
the chosen token), as in the `hf` backend. `job.on_token(choice, token, logprob)` is called
after every step for streaming; the final completions are cut at eos, a stop string or the
request's max_tokens exactly as `foveal.rollout.hf.cut_completion` does.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from foveal.errors import FovealError
from foveal.rollout.base import Completion

log = logging.getLogger("foveal.serve")


class QueueFull(Exception):
    """`max_queue` requests are already waiting; `retry_after` is a suggested wait in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"the server is busy: the request queue is full; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Job:
    """One chat request: `n` completions of `messages` with its own sampling parameters.

    done(completions, prompt_token_ids, error): called once from the worker thread, with the
        completions in choice order, or with `error` (an exception) and nothing else.
    on_token(choice, token_id, logprob): called after each generation step for every row of the
        job (streaming); tokens after the row's end are also reported, the receiver stops at eos.
    """

    messages: list[dict]
    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    stop: tuple[str, ...]
    seed: int
    done: Callable[..., None]
    on_token: Callable[[int, int, float], None] | None = None
    arrived: float = field(default_factory=time.monotonic)


class Batcher:
    """Collects `Job`s from any thread and runs them in batches on one worker thread.

    max_batch: sequences per `generate` call (a job with n > max_batch runs alone).
    max_wait: seconds the oldest waiting job waits for company before its call starts.
    max_queue: jobs that may wait (not counting the running call); more get QueueFull.
    """

    def __init__(self, policy: Any, max_batch: int = 32, max_wait: float = 0.01, max_queue: int = 256):
        for name, value, low in (("max_batch", max_batch, 1), ("max_queue", max_queue, 1)):
            if value < low:
                raise FovealError(f"serve: {name} must be >= {low}, got {value}")
        if not 0 <= max_wait <= 10:
            raise FovealError(f"serve: max_wait must be between 0 and 10 seconds, got {max_wait}")
        self.policy = policy
        self.max_batch, self.max_wait, self.max_queue = max_batch, max_wait, max_queue
        self.pending: deque[Job] = deque()
        self.batch_sizes: list[int] = []  # jobs per generate call, in order (for tests and stats)
        self.seconds_per_call = 1.0  # moving average, for Retry-After
        self._cond = threading.Condition()
        self._held = False
        self._closed = False
        self._thread = threading.Thread(target=self._loop, daemon=True, name="foveal-batcher")
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue `job`; QueueFull (with a Retry-After estimate) when max_queue jobs already wait."""
        with self._cond:
            if self._closed:
                raise FovealError("serve: the batcher is closed")
            if len(self.pending) >= self.max_queue:
                calls_ahead = 1 + len(self.pending) // max(1, self.max_batch)
                raise QueueFull(max(1, round(calls_ahead * self.seconds_per_call)))
            self.pending.append(job)
            self._cond.notify()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Accept and queue requests without starting a call until the block exits (then one call
        takes as many as fit): for draining a server, and for deterministic tests of batching."""
        with self._cond:
            self._held = True
        try:
            yield
        finally:
            with self._cond:
                self._held = False
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=30)

    # -- the worker ----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            jobs = self._next_batch()
            if jobs is None:
                return
            start = time.monotonic()
            try:
                results = generate_jobs(self.policy, jobs)
            except Exception as e:  # every job of the call gets the error; the server keeps going
                log.exception("generation failed")
                results = [e] * len(jobs)
            else:
                self.seconds_per_call = 0.8 * self.seconds_per_call + 0.2 * (time.monotonic() - start)
                self.batch_sizes.append(len(jobs))
            for job, result in zip(jobs, results, strict=True):
                try:
                    if isinstance(result, Exception):
                        job.done(error=result)
                    else:
                        job.done(*result)
                except Exception:  # a receiver that has gone away must not stop the worker
                    log.exception("could not deliver a result")

    def _next_batch(self) -> list[Job] | None:
        """Block until a call should start; pop and return its jobs (None once closed)."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                if self.pending and not self._held:
                    first = self.pending[0]
                    wait = first.arrived + self.max_wait - time.monotonic()
                    if wait <= 0 or self._rows(first.stop) >= self.max_batch:
                        return self._take(first.stop)
                    self._cond.wait(timeout=wait)
                else:
                    self._cond.wait()

    def _rows(self, stop: tuple[str, ...]) -> int:
        return sum(j.n for j in self.pending if j.stop == stop)

    def _take(self, stop: tuple[str, ...]) -> list[Job]:
        taken, rows, rest = [], 0, deque()
        while self.pending:
            job = self.pending.popleft()
            if job.stop == stop and (not taken or rows + job.n <= self.max_batch):
                taken.append(job)
                rows += job.n
            else:
                rest.append(job)
        self.pending = rest
        return taken


def generate_jobs(policy: Any, jobs: list[Job]) -> list[tuple[list[Completion], list[int]] | Exception]:
    """Run `jobs` (all with the same stop strings) in one `generate`; per job (completions,
    prompt_token_ids), or the FovealError of a job whose prompt cannot be encoded (too long for
    the context, images for a text-only model) while the others still run."""
    results: list[Any] = [None] * len(jobs)
    runnable = list(range(len(jobs)))
    try:
        enc = policy.encode_prompts([jobs[i].messages for i in runnable for _ in range(jobs[i].n)])
    except FovealError:
        runnable = []
        for i, job in enumerate(jobs):  # find the culprits one by one
            try:
                policy.encode_prompts([job.messages])
                runnable.append(i)
            except FovealError as e:
                results[i] = e
        if not runnable:
            return results
        enc = policy.encode_prompts([jobs[i].messages for i in runnable for _ in range(jobs[i].n)])
    for i, result in zip(runnable, _generate(policy, enc, [jobs[i] for i in runnable]), strict=True):
        results[i] = result
    return results


def _generate(policy: Any, enc: dict, jobs: list[Job]) -> list[tuple[list[Completion], list[int]]]:
    """One `generate` over `enc` (job k's prompt repeated n_k times, in job order)."""
    import torch
    from transformers import LogitsProcessorList, StoppingCriteriaList

    from foveal.rollout.hf import cut_completion

    rows = [(job, c) for job in jobs for c in range(job.n)]
    device = enc["input_ids"].device
    budgets = [job.max_new_tokens for job, _ in rows]
    sampler = RowSampler(
        temperature=[job.temperature for job, _ in rows],
        top_p=[job.top_p for job, _ in rows],
        seeds=[job.seed * 1_000_003 + c for job, c in rows],
        device=device,
        on_step=_stream_to(rows),
    )
    width = enc["input_ids"].shape[1]
    tok, eos, stop = policy.tokenizer, policy.eos_token_ids, jobs[0].stop
    kwargs: dict[str, Any] = {
        "max_new_tokens": max(budgets),
        "do_sample": False,  # RowSampler has already chosen: its output is one-hot
        "eos_token_id": eos,
        "pad_token_id": tok.pad_token_id,
        "use_cache": True,
        "repetition_penalty": 1.0,
        "no_repeat_ngram_size": 0,
        "logits_processor": LogitsProcessorList([sampler]),
        "stopping_criteria": StoppingCriteriaList([RowBudget(width, budgets, device)]),
    }
    if stop:
        kwargs.update(stop_strings=list(stop), tokenizer=tok)
    model = policy.model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            sequences = model.generate(**enc, **kwargs)
    finally:
        model.train(was_training)
    new = sequences[:, width:].tolist()
    logps = torch.stack(sampler.logps, 1).tolist()
    out, r = [], 0
    for job in jobs:
        prompt_ids = enc["input_ids"][r][enc["attention_mask"][r].bool()].tolist()
        completions = []
        for _ in range(job.n):
            b = job.max_new_tokens
            completions.append(cut_completion(tok, new[r][:b], logps[r][:b], eos, stop))
            r += 1
        out.append((completions, prompt_ids))
    return out


def _stream_to(rows: list[tuple[Job, int]]) -> Callable[[list[int], list[float]], None] | None:
    """The per-step callback that reports each row's token to its job's `on_token` (None: no streaming)."""
    listeners = [(r, job.on_token, c) for r, (job, c) in enumerate(rows) if job.on_token is not None]
    if not listeners:
        return None

    def on_step(tokens: list[int], logps: list[float]) -> None:
        for r, on_token, choice in listeners:
            on_token(choice, tokens[r], logps[r])

    return on_step


class RowSampler:
    """A logits processor that samples every row with its own temperature, top-p and generator.

    For row b with logits z, temperature T_b and top-p p_b:
        q = softmax(z / T_b); keep the most likely tokens until their mass reaches p_b
        (the first always kept: q_v >= the smallest kept probability); draw u ~ U(0, kept mass)
        from row b's generator and pick the first token, in vocabulary order, where the
        cumulative kept mass reaches u. T_b = 0 picks argmax z.
    It records log softmax(z)[token] (the model's distribution at temperature 1) and returns
    scores that are 0 at the chosen token and -inf elsewhere, so greedy `generate` appends it.
    """

    def __init__(
        self,
        temperature: list[float],
        top_p: list[float],
        seeds: list[int],
        device: Any,
        on_step: Callable[[list[int], list[float]], None] | None = None,
    ) -> None:
        import torch

        self.temperature = torch.tensor(temperature, dtype=torch.float32, device=device)
        self.top_p = torch.tensor(top_p, dtype=torch.float32, device=device)
        self.generators = [torch.Generator().manual_seed(s % 2**63) for s in seeds]
        self.on_step = on_step
        self.logps: list = []

    def __call__(self, input_ids, scores):
        import torch

        logits = scores.float()
        greedy = self.temperature == 0
        t = torch.where(greedy, torch.ones_like(self.temperature), self.temperature)
        probs = torch.softmax(logits / t[:, None], -1)
        nucleus = (self.top_p < 1).nonzero().squeeze(1)
        if len(nucleus):  # top-p rows: zero every token less likely than the last one kept
            top = probs[nucleus].sort(-1, descending=True).values
            kept = ((top.cumsum(-1) - top) < self.top_p[nucleus, None]).sum(-1, keepdim=True)
            floor = top.gather(1, kept - 1)
            probs[nucleus] = probs[nucleus] * (probs[nucleus] >= floor)
        cdf = probs.cumsum(-1)  # in vocabulary order, so a row's draw never depends on other rows
        u = torch.cat([torch.rand(1, generator=g) for g in self.generators]).to(cdf.device)
        token = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None]).clamp(max=cdf.shape[1] - 1).squeeze(1)
        token = torch.where(greedy, logits.argmax(-1), token)
        logp = torch.log_softmax(logits, -1).gather(1, token[:, None]).squeeze(1)
        self.logps.append(logp)
        if self.on_step is not None:
            self.on_step(token.tolist(), logp.tolist())
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(1, token[:, None], 0.0)


class RowBudget:
    """A stopping criterion: row b is done once it has generated budgets[b] tokens."""

    def __init__(self, width: int, budgets: list[int], device: Any) -> None:
        import torch

        self.width = width
        self.budgets = torch.tensor(budgets, device=device)

    def __call__(self, input_ids, scores, **kwargs):
        return (input_ids.shape[1] - self.width) >= self.budgets
