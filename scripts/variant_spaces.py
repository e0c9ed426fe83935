"""Distinct problems per variant: family × query, in the text and image forms, at the given levels.

    .venv/bin/python scripts/variant_spaces.py --n 1000 --levels 1 > table.md
    .venv/bin/python scripts/variant_spaces.py --n 1000 --levels 1 --families count,clock --json out.json

For each family, query and level: the distinct `text_id`s and `image_id`s among N draws of that
query (phrasing and style drawn per seed, as in a dataset; `foveal tasks stats NAME --query Q`),
as a percentage of N. Issue 15's bar: >= 95% at level 1 in each form, except where a family
documents a smaller space.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="draws per family, query and level")
    ap.add_argument("--levels", default="1", help="levels, e.g. 1 or 1-3")
    ap.add_argument("--families", default="", help="comma-separated (default: all)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args()

    import foveal.tasks as gym
    from foveal.tasks.generate import parse_levels
    from foveal.tasks.stats import problem_space
    from foveal.tasks.variant import VariantSpec

    names = [n for n in args.families.split(",") if n] or gym.names()
    levels = parse_levels(args.levels)
    rows = []
    print("| family | query | " + " | ".join(f"L{lv} text | L{lv} image" for lv in levels) + " |")
    print("|---|---|" + "---:|---:|" * len(levels))
    for name in names:
        task = gym.get(name)
        for query in task.queries:
            cells = []
            for lv in levels:
                if lv not in task.levels or query not in task.level_queries(lv):
                    cells += ["", ""]
                    continue
                spec = VariantSpec(query=query)
                text = problem_space(task, lv, "text", n=args.n, variant=spec)
                image = problem_space(task, lv, "image", n=args.n, variant=spec)
                rows.append({"family": name, "query": query, "level": lv, "draws": args.n,
                             "text_distinct": text["distinct"], "image_distinct": image["distinct"],
                             "text_estimate": text["distinct_estimate"], "image_estimate": image["distinct_estimate"]})
                cells += [f"{100 * text['distinct'] / args.n:.0f}%", f"{100 * image['distinct'] / args.n:.0f}%"]
            print(f"| `{name}` | {query} | " + " | ".join(cells) + " |", flush=True)
    if args.json:
        from foveal.io import atomic_write_json

        atomic_write_json(args.json, rows)
    print(f"\n{len(rows)} family × query × level cells; {args.n} draws each; "
          f"{sum(r['text_distinct'] >= 0.95 * args.n and r['image_distinct'] >= 0.95 * args.n for r in rows)} "
          f"at >= 95% distinct in both forms")


if __name__ == "__main__":
    main()
