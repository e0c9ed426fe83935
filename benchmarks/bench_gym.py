"""Gym speed: samples per second for every registered family on one core, against reasoning-gym.

For each family it cycles through the levels (seed i at level 1 + i mod L) and measures
    image form: `generate(seed, level)` plus PNG encoding of every image (`png_bytes`),
    text form:  `generate(seed, level, form="text")`,
each for `--budget` seconds. For the puzzle types reasoning-gym also generates (sudoku, mini
sudoku, futoshiki, kakurasu, maze; triangle angles) it times reasoning-gym's generator at matching sizes in the
same process and prints foveal / reasoning-gym ratios (goal: text form >= 10x); `angle`'s
triangle level is set against reasoning-gym's `simple_geometry` (third angle of a triangle).

The style section times the simple families' level-1 image form (≤128 px; goal ≥ 2,000
samples/s on one core) in the plain style and with styles drawn per seed, side by side, and
prints random / plain (goal: styles cost ≤ 20%, a ratio ≥ 0.8).

    .venv/bin/python benchmarks/bench_gym.py                 # all families, 1 s each
    .venv/bin/python benchmarks/bench_gym.py --budget 0.3 --families sudoku,futoshiki --out gym.json

Timings on a shared machine are noisy: compare the ratios, which are measured side by side.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

# foveal family at a level  <->  reasoning-gym dataset with a config of the same size
SHARED = (
    ("sudoku", 4, "sudoku", {"min_empty": 41, "max_empty": 41}, "9x9, 41 empty cells"),
    ("sudoku", 2, "mini_sudoku", {"min_empty": 10, "max_empty": 10}, "4x4, ~10 empty cells"),
    ("futoshiki", 3, "futoshiki", {"min_board_size": 5, "max_board_size": 5}, "5x5"),
    ("futoshiki", 6, "futoshiki", {"min_board_size": 7, "max_board_size": 7}, "7x7"),
    ("kakurasu", 3, "kakurasu", {"min_rows": 5, "max_rows": 5, "min_cols": 5, "max_cols": 5}, "5x5"),
    ("maze", 3, "maze", {"min_grid_size": 9, "max_grid_size": 9}, "9x9"),
    ("angle", 3, "simple_geometry", {"min_sides": 3, "max_sides": 3}, "triangle's third angle"),
)
SIMPLE = ("count", "spatial", "fraction_shaded", "block_count", "chart", "clock", "angle", "number_line",
          "symmetry", "odd_one_out")


def rate(fn: Callable[[int], object], budget: float, min_calls: int = 3) -> float:
    """Calls per second of fn(0), fn(1), ... run for about `budget` seconds (at least `min_calls`)."""
    start = time.perf_counter()
    i = 0
    while i < min_calls or time.perf_counter() - start < budget:
        fn(i)
        i += 1
    return i / (time.perf_counter() - start)


def foveal_rates(name: str, budget: float, level: int | None = None, style: str | None = None
                 ) -> tuple[float, float]:
    from foveal import tasks
    from foveal.sample import png_bytes

    task = tasks.get(name)
    levels = sorted(task.levels) if level is None else [level]

    def image(i: int) -> None:
        s = task.generate(i, levels[i % len(levels)], style=style)
        for im in s.images:
            png_bytes(im)

    def text(i: int) -> None:
        task.generate(i, levels[i % len(levels)], form="text")

    return rate(image, budget), rate(text, budget)


def rg_rate(name: str, cfg: dict, budget: float) -> float:
    import reasoning_gym

    ds = reasoning_gym.create_dataset(name, size=100_000, seed=0, **cfg)
    return rate(lambda i: ds[i], budget)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per measurement")
    ap.add_argument("--families", default="", help="comma-separated family names (default: all)")
    ap.add_argument("--no-peer", action="store_true", help="skip the reasoning-gym comparison")
    ap.add_argument("--out", type=Path, help="also write the numbers as JSON here")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    from foveal import tasks

    names = [n for n in args.families.split(",") if n] or tasks.names()
    rows = []
    print(f"{'family':<18}{'levels':>7}{'image+png/s':>13}{'text/s':>10}  tags")
    for name in names:
        task = tasks.get(name)
        img, txt = foveal_rates(name, args.budget)
        rows.append({"family": name, "levels": len(task.levels), "image_per_s": round(img, 1),
                     "text_per_s": round(txt, 1), "tags": list(task.tags)})
        print(f"{name:<18}{len(task.levels):>7}{img:>13.0f}{txt:>10.0f}  {','.join(task.tags)}", flush=True)

    peers = []
    if not args.no_peer:
        print(f"\n{'shared type':<34}{'foveal text/s':>14}{'image/s':>9}{'rg/s':>9}{'text ratio':>12}{'image ratio':>12}")
        for fam, level, rg_name, cfg, what in SHARED:
            if fam not in tasks.names() or (args.families and fam not in names):
                continue
            img, txt = foveal_rates(fam, args.budget, level)
            peer = rg_rate(rg_name, cfg, max(args.budget, 2.0))
            label = f"{fam} L{level} vs {rg_name} ({what})"
            peers.append({"foveal": fam, "level": level, "reasoning_gym": rg_name, "size": what,
                          "foveal_text_per_s": round(txt, 1), "foveal_image_per_s": round(img, 1),
                          "rg_per_s": round(peer, 2), "text_ratio": round(txt / peer, 1),
                          "image_ratio": round(img / peer, 1)})
            print(f"{label:<34}{txt:>14.0f}{img:>9.0f}{peer:>9.1f}{txt / peer:>11.1f}x{img / peer:>11.1f}x", flush=True)
    styles = []
    print(f"\n{'level 1, image+png/s':<22}{'plain':>9}{'styled':>9}{'styled/plain':>14}{'px':>6}")
    for name in SIMPLE:
        if name not in names:
            continue
        plain, _ = foveal_rates(name, args.budget, 1, style="plain")
        styled, _ = foveal_rates(name, args.budget, 1)
        px = max(tasks.get(name).generate(0, 1, style="plain").images[0].size)
        styles.append({"family": name, "plain_per_s": round(plain, 1), "styled_per_s": round(styled, 1),
                       "ratio": round(styled / plain, 2), "px": px})
        print(f"{name:<22}{plain:>9.0f}{styled:>9.0f}{styled / plain:>13.2f}x{px:>6}", flush=True)
    if args.out:
        from foveal.io import atomic_write_json

        atomic_write_json(args.out, {"families": rows, "reasoning_gym": peers, "styles": styles,
                                     "budget_s": args.budget})


if __name__ == "__main__":
    main()
