"""`foveal serve` under concurrent load: 16 requests at once vs the same 16 sent one by one.

    .venv/bin/python benchmarks/bench_serve.py [--model tiny] [--requests 16] [--max-tokens 32]

Starts `foveal serve MODEL` as a real subprocess on 127.0.0.1 (its printed time to ready is
reported), then drives it with the official async `openai` client: each request is a gym
`count` sample (image + question), one completion, its own seed. Sequential: one request
at a time. Concurrent: all at once. Both sides send identical requests, and the server's
per-row seeded sampling makes a request's completion independent of its batch, so both sides
generate exactly the same tokens (checked). Goal: ratio = concurrent / sequential <= 0.6. The
two sides alternate and the best of `--repeats` counts (other processes only ever add time).
Last, `--burst` (32) requests at once, half streamed: all must be answered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import time


def start_server(model: str, extra: list[str]) -> tuple[subprocess.Popen, str, float]:
    """`foveal serve` in a subprocess; (process, base URL, the time to ready it printed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "foveal.cli", "serve", model, "--port", str(port), "--name", "bench", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if m := re.search(r"ready at (\S+) in ([\d.]+) s", line):
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe from filling
            return proc, m.group(1), float(m.group(2))
    raise SystemExit(f"foveal serve exited ({proc.wait()}) before it was ready")


async def run(url: str, requests: list[dict], concurrent: bool) -> tuple[float, list]:
    import openai

    async with openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0) as client:
        start = time.perf_counter()
        if concurrent:
            out = await asyncio.gather(*[client.chat.completions.create(**r) for r in requests])
        else:
            out = [await client.chat.completions.create(**r) for r in requests]
        return time.perf_counter() - start, [c.model_extra["token_ids"] for r in out for c in r.choices]


async def burst(url: str, requests: list[dict]) -> int:
    """How many of `requests` (sent at once, every other one streamed) got a full answer."""
    import openai

    async def one(client, k, r):
        if k % 2:
            stream = await client.chat.completions.create(**r, stream=True)
            finished = [c.finish_reason async for chunk in stream for c in chunk.choices if c.finish_reason]
            return len(finished) == 1
        return len((await client.chat.completions.create(**r)).choices) == 1

    async with openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0) as client:
        ok = await asyncio.gather(*[one(client, k, r) for k, r in enumerate(requests)], return_exceptions=True)
    return sum(x is True for x in ok)


def requests_for(count: int, max_tokens: int, offset: int = 0) -> list[dict]:
    from foveal import tasks
    from foveal.rollout.openai import data_url

    out = []
    for k in range(offset, offset + count):
        sample = tasks.get("count").generate(k, 1)
        content = [
            {"type": "image_url", "image_url": {"url": data_url(sample.images[0])}},
            {"type": "text", "text": sample.prompt.replace("<image>", "").strip()},
        ]
        out.append(
            dict(
                model="bench",
                messages=[{"role": "user", "content": content}],
                max_tokens=max_tokens,
                temperature=1.0,
                seed=k,
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny", help="anything `foveal serve` takes (tiny, smollm2-135m, a directory)")
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--burst", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    proc, url, ready = start_server(args.model, ["--device", args.device])
    try:
        requests = requests_for(args.requests, args.max_tokens)
        asyncio.run(run(url, requests[:2], concurrent=True))  # warm-up
        seq, con = [], []
        for _ in range(args.repeats):
            t_seq, ids_seq = asyncio.run(run(url, requests, concurrent=False))
            t_con, ids_con = asyncio.run(run(url, requests, concurrent=True))
            seq.append(t_seq)
            con.append(t_con)
        served = asyncio.run(burst(url, requests_for(args.burst, args.max_tokens, offset=1000)))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"model {args.model} on {args.device}: {args.requests} requests x {args.max_tokens} tokens")
    print(f"time to ready (foveal serve, printed by it)  {ready:.1f} s")
    print(f"one by one   best {min(seq):.2f} s   (all: {', '.join(f'{t:.2f}' for t in seq)})")
    print(f"concurrent   best {min(con):.2f} s   (all: {', '.join(f'{t:.2f}' for t in con)})")
    print(f"same tokens generated on both sides: {ids_seq == ids_con}")
    print(f"burst: {served}/{args.burst} concurrent requests (half streamed) answered in full")
    print(f"ratio concurrent / one-by-one = {min(con) / min(seq):.2f}  (goal <= 0.6)")


if __name__ == "__main__":
    main()
