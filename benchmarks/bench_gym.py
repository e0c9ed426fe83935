"""Gym speed: samples per second for every registered family on one core, against reasoning-gym.

Three tables, each with its goals (issue 15, item 8) checked on a PASS / short line:

1. every family (or `--families`), levels cycled (seed i at level 1 + i mod L):
       image form: `generate(seed, level)` plus PNG encoding of every image (`png_bytes`),
       text form:  `generate(seed, level, form="text")`,
   and the size of the level-1 pictures (the longest side over 20 seeds, plain style);
2. the types reasoning-gym also generates (sudoku, mini sudoku, futoshiki, kakurasu, maze; `angle`'s
   triangle level against `simple_geometry`), at matching sizes, timed in the same process:
   foveal text form / reasoning-gym (goal: >= 10x);
3. the simple families' level-1 image form in the plain style and with styles drawn per seed,
   measured alternately in the same run: plain samples/s (goal: >= 2,000 on one core, picture
   <= 128 px) and styled / plain (goal: styles cost <= 20%, a ratio >= 0.8).

Rates are per CPU second of this process (`time.process_time`), pinned to one core, so other jobs
on a shared machine slow the wall clock but not the numbers; run it 2-3 times and read the range.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_gym.py                # all families, 1 s each
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_gym.py --budget 0.3 --families sudoku,count --out gym.json

reasoning-gym is the optional `bench` extra (`pip install -e .[bench]`); without it (or with
`--no-peer`) table 2 is skipped.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import time
from collections.abc import Callable

# foveal family at a level  <->  reasoning-gym dataset with a config of the same size
SHARED = (
    ("sudoku", 4, "sudoku", {"min_empty": 41, "max_empty": 41}, "9x9, 41 empty"),
    ("sudoku", 2, "mini_sudoku", {"min_empty": 10, "max_empty": 10}, "4x4, ~10 empty"),
    ("futoshiki", 3, "futoshiki", {"min_board_size": 5, "max_board_size": 5}, "5x5"),
    ("futoshiki", 6, "futoshiki", {"min_board_size": 7, "max_board_size": 7}, "7x7"),
    ("kakurasu", 3, "kakurasu", {"min_rows": 5, "max_rows": 5, "min_cols": 5, "max_cols": 5}, "5x5"),
    ("maze", 3, "maze", {"min_grid_size": 9, "max_grid_size": 9}, "9x9"),
    ("angle", 3, "simple_geometry", {"min_sides": 3, "max_sides": 3}, "triangle's 3rd angle"),
)
SIMPLE = ("count", "spatial", "fraction_shaded", "block_count", "chart", "clock", "angle", "number_line",
          "symmetry", "odd_one_out")
GOAL_PEER, GOAL_RATE, GOAL_PX, GOAL_STYLE = 10.0, 2000.0, 128, 0.8


WARM = 12  # untimed calls first (seeds 10**9 + k): caches, fonts, the styles' noise patterns (~0.1 s to draw)


def warm(fn: Callable[[int], object]) -> None:
    for k in range(WARM):
        fn(10**9 + k)


def rate(fn: Callable[[int], object], budget: float, min_calls: int = 3) -> float:
    """Calls per CPU second of fn(0), fn(1), ... run for about `budget` CPU seconds (at least `min_calls`),
    after `WARM` untimed calls."""
    warm(fn)
    start = time.process_time()
    i = 0
    while i < min_calls or time.process_time() - start < budget:
        fn(i)
        i += 1
    return i / (time.process_time() - start)


def paired(fa: Callable[[int], object], fb: Callable[[int], object], budget: float, rounds: int = 5
           ) -> tuple[float, float]:
    """Rates of fa and fb measured in alternating slices (`rounds` each), so drift hits both alike."""
    warm(fa)
    warm(fb)
    done, spent = [0, 0], [0.0, 0.0]
    for _ in range(rounds):
        for k, fn in enumerate((fa, fb)):
            start, i = time.process_time(), done[k]
            while i == done[k] or time.process_time() - start < budget / rounds:
                fn(i)
                i += 1
            done[k], spent[k] = i, spent[k] + time.process_time() - start
    return done[0] / spent[0], done[1] / spent[1]


def image_fn(name: str, level: int | None = None, style: str | None = None) -> Callable[[int], None]:
    from foveal import tasks
    from foveal.sample import png_bytes

    task = tasks.get(name)
    levels = sorted(task.levels) if level is None else [level]

    def image(i: int) -> None:
        for im in task.generate(i, levels[i % len(levels)], style=style).images:
            png_bytes(im)

    return image


def text_fn(name: str, level: int | None = None) -> Callable[[int], None]:
    from foveal import tasks

    task = tasks.get(name)
    levels = sorted(task.levels) if level is None else [level]
    return lambda i: task.generate(i, levels[i % len(levels)], form="text")


def px(name: str, level: int = 1, seeds: int = 20) -> int:
    """The longest side of the level's pictures (plain style) over the first `seeds` seeds."""
    from foveal import tasks

    task = tasks.get(name)
    return max(max(im.size) for s in range(seeds) for im in task.generate(s, level, style="plain").images)


