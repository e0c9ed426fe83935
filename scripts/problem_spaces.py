"""The problem-space table of docs/gym.md: distinct problems per family × level.

    .venv/bin/python scripts/problem_spaces.py --n 3000 > table.md

For every family and level: the distinct problem keys among N text-form draws (`foveal tasks stats`),
the Chao1 estimate of the total, and how many of the distinct keys fell in train / val / test.
"""

from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000, help="draws per family and level")
    args = ap.parse_args()

    import foveal.tasks as gym
    from foveal.tasks.stats import problem_space

    levels = range(1, max(len(t.levels) for t in gym.all_tasks()) + 1)
    print("| family | " + " | ".join(f"L{lv}" for lv in levels) + " |")
    print("|---|" + "---:|" * len(levels))
    for task in gym.all_tasks():
        cells = []
        for lv in levels:
            if lv not in task.levels:
                cells.append("")
                continue
            r = problem_space(task, lv, "text", n=args.n)
            est = f"≥{args.n:,}" if r["distinct"] == args.n else f"{r['distinct_estimate']:,}"
            cells.append(est)
        print(f"| `{task.name}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
