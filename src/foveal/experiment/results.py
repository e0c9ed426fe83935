"""An experiment's results: per row (arm × stage) the mean and spread over seeds, and the paired
difference to the reference row with a two-level bootstrap interval; printed, as JSON and as HTML.

The paired difference of row b to reference a, for a metric v (accuracy or pass@k per problem):

    d[s][i] = v_b(s, i) − v_a(s, i)         seed s, problem i (task × problem × form), same problems in every cell
    Δ       = mean_s mean_i d[s][i]

and its 95% interval comes from `foveal.eval.metrics.seed_bootstrap`: resample seeds with
replacement, then problems with replacement inside each drawn seed, B = 4000 times, and take the
2.5% and 97.5% percentiles. Seed s of every arm shares its model init, training problem stream
and sampling, so pairing by seed removes that shared noise as pairing by problem removes the
problems' difficulty; what is left is what the arm changed, plus the seeds' and problems' spread.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from foveal.experiment.runner import cell_dir
from foveal.experiment.spec import Experiment, Row

Scores = dict[tuple[str, str, int], dict[str, float]]  # (task, form, level) -> {problem_key: value}


def accuracy(row: dict) -> float:
    """The fraction of a problem's completions that are right (its pass@1)."""
    from foveal.eval.metrics import is_correct

    return sum(map(is_correct, row["scores"])) / len(row["scores"])


def pass_at(k: int) -> Callable[[dict], float]:
    """pass@k of one problem (the unbiased estimator over its completions)."""
    from foveal.eval.metrics import is_correct, pass_at_k

    return lambda row: pass_at_k(len(row["scores"]), sum(map(is_correct, row["scores"])), k)


def think_answer(row: dict) -> float:
    """The share of a problem's completions whose reasoning's own conclusion is the final answer
    (undetermined ones count as not: a completion that states no conclusion is not consistent)."""
    return sum(f is True for f in row.get("think_answer") or ()) / len(row["scores"])


def value_of(metric: str) -> Callable[[dict], float]:
    """A metric's per-problem value: accuracy, pass@N, blind (accuracy on the blind copy) or think_answer."""
    if metric.startswith("pass@"):
        return pass_at(int(metric[len("pass@"):]))
    return think_answer if metric == "think_answer" else accuracy


def problem_scores(eval_dir: str | Path, value: Callable[[dict], float] = accuracy, blind: bool = False) -> Scores:
    """{(task, form, level): {problem_key: value(row)}} of one eval run's samples.jsonl: the problems'
    own rows (probe rows, e.g. shuffled, blind or perturbed copies, left out), or with `blind` only the
    blind copies, filed under the image form they blank."""
    from foveal.eval.metrics import is_extra
    from foveal.io import read_jsonl

    out: Scores = {}
    for r in read_jsonl(Path(eval_dir) / "samples.jsonl"):
        if (r["form"] == "blind") if blind else not is_extra(r):
            form = "image" if blind else r["form"]
            out.setdefault((r["task"], form, r["level"]), {})[r["problem_key"]] = value(r)
    return out


def spread(per_seed: list[float]) -> dict:
    """Mean, min, max and sample standard deviation (n − 1; 0 for one seed) over seeds."""
    return {"per_seed": per_seed, "mean": statistics.fmean(per_seed), "min": min(per_seed), "max": max(per_seed),
            "sd": statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0}


def flat(scores: Scores, keep: Callable[[tuple[str, str, int]], bool] = lambda g: True) -> dict[tuple, float]:
    """{(task, form, level, problem_key): value} over the (task, form, level) groups `keep` accepts."""
    return {(*g, key): v for g, group in scores.items() if keep(g) for key, v in group.items()}


def compare(row: list[Scores], ref: list[Scores] | None, keep: Callable[[tuple[str, str, int]], bool]) -> dict:
    """The spread over seeds of the mean over problems, and (with `ref`) the paired difference to it."""
    from foveal.eval.metrics import seed_bootstrap

    values = [flat(s, keep) for s in row]
    out = {**spread([sum(v.values()) / len(v) for v in values]), "n_problems": len(values[0])}
    if ref is not None:
        base = [flat(s, keep) for s in ref]
        out["minus_reference"] = seed_bootstrap([[v[u] - b[u] for u in b] for v, b in zip(values, base, strict=True)])
    return out


def summarize(exp: Experiment, out: Path, cells: list[dict], seconds: float) -> dict:
    """results.json: every row's metrics over seeds, overall, per task × form and (with several levels)
    per level, against the reference."""
    ev = exp.spec.eval
    groups = [(t, f) for t in ev.tasks for f in ev.forms]

    def scores(r: Row, metric: str) -> list[Scores]:
        return [problem_scores(cell_dir(out, r.arm, s) / f"eval-{r.stage}", value_of(metric), metric == "blind")
                for s in exp.seeds]

    rows = []
    for name in exp.metrics:
        forms = ["image"] if name == "blind" else ev.forms
        for i, r in enumerate(exp.rows):
            mine = scores(r, name)
            ref = exp.references[r]
            other = None if r == ref else scores(ref, name)
            entry = {"overall": compare(mine, other, lambda g: True),
                     "by_task_form": {t: {f: compare(mine, other, lambda g, tf=(t, f): g[:2] == tf) for f in forms}
                                      for t in ev.tasks}}
            if len(ev.levels) > 1:
                entry["by_level"] = {str(lv): compare(mine, other, lambda g, lv=lv: g[2] == lv) for lv in ev.levels}
            if len(rows) <= i:
                rows.append({"label": r.label, "arm": r.arm, "stage": r.stage, "reference": exp.references[r].label,
                             "recipe": exp.spec.arms[r.arm].recipe, "set": [*exp.spec.set, *exp.spec.arms[r.arm].set]})
            rows[i][name] = entry
    return {"experiment": str(exp.path), "split": ev.split, "tasks": ev.tasks, "levels": ev.levels, "forms": ev.forms,
            "n_distinct_per_task": ev.n, "n_units": ev.n * len(groups), "k": ev.k, "temperature": ev.temperature,
            "max_new_tokens": exp.max_new_tokens, "seeds": exp.seeds, "reference": exp.reference,
            "metrics": exp.metrics, "rows": rows, "cells": cells, "seconds": seconds,
            "interval": "95% two-level paired bootstrap: seeds, then problems within seeds (B = 4000)"}