def rg_fn(name: str, cfg: dict) -> Callable[[int], object]:
    import reasoning_gym

    ds = reasoning_gym.create_dataset(name, size=1_000_000, seed=0, **cfg)
    return lambda i: ds[i]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "short"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=float, default=1.0, help="CPU seconds per measurement")
    ap.add_argument("--families", default="", help="comma-separated family names (default: all)")
    ap.add_argument("--no-peer", action="store_true", help="skip the reasoning-gym comparison")
    ap.add_argument("--out", help="also write the numbers as JSON here")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    from foveal import tasks

    names = [n for n in args.families.split(",") if n] or tasks.names()
    for n in names:
        tasks.get(n)  # an unknown name fails here, before any timing
    rows, peers, styles, short = [], [], [], []

    print(f"{'family':<18}{'levels':>7}{'image+png/s':>13}{'text/s':>10}{'L1 px':>7}  tags")
    for name in names:
        task = tasks.get(name)
        img, txt = rate(image_fn(name), args.budget), rate(text_fn(name), args.budget)
        size = px(name)
        rows.append({"family": name, "levels": len(task.levels), "image_per_s": round(img, 1),
                     "text_per_s": round(txt, 1), "level1_px": size, "tags": list(task.tags)})
        print(f"{name:<18}{len(task.levels):>7}{img:>13.0f}{txt:>10.0f}{size:>7}  {','.join(task.tags)}", flush=True)

    if args.no_peer or importlib.util.find_spec("reasoning_gym") is None:
        print("\nreasoning-gym: skipped" + ("" if args.no_peer else " (not installed: pip install -e .[bench])"))
    else:
        print(f"\nagainst reasoning-gym {importlib.metadata.version('reasoning-gym')} "
              f"(goal: foveal text form >= {GOAL_PEER:g}x)")
        print(f"{'foveal':<14}{'reasoning-gym':<32}{'text/s':>9}{'image/s':>9}{'rg/s':>9}{'text/rg':>9}")
        for fam, level, rg_name, cfg, what in SHARED:
            if fam not in names:
                continue
            txt, peer = paired(text_fn(fam, level), rg_fn(rg_name, cfg), 2 * args.budget)
            img = rate(image_fn(fam, level), args.budget)
            ratio = txt / peer
            peers.append({"foveal": fam, "level": level, "reasoning_gym": rg_name, "size": what,
                          "foveal_text_per_s": round(txt, 1), "foveal_image_per_s": round(img, 1),
                          "rg_per_s": round(peer, 1), "text_ratio": round(ratio, 2),
                          "pass": ratio >= GOAL_PEER})
            if ratio < GOAL_PEER:
                short.append(f"{fam} L{level} text {ratio:.1f}x reasoning-gym {rg_name} (goal {GOAL_PEER:g}x)")
            print(f"{fam + ' L' + str(level):<14}{rg_name + ' (' + what + ')':<32}{txt:>9.0f}{img:>9.0f}"
                  f"{peer:>9.0f}{ratio:>8.1f}x  {verdict(ratio >= GOAL_PEER)}", flush=True)

    print(f"\nlevel 1, image+png per CPU s (goals: plain >= {GOAL_RATE:,.0f}/s, <= {GOAL_PX} px, "
          f"styled/plain >= {GOAL_STYLE})")
    print(f"{'family':<18}{'plain':>8}{'styled':>8}{'styled/plain':>14}{'px':>6}  verdict")
    for name in SIMPLE:
        if name not in names:
            continue
        plain, styled = paired(image_fn(name, 1, "plain"), image_fn(name, 1), 2 * args.budget)
        size, ratio = px(name), styled / plain
        checks = {"rate": plain >= GOAL_RATE, "px": size <= GOAL_PX, "styles": ratio >= GOAL_STYLE}
        styles.append({"family": name, "plain_per_s": round(plain, 1), "styled_per_s": round(styled, 1),
                       "ratio": round(ratio, 2), "px": size, "pass": checks})
        missed = [k for k, ok in checks.items() if not ok]
        short += [f"{name} L1: " + ", ".join(f"{k} short" for k in missed)] if missed else []
        print(f"{name:<18}{plain:>8.0f}{styled:>8.0f}{ratio:>13.2f}x{size:>6}  "
              f"{'PASS' if not missed else 'short: ' + ', '.join(missed)}", flush=True)

    print("\n" + ("all goals met" if not short else f"{len(short)} short of goal:\n  " + "\n  ".join(short)))
    if args.out:
        from pathlib import Path

        from foveal.io import atomic_write_json

        atomic_write_json(Path(args.out), {"families": rows, "reasoning_gym": peers, "styles": styles,
                                           "short": short, "budget_cpu_s": args.budget})


if __name__ == "__main__":
    main()
