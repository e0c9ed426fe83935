"""Eval throughput: the full harness (hf backend, scoring, samples.jsonl, metrics) vs a bare
`model.generate` loop over the same prompts, batch size and number of tokens.

    .venv/bin/python benchmarks/bench_eval.py                  # tiny VLM, 48 image problems
    .venv/bin/python benchmarks/bench_eval.py --model smollm2-135m --twin text --n 24

Both sides decode greedily and produce exactly `--tokens` tokens per problem (the model's
generation_config gets `min_new_tokens = max_new_tokens`, which both paths read), so they
do the same model work. The bare loop encodes each batch with the policy's chat template
and processor (a model cannot run without that) and calls `generate`; nothing else. The
harness adds what an eval needs: log-probs from the backend, answer extraction and
verification, thumbnails, an fsync'd append per batch, and metrics.json.

A third side, "backend", calls the hf backend's `generate` batch by batch with nothing
around it, which splits the overhead into the backend's (rollout room) and the harness's
own. Runs alternate (bare, backend, harness, bare, ...) to share the machine's noise; ratios
of medians are printed. Goal: harness / bare <= 1.05.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny", help="'tiny' (built in memory), 'smollm2-135m' or a model directory")
    ap.add_argument("--tasks", default="count,spatial", help="gym tasks to draw problems from")
    ap.add_argument("--n", type=int, default=48, help="problems")
    ap.add_argument("--batch-size", type=int, default=8, help="problems per generate call")
    ap.add_argument("--tokens", type=int, default=32, help="tokens generated per problem")
    ap.add_argument("--twin", default="image", choices=["image", "text"], help="image problems or their text twins")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()

    import torch

    from foveal import tasks
    from foveal.eval import evaluate
    from foveal.models import load_policy
    from foveal.rollout import Sampling, get_backend

    if args.threads:
        torch.set_num_threads(args.threads)
    policy = load_policy(args.model)
    policy.model.generation_config.min_new_tokens = args.tokens  # both sides generate exactly --tokens
    names = args.tasks.split(",")
    samples = [tasks.get(names[i % len(names)]).generate(seed=i, level=1) for i in range(args.n)]
    if args.twin == "text":
        samples = [s.as_text() for s in samples]
    sampling = Sampling(temperature=0.0, max_new_tokens=args.tokens)
    backend = get_backend("hf", policy=policy, batch_size=args.batch_size)
    model, tok = policy.model, policy.tokenizer

    def bare() -> int:
        made = 0
        with torch.no_grad():
            for i in range(0, len(samples), args.batch_size):
                enc = policy.encode_prompts(samples[i:i + args.batch_size])
                out = model.generate(**enc, max_new_tokens=args.tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id, eos_token_id=policy.eos_token_ids)
                made += (out.shape[1] - enc["input_ids"].shape[1]) * out.shape[0]
                tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        return made

    def backend_only() -> int:
        made = 0
        for i in range(0, len(samples), args.batch_size):
            groups = backend.generate(samples[i:i + args.batch_size], n=1, sampling=sampling)
            made += sum(len(c.token_ids) for g in groups for c in g.completions)
        return made

    def harness() -> int:
        with tempfile.TemporaryDirectory() as d:
            res = evaluate(backend, samples, k=1, sampling=sampling, out=d, batch_size=args.batch_size, progress=False)
        return sum(t for r in res.rows for t in r["n_tokens"])

    sides = (("bare", bare), ("backend", backend_only), ("harness", harness))
    for _, fn in sides:  # warm-up: first calls pay for lazy initialisation
        fn()
    times: dict[str, list[float]] = {name: [] for name, _ in sides}
    tokens: dict[str, int] = {}
    for _ in range(args.repeats):
        for name, fn in sides:
            t0 = time.perf_counter()
            tokens[name] = fn()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"model {args.model} ({policy.num_parameters():,} parameters), {args.n} {args.twin} problems, "
          f"batch {args.batch_size}, {args.tokens} tokens each, torch threads {torch.get_num_threads()}")
    for name, _ in sides:
        print(f"  {name:8s} median {med[name]:7.2f} s  {args.n / med[name]:7.2f} problems/s  "
              f"{tokens[name] / med[name]:8.1f} tokens/s  (runs: {', '.join(f'{t:.2f}' for t in times[name])})")
    print(f"harness / bare time ratio: {med['harness'] / med['bare']:.3f}  (goal <= 1.05)")
    print(f"  of which the hf backend over bare generate: {med['backend'] / med['bare']:.3f}, "
          f"the eval harness over the backend: {med['harness'] / med['backend']:.3f}")


if __name__ == "__main__":
    main()