def pct(x: float) -> str:
    return f"{x * 100:.1f}"


def delta(d: dict | None) -> str:
    if not d:
        return "reference"
    mark = " *" if d["significant"] else ""
    return f"{d['delta'] * 100:+.1f} [{d['ci95'][0] * 100:+.1f}, {d['ci95'][1] * 100:+.1f}]{mark}"


def versus(results: dict) -> str:
    """The Δ column's heading: "Δ vs sft", or "Δ vs own sft" for a */STAGE reference."""
    ref = results["reference"]
    return f"Δ vs own {ref[2:]}" if ref.startswith("*/") else f"Δ vs {ref}"


def table_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """The headline table: one line per row (× metric when there are several), in percent."""
    many = len(results["metrics"]) > 1
    cols = ["arm (stage)", *(["metric"] if many else []), "mean", "min–max", "sd", f"{versus(results)} [95%]"]
    lines = []
    for r in results["rows"]:
        for m in results["metrics"]:
            o = r[m]["overall"]
            lines.append([f"{r['arm']} ({r['stage']})", *([m] if many else []), pct(o["mean"]),
                          f"{pct(o['min'])}–{pct(o['max'])}", pct(o["sd"]), delta(o.get("minus_reference"))])
    return cols, lines


def detail_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """Accuracy per task × form: mean over seeds and the paired difference, one line per row."""
    cols = ["arm (stage)", "task", "form", "mean", "min–max", f"{versus(results)} [95%]"]
    lines = []
    for r in results["rows"]:
        for t, forms in r["accuracy"]["by_task_form"].items():
            for f, o in forms.items():
                lines.append([f"{r['arm']} ({r['stage']})", t, f, pct(o["mean"]), f"{pct(o['min'])}–{pct(o['max'])}",
                              delta(o.get("minus_reference"))])
    return cols, lines


def level_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """Accuracy per level (when the evaluation has several): mean over seeds and the paired difference."""
    cols = ["arm (stage)", "level", "problems", "mean", "min–max", f"{versus(results)} [95%]"]
    lines = []
    for r in results["rows"]:
        for lv, o in r["accuracy"].get("by_level", {}).items():
            lines.append([f"{r['arm']} ({r['stage']})", lv, str(o["n_problems"]), pct(o["mean"]),
                          f"{pct(o['min'])}–{pct(o['max'])}", delta(o.get("minus_reference"))])
    return cols, lines


def title(results: dict) -> str:
    metric = "" if len(results["metrics"]) > 1 else f"{results['metrics'][0]}, "
    return (f"{metric}mean over seeds {', '.join(map(str, results['seeds']))}: "
            f"{results['n_distinct_per_task']} distinct {results['split']} problems per task "
            f"({', '.join(results['tasks'])}; level {', '.join(map(str, results['levels']))}; "
            f"{' and '.join(results['forms'])}), k={results['k']}, T={results['temperature']:g}")


LABELS = ("arm (stage)", "metric", "task", "form", "level")
NOTE = ("Percent. Δ: each row minus the reference on the same problems and seeds; 95% interval from a two-level "
        "paired bootstrap (seeds, then problems within seeds); * marks an interval that excludes 0.")


def print_results(results: dict, console) -> None:
    from rich.table import Table

    tables = [(title(results), table_rows(results))]
    if len(results["tasks"]) * len(results["forms"]) > 1:
        tables.append(("accuracy by task and form", detail_rows(results)))
    if len(results["levels"]) > 1:
        tables.append(("accuracy by level", level_rows(results)))
    for name, (cols, lines) in tables:
        table = Table(title=name)
        for c in cols:
            table.add_column(c, justify="left" if c in LABELS else "right", no_wrap=True)
        for line in lines:
            table.add_row(*line)
        console.print(table)
    console.print(f"[dim]{NOTE}[/]")
    minutes = results["seconds"] / 60
    console.print(f"{len(results['cells'])} cells, {minutes:.1f} min this invocation")


def write_report(results: dict, out: Path) -> Path:
    """DIR/report.html through `foveal.eval.build_report`: seed 0's eval of every row (the reference
    first, so the report's Δ column compares with it), seed 0's training logs, and the tables above."""
    from foveal.eval import build_report

    seed = results["seeds"][0]
    rows = sorted(results["rows"], key=lambda r: r["label"] != r["reference"])  # reference rows first
    runs = [cell_dir(out, r["arm"], seed) / f"eval-{r['stage']}" for r in rows]
    arms = list(dict.fromkeys(r["arm"] for r in rows if r["stage"] != "base"))
    train = [cell_dir(out, a, seed) / "train" for a in arms]
    tables = [{"title": name, "note": f"{title(results)}. {NOTE}", "columns": cols, "rows": lines}
              for name, (cols, lines) in (("Experiment", table_rows(results)),
                                          ("Experiment by task and form", detail_rows(results)),
                                          ("Experiment by level", level_rows(results))) if lines]
    return build_report(runs, out / "report.html", names=[f"{r['label']} (seed {seed})" for r in rows],
                        train=train, train_names=arms, tables=tables)
