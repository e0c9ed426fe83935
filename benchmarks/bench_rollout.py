"""Rollout throughput: the hf backend vs a bare `model.generate` loop on the same prompts.

    .venv/bin/python benchmarks/bench_rollout.py [--models tiny,smollm2-135m] [--prompts 32] [--n 4]

Both sides sample the same tokens: the same prompts (sorted by the backend's length key), the
same batches (`batch_size // n` prompts x `n` samples per `generate` call) and the same seed
per batch. The bare loop gets its inputs pre-encoded and
does nothing after `generate`; the backend's time includes chat templating, image processing,
log-probs, trimming and decoding. Goal: overhead (1 - ratio) <= 5%. Timings on a shared
machine are noisy: the script alternates the two sides and reports the best of `--repeats`
(other processes only ever add time).
"""

from __future__ import annotations

import argparse
import time

import torch


def bare_loop(policy, batches, n, sampling) -> int:
    """`model.generate` on pre-encoded batches; returns the number of generated tokens (to eos)."""
    eos = set(policy.eos_token_ids)
    tokens = 0
    with torch.no_grad():
        for k, enc in enumerate(batches):
            torch.manual_seed(sampling.seed * 1_000_003 + k)
            out = policy.model.generate(
                **enc,
                max_new_tokens=sampling.max_new_tokens,
                do_sample=True,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=0,
                num_return_sequences=n,
                eos_token_id=policy.eos_token_ids,
                pad_token_id=policy.tokenizer.pad_token_id,
            )
            for row in out[:, enc["input_ids"].shape[1] :].tolist():
                cut = next((j + 1 for j, t in enumerate(row) if t in eos), len(row))
                tokens += cut
    return tokens


def bench(name: str, prompts, n: int, batch_size: int, max_new_tokens: int, repeats: int) -> dict:
    from foveal.models import load_policy
    from foveal.rollout import Sampling
    from foveal.rollout.hf import HFBackend

    policy = load_policy(name)
    sampling = Sampling(temperature=1.0, top_p=1.0, max_new_tokens=max_new_tokens, seed=0)
    backend = HFBackend(policy, batch_size=batch_size)
    prompts = sorted(prompts, key=backend.length_key)  # the backend's batches, for the bare loop too
    per_call = max(1, batch_size // n)
    batches = [policy.encode_prompts(prompts[i : i + per_call]) for i in range(0, len(prompts), per_call)]
    bare_t, hf_t = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        bare_tokens = bare_loop(policy, batches, n, sampling)
        bare_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        groups = backend.generate(prompts, n, sampling)
        hf_t.append(time.perf_counter() - t)
    hf_tokens = sum(len(c.token_ids) for g in groups for c in g.completions)
    assert hf_tokens == bare_tokens, (
        f"{name}: the two sides sampled different tokens ({hf_tokens} vs {bare_tokens})"
    )
    bare_s, hf_s = min(bare_t), min(hf_t)
    return {
        "model": name,
        "params": policy.num_parameters(),
        "tokens": hf_tokens,
        "bare tok/s": hf_tokens / bare_s,
        "hf tok/s": hf_tokens / hf_s,
        "ratio hf/bare": bare_s / hf_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="tiny,smollm2-135m")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from rich.console import Console
    from rich.table import Table

    from foveal import tasks

    count = tasks.get("count")
    rows = []
    for name in args.models.split(","):
        # the tiny VLM sees images; smollm2 (text-only) gets the same samples' text twins
        prompts = [count.generate(10_000 + i, 1) for i in range(args.prompts)]
        rows.append(bench(name, prompts, args.n, args.batch_size, args.max_new_tokens, args.repeats))
    table = Table(
        title=f"hf backend vs bare generate: {args.prompts} prompts x n={args.n}, batch {args.batch_size}, "
        f"{args.max_new_tokens} new tokens, {torch.get_num_threads()} threads"
    )
    for col in rows[0]:
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            *(
                f"{v:,.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else v
                for v in r.values()
            )
        )
    Console().print(table)


if __name__ == "__main__":
    main()
