"""Reasoning vector (issue 20, experiment 6a): a second SFT model plus and minus the GRPO − SFT difference.

    python scripts/reasoning_vector.py --vector runs/qs-test-a/seed-1/train \\
        --second runs/short4/seed-1/train --problems runs/qs-test-a/seed-1/eval-sft/samples.jsonl --out runs/rv

v = θ_GRPO − θ_SFT of the `--vector` run (its rl/ and sft/ models). `foveal merge add` writes
SFT_B + α·v for α in --alphas, where SFT_B is the `--second` run's sft/ model. The two runs must
start from the same init: the tiny model's init seed is the run's seed. The script then scores
SFT_A, GRPO_A, SFT_B, GRPO_B and each SFT_B + α·v on the image-form problems of an earlier eval
run's samples.jsonl. Each problem is rebuilt from its row: prompt, gold, and the image, whose
stored thumbnail is the picture itself up to 160 px. Scoring uses the quickstart's protocol: no
system prompt, greedy, 64 new tokens. It prints accuracy and the paired difference from SFT_B
with a 95% interval, and writes OUT/results.json.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
from pathlib import Path

from PIL import Image

from foveal.eval import evaluate
from foveal.eval.metrics import paired_difference
from foveal.merge import merge_add
from foveal.models import load_policy
from foveal.rollout import get_backend
from foveal.rollout.base import Sampling
from foveal.sample import Sample


def rebuild(path: Path) -> list[Sample]:
    """The image-form problems of an eval run, as Samples (prompt, gold, pictures from the thumbnails)."""
    out = []
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r["form"] != "image":
            continue
        images = tuple(Image.open(io.BytesIO(base64.b64decode(t))).convert("RGB") for t in r["thumbs"])
        out.append(Sample(id=r["id"], task=r["task"], level=r["level"], seed=0, prompt=r["prompt"], images=images,
                          answer=r["gold"], answer_type=r["answer_type"], problem_key=r["problem_key"],
                          choices=tuple(r["choices"]) if r.get("choices") else None))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vector", type=Path, required=True, help="training run whose rl/ - sft/ is the vector")
    ap.add_argument("--second", type=Path, required=True, help="training run whose sft/ receives it (same init)")
    ap.add_argument("--problems", type=Path, required=True, help="an eval run's samples.jsonl to score on")
    ap.add_argument("--alphas", default="1,0.5,-1")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    samples = rebuild(args.problems)
    models = {"SFT_A": args.vector / "sft", "GRPO_A": args.vector / "rl", "SFT_B": args.second / "sft",
              "GRPO_B": args.second / "rl"}
    for a in (float(x) for x in args.alphas.split(",")):
        out = args.out / f"sft_b{a:+g}v"
        merge_add(models["SFT_B"], models["GRPO_A"], models["SFT_A"], a, out, overwrite=True)
        models[f"SFT_B {a:+g}v"] = out
    rows, results = {}, {}
    for name, path in models.items():
        policy = load_policy(path, system_prompt=None, device="cpu")
        r = evaluate(get_backend("hf", policy=policy), samples, k=1, progress=False, batch_size=64,
                     sampling=Sampling(temperature=0.0, max_new_tokens=64, seed=0))
        rows[name] = r.rows
        o = r.metrics["overall"]
        d = paired_difference(rows["SFT_B"], r.rows) if "SFT_B" in rows else {}
        results[name] = {"accuracy": o["accuracy"], "ci95": o["accuracy_ci95"], "n": o["n_distinct"],
                         "minus_sft_b": d.get("delta"), "minus_sft_b_ci95": d.get("ci95")}
        diff = (f"  vs SFT_B {d['delta'] * 100:+.1f} [{d['ci95'][0] * 100:+.1f}, {d['ci95'][1] * 100:+.1f}]"
                if d.get("n") and name.startswith("SFT_B ") else "")
        print(f"{name:12s} {o['accuracy'] * 100:5.1f}% [{o['accuracy_ci95'][0] * 100:.1f}, "
              f"{o['accuracy_ci95'][1] * 100:.1f}]  n {o['n_distinct']}{diff}", flush=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
