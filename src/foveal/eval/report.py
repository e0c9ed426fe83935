"""`foveal report`: one self-contained HTML page from one or more eval runs (and training logs).

    build_report(["runs/base", "runs/sft", "runs/grpo"], "report.html", names=["base", "sft", "grpo"])

The page needs no network to view: plots are matplotlib (Agg) PNGs embedded as base64, the
example images are the thumbnails the harness kept in samples.jsonl, and the CSS is inline.
Metrics are recomputed from samples.jsonl (`metrics.summarize`), so a run that was stopped
half-way still reports what it has. A directory with a `train.jsonl` (written by
`foveal train`) adds its training curves: every numeric key plotted against `step`, and, when a
curriculum sampler logged its draws (`data.sampler`: staged, band, sec), the draws and pass rate
of each arm (task:level) over the steps.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foveal.errors import FovealError
from foveal.eval import metrics as M
from foveal.io import atomic_write_text, read_jsonl

PALETTE = ("#3b6fb6", "#e07b39", "#3a9a5b", "#c8434b", "#7d5ba6", "#8c6d46", "#d16ba5", "#5f6b7a")
TRAIN_FIRST = ("reward_mean", "reward/mean", "accuracy", "format_rate", "completion_len", "kl", "entropy", "loss", "clip_frac",
               "grad_norm", "lr", "filtered_frac", "samples_per_s")
TRAIN_SKIP = {"step", "epoch", "time", "wall", "elapsed", "stage"}


@dataclass
class Run:
    """One eval run as the report sees it."""

    name: str
    path: Path
    config: dict[str, Any]
    rows: list[dict[str, Any]]
    metrics: dict[str, Any]
    train: list[dict[str, Any]] = field(default_factory=list)


def load_run(path: str | os.PathLike, name: str | None = None) -> Run:
    """Read a run directory: samples.jsonl (required unless it is a training run with
    train.jsonl), config.json and train.jsonl when present."""
    import json

    p = Path(path)
    if not p.is_dir():
        raise FovealError(f"run {p} is not a directory")
    samples, train = p / "samples.jsonl", p / "train.jsonl"
    if not samples.exists() and not train.exists():
        raise FovealError(f"run {p} has neither samples.jsonl (from `foveal eval`) nor train.jsonl "
                          f"(from `foveal train`)")
    rows = read_jsonl(samples)
    for i, r in enumerate(rows):
        missing = [k for k in ("id", "task", "level", "form", "scores", "formats", "n_tokens") if k not in r]
        if missing:
            raise FovealError(f"{samples}: row {i + 1} lacks field(s) {', '.join(missing)}")
    config = json.loads((p / "config.json").read_text()) if (p / "config.json").exists() else {}
    return Run(name=name or p.name, path=p, config=config, rows=rows, metrics=M.summarize(rows),
               train=read_jsonl(train))


# -- plots ------------------------------------------------------------------------------

def style() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 144, "font.size": 9.5, "axes.titlesize": 10.5,
        "axes.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False,
        "axes.edgecolor": "#9aa3ad", "axes.labelcolor": "#39424e", "xtick.color": "#5b6570",
        "ytick.color": "#5b6570", "axes.grid": True, "grid.color": "#e6e9ee", "grid.linewidth": 0.8,
        "legend.frameon": False, "font.family": "DejaVu Sans",
    })


@dataclass
class Plot:
    """A rendered figure: base64 PNG and the CSS width (px) that shows it at its design size."""

    data: str
    width: int


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (and closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buf.getvalue()


def png(fig) -> Plot:
    """The figure as a base64 PNG (and closed), rendered at 1.44x for sharp text on any screen."""
    import matplotlib.pyplot as plt

    data = png_bytes(fig)
    width = int.from_bytes(data[16:20], "big")  # the PNG IHDR width
    return Plot(base64.b64encode(data).decode("ascii"), round(width * 100 / plt.rcParams["savefig.dpi"]))


def grid(n: int, ncols: int = 4, w: float = 3.1, h: float = 2.5):
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    flat = [a for row in axes for a in row]
    for a in flat[n:]:
        a.set_visible(False)
    return fig, flat[:n]


def plot_accuracy_vs_level(runs: list[Run]) -> Plot | None:
    """Small multiples, one per task: accuracy (with 95% Wilson band) against level; one colour
    per run, solid for the image form and dashed for the text twin."""
    tasks = sorted({t for r in runs for t in r.metrics["by_task"]})
    if not tasks:
        return None
    fig, axes = grid(len(tasks))
    for ax, task in zip(axes, tasks, strict=True):
        for ci, run in enumerate(runs):
            forms = sorted({r["form"] for r in run.rows if r["task"] == task and not M.is_extra(r)})
            for form in forms:
                rows = [r for r in run.rows if r["task"] == task and r["form"] == form and not M.is_extra(r)]
                by_level = M.group_by(rows, lambda r: r["level"])
                xs = list(by_level)
                stats = [M.core(g) for g in by_level.values()]
                ys = [s["accuracy"] for s in stats]
                lo = [s["accuracy_ci95"][0] for s in stats]
                hi = [s["accuracy_ci95"][1] for s in stats]
                ls = "--" if form == "text" else ":" if form == "mixed" else "-"
                label = run.name if len(forms) == 1 else f"{run.name} · {form}"
                ax.plot(xs, ys, ls, marker="o", ms=4, lw=1.8, color=PALETTE[ci % len(PALETTE)], label=label)
                if form == "image" or len(forms) == 1:  # one band per run keeps the panel readable
                    ax.fill_between(xs, lo, hi, color=PALETTE[ci % len(PALETTE)], alpha=0.09, lw=0)
        ax.set_title(task)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("level")
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        levels = sorted({r["level"] for run in runs for r in run.rows if r["task"] == task})
        ax.set_xticks(levels)
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6), bbox_to_anchor=(0.5, 1.02 + 0.02))
    fig.tight_layout(rect=(0, 0, 1, 0.95 if len(tasks) > 4 else 0.9))
    return png(fig)


def plot_modality_gap(runs: list[Run]) -> Plot | None:
    """Horizontal bars: text-twin accuracy minus image accuracy per task, one bar per run."""
    import matplotlib.pyplot as plt

    have = [r for r in runs if r.metrics["modality_gap"]]
    if not have:
        return None
    tasks = sorted({t for r in have for t in r.metrics["modality_gap"]["by_task"]})
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(tasks) * max(1, len(have)) ** 0.5 + 1.3))
    h = 0.8 / len(have)
    for ci, run in enumerate(have):
        gaps = run.metrics["modality_gap"]["by_task"]
        ys = [i + (ci - (len(have) - 1) / 2) * h for i in range(len(tasks))]
        vals = [gaps[t]["gap"] if t in gaps else 0.0 for t in tasks]
        bars = ax.barh(ys, vals, height=h * 0.9, color=PALETTE[runs.index(run) % len(PALETTE)], label=run.name)
        for b, v in zip(bars, vals, strict=True):
            ax.annotate(f"{v:+.0%}", (v, b.get_y() + b.get_height() / 2), xytext=(4 if v >= 0 else -4, 0),
                        textcoords="offset points", va="center", ha="left" if v >= 0 else "right", fontsize=8,
                        color="#39424e")
    ax.axvline(0, color="#39424e", lw=1)
    ax.set_yticks(range(len(tasks)), tasks)
    ax.invert_yaxis()
    lim = max(0.15, max(abs(g["gap"]) for r in have for g in r.metrics["modality_gap"]["by_task"].values()) * 1.35)
    ax.set_xlim(-lim, lim)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    ax.set_xlabel("text-twin accuracy − image accuracy  (→ the model reads words better than pixels)")
    ax.grid(axis="y", visible=False)
    if len(have) > 1:
        ax.legend(loc="lower right")
    fig.tight_layout()
    return png(fig)


def plot_pass_at_k(runs: list[Run]) -> Plot | None:
    """pass@k against k (log scale) for runs with K > 1; maj@K as a hollow marker at K."""
    import matplotlib.pyplot as plt

    have = [r for r in runs if r.metrics["overall"].get("k", 1) > 1]
    if not have:
        return None
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    kmax = 1
    for run in have:
        ci = runs.index(run)
        o = run.metrics["overall"]
        ks = list(range(1, o["k"] + 1))
        ys = [sum(M.pass_at_k(len(r["scores"]), sum(map(M.is_correct, r["scores"])), k)
                  for r in run.rows if not M.is_extra(r)) / o["n"] for k in ks]
        ax.plot(ks, ys, marker="o", ms=3.5, lw=1.8, color=PALETTE[ci % len(PALETTE)], label=f"{run.name} pass@k")
        ax.plot([o["k"]], [o["maj@k"]], marker="D", ms=7, mfc="white", mew=1.8, color=PALETTE[ci % len(PALETTE)],
                ls="none", label=f"{run.name} maj@{o['k']}")
        kmax = max(kmax, o["k"])
    ax.set_xscale("log", base=2)
    ax.set_xticks([k for k in M.default_ks(kmax)], [str(k) for k in M.default_ks(kmax)])
    ax.set_ylim(-0.03, 1.03)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("k (samples per problem)")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.tight_layout()
    return png(fig)


def plot_lengths(runs: list[Run]) -> Plot | None:
    """Histogram of completion lengths in tokens, right and wrong answers stacked, one panel per run."""
    have = [r for r in runs if any(t is not None for row in r.rows for t in row["n_tokens"])]
    if not have:
        return None
    lens = [t for r in have for row in r.rows for t in row["n_tokens"] if t is not None]
    hi = max(lens) if lens else 1
    import numpy as np

    bins = np.linspace(0, max(hi, 1), 31)
    fig, axes = grid(len(have), ncols=min(3, len(have)), w=4.2 if len(have) > 1 else 6.0, h=2.7)
    for ax, run in zip(axes, have, strict=True):
        right = [t for row in run.rows for t, s in zip(row["n_tokens"], row["scores"], strict=True) if t is not None
                 and M.is_correct(s)]
        wrong = [t for row in run.rows for t, s in zip(row["n_tokens"], row["scores"], strict=True) if t is not None
                 and not M.is_correct(s)]
        ax.hist([right, wrong], bins=bins, stacked=True, color=["#3a9a5b", "#d0605e"], label=["right", "wrong"],
                edgecolor="white", linewidth=0.4)
        m = run.metrics["overall"].get("mean_tokens")
        if m is not None:
            ax.axvline(m, color="#39424e", ls="--", lw=1)
        ax.set_title(run.name + (f"  (mean {m:.0f} tokens, dashed)" if m is not None else ""))
        ax.set_xlabel("completion tokens")
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return png(fig)


def timeline(rows: list[dict[str, Any]]) -> tuple[list[float], list[tuple[float, str]]]:
    """An x value per log row, with stages (`stage`: sft, rl, ...) laid end to end so their steps
    do not overlap, and the (x, name) where each stage starts."""
    xs: list[float] = []
    starts: list[tuple[float, str]] = []
    offset, last, stage = 0.0, -1.0, object()
    for i, r in enumerate(rows):
        step = r.get("step", i)
        step = step if isinstance(step, (int, float)) else i
        if r.get("stage") != stage:
            stage = r.get("stage")
            offset = last + 1 - step if xs else 0.0
            if stage is not None:
                starts.append((offset + step, str(stage)))
        xs.append(offset + step)
        last = xs[-1]
    return xs, starts


def plot_training(logs: list[tuple[str, list[dict[str, Any]]]], colors: dict[str, str] | None = None) -> Plot | None:
    """Every numeric key of train.jsonl against the step, one panel per key, one colour per run
    (`colors[name]` where given, so a log and its eval share a colour); the stages of a run
    (SFT then RL) follow each other on the x axis, split by a dotted line. A key `X…std`
    beside `X…mean` (reward_std, reward/accuracy/std) is the shaded ±1 std band. Keys that
    never change (a flag that stayed 0) are left out."""
    values: dict[str, set[float]] = {}
    for _, rows in logs:
        for r in rows:
            for k, v in r.items():
                if k not in TRAIN_SKIP and isinstance(v, (int, float)) and not isinstance(v, bool):
                    values.setdefault(k, set()).add(v)
    keys = [k for k, vs in values.items() if len(vs) > 1]
    if not keys:
        return None
    colors = dict(colors or {})
    for name, _ in logs:
        colors.setdefault(name, PALETTE[len(colors) % len(PALETTE)])
    bands = {k: std for k in keys if k.endswith("mean") and (std := k[:-4] + "std") in keys}
    keys = [k for k in keys if k not in bands.values()]  # a std is drawn as the band around its mean
    keys = [k for k in TRAIN_FIRST if k in keys] + sorted(k for k in keys if k not in TRAIN_FIRST)
    fig, axes = grid(len(keys), ncols=4, w=3.1, h=2.3)
    for ax, key in zip(axes, keys, strict=True):
        for name, rows in logs:
            xs_all, starts = timeline(rows)
            pts = [(x, r[key]) for x, r in zip(xs_all, rows, strict=True)
                   if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            color = colors[name]
            if key in bands:
                band = [(x, r[key], r.get(bands[key])) for x, r in zip(xs_all, rows, strict=True)
                        if isinstance(r.get(key), (int, float)) and isinstance(r.get(bands[key]), (int, float))]
                if band:
                    bx, bm, bs = zip(*band, strict=True)
                    ax.fill_between(bx, [m - d for m, d in zip(bm, bs, strict=True)], [m + d for m, d in zip(bm, bs, strict=True)],
                                    color=color, alpha=0.08, lw=0)
            if len(ys) > 20:  # raw in a light line, a moving average on top
                ax.plot(xs, ys, color=color, alpha=0.25, lw=0.8)
                w = max(2, len(ys) // 20)
                sm = [sum(ys[max(0, i - w + 1):i + 1]) / len(ys[max(0, i - w + 1):i + 1]) for i in range(len(ys))]
                ax.plot(xs, sm, color=color, lw=1.6, label=name)
            else:
                ax.plot(xs, ys, color=color, lw=1.6, marker="o", ms=2.5, label=name)
            for x, _ in starts[1:]:
                ax.axvline(x, color="#9aa3ad", ls=":", lw=1)
            if len(starts) > 1:
                for x, stage in starts:
                    if not xs[0] <= x <= xs[-1]:  # a stage this metric has no points in (an RL-only metric at SFT's start)
                        continue
                    ax.annotate(stage, (x, 1), xycoords=("data", "axes fraction"), xytext=(3, -10),
                                textcoords="offset points", fontsize=7.5, color="#5b6570")
        ax.set_title(key)
        ax.set_xlabel("step")
        if key == "lr":
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    fig.tight_layout()
    if len(logs) > 1:
        handles = {lab: h for ax in axes for h, lab in zip(*ax.get_legend_handles_labels(), strict=True)}
        fig.legend(list(handles.values()), list(handles), loc="lower center", bbox_to_anchor=(0.5, 1.0),
                   ncol=len(handles))
    return png(fig)


CURRICULUM_KEYS = (("draws", "prompts drawn"), ("pass", "pass rate this step"), ("band_p", "tracked pass rate (band)"),
                   ("sec_q", "Q = TD(0) mean |advantage| (sec)"))


def plot_curriculum(logs: list[tuple[str, list[dict[str, Any]]]]) -> Plot | None:
    """For each training log whose RL rows hold a curriculum sampler's per-arm fields (`draws`,
    `pass`, `band_p`, `sec_q`: {arm: value} per step), one row of panels: each field against the
    step, one line per arm (task:level); None when no log has them."""
    from matplotlib.ticker import MaxNLocator

    runs = []
    for name, rows in logs:
        rl = [r for r in rows if isinstance(r.get("draws"), dict)]
        keys = [(k, title) for k, title in CURRICULUM_KEYS if any(isinstance(r.get(k), dict) for r in rl)]
        if rl and keys:
            runs.append((name, rl, keys))
    if not runs:
        return None
    ncols = max(len(keys) for _, _, keys in runs)
    fig, axes = grid(len(runs) * ncols, ncols=ncols, w=3.4, h=2.5)
    for i, (name, rows, keys) in enumerate(runs):
        arms = sorted({a for r in rows for k, _ in keys for a in (r.get(k) or {})})
        colors = {a: PALETTE[j % len(PALETTE)] for j, a in enumerate(arms)}
        for j in range(ncols):
            ax = axes[i * ncols + j]
            if j >= len(keys):
                ax.set_visible(False)
                continue
            key, title = keys[j]
            for a in arms:
                pts = [(r["step"], r[key][a]) for r in rows if isinstance(r.get(key), dict) and a in r[key]]
                if key == "draws":  # an arm not drawn in a step drew 0 prompts
                    pts = [(r["step"], r[key].get(a, 0)) for r in rows]
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, ys, color=colors[a], lw=1.4, marker="o" if len(xs) <= 20 else None, ms=2.5, label=a)
            ax.set_title(f"{name}: {title}" if len(runs) > 1 else title, fontsize=9)
            ax.set_xlabel("RL step")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[i * ncols].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return png(fig)


# -- tables -----------------------------------------------------------------------------

def pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x * 100:.{digits}f}%"


def heat(x: float | None) -> str:
    """A background colour for an accuracy cell: red (0) through amber to green (1)."""
    if x is None:
        return "transparent"
    hue = 4 + 128 * x  # HSL hue: red -> green
    return f"hsl({hue:.0f}, 62%, {93 - 8 * abs(x - 0.5):.0f}%)"


def headline(run: Run) -> dict[str, Any]:
    o = run.metrics["overall"]
    gap = run.metrics["modality_gap"].get("overall") if run.metrics["modality_gap"] else None
    cfg = run.config
    k = o.get("k", 1)
    return {
        "name": run.name, "model": cfg.get("model", "–"), "data": cfg.get("data", "–"), "n": o.get("n", 0), "nd": o.get("n_distinct", o.get("n", 0)), "k": k,
        "acc": o.get("accuracy"), "ci": o.get("accuracy_ci95"), "passk": (o.get("pass@k") or {}).get(str(k)),
        "maj": o.get("maj@k"), "best_of": o.get("best_of@k") or {}, "format": o.get("format_rate"), "tokens": o.get("mean_tokens"),
        "agreement": o.get("agreement", o.get("consistency")), "gap": gap["gap"] if gap else None,
        "think": o.get("think_answer_consistency"), "think_det": o.get("think_answer_determined"),
        "needs_image": ((run.metrics.get("blind") or {}).get("overall") or {}).get("needs_image"),
        "drop": ((run.metrics.get("perturbed") or {}).get("overall") or {}).get("drop"),
        "shuffle": (run.metrics.get("shuffled") or {}).get("option_consistency"),
        "temperature": (cfg.get("sampling") or {}).get("temperature"), "twin": cfg.get("twin"),
    }


def task_table(runs: list[Run]) -> dict[str, Any]:
    """Accuracy per task and level for every run (rows: task, columns: levels), with deltas
    against the first run."""
    tasks = sorted({t for r in runs for t in r.metrics["by_task"]})
    levels = sorted({int(lv) for r in runs for t in r.metrics["by_task_level"].values() for lv in t})
    out = []
    for t in tasks:
        cells = []
        for run in runs:
            bt = run.metrics["by_task"].get(t, {})
            lv = run.metrics["by_task_level"].get(t, {})
            cells.append({"all": bt.get("accuracy"), "n": bt.get("n", 0),
                          "levels": [lv.get(str(level), {}).get("accuracy") for level in levels]})
        base = cells[0]["all"]
        for c in cells[1:]:
            c["delta"] = None if base is None or c["all"] is None else c["all"] - base
        out.append({"task": t, "cells": cells})
    return {"levels": levels, "tasks": out}


def probes(runs: list[Run]) -> dict[str, list[dict[str, Any]]]:
    """The rows of the probes section: per run and task, think–answer consistency, blind accuracy
    and the perturbation test (each list empty when no run measured it)."""
    think, blind, pert = [], [], []
    for run in runs:
        for task, m in run.metrics["by_task"].items():
            if m.get("think_answer_determined"):
                think.append({"run": run.name, "task": task, "rate": m["think_answer_consistency"],
                              "determined": m["think_answer_determined"]})
        for task, b in ((run.metrics.get("blind") or {}).get("by_task") or {}).items():
            blind.append({"run": run.name, "task": task, **b})
        for task, q in ((run.metrics.get("perturbed") or {}).get("by_task") or {}).items():
            pert.append({"run": run.name, "task": task, **q})
    return {"think": think, "blind": blind, "perturbed": pert}


def variant_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """The rows of the variants section: per run, accuracy by phrasing and by style where more than one
    was asked, and by query for the tasks asked more than one kind of question."""
    out = []
    for run in runs:
        v = run.metrics.get("by_variant") or {}
        groups = [("phrasing", name, m) for name, m in (v.get("phrasing") or {}).items()]
        groups += [("style", name, m) for name, m in (v.get("style") or {}).items()]
        groups += [("query", f"{task}: {q}", m) for task, qs in (v.get("query") or {}).items() if len(qs) > 1
                   for q, m in qs.items()]
        out += [{"run": run.name, "kind": kind, "name": name, **m} for kind, name, m in groups]
    varied = {k for k in ("phrasing", "style") if len({r["name"] for r in out if r["kind"] == k}) > 1}
    return [r for r in out if r["kind"] in varied or r["kind"] == "query"]


def pick_examples(run: Run, n: int = 4) -> dict[str, list[dict[str, Any]]]:
    """Up to `n` right and `n` wrong problems, taken round-robin over tasks so each family shows."""
    def round_robin(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_task = M.group_by(rows, lambda r: r["task"])
        picked, i = [], 0
        while len(picked) < n and any(i < len(g) for g in by_task.values()):
            for g in by_task.values():
                if i < len(g) and len(picked) < n:
                    picked.append(g[i])
            i += 1
        return picked

    base = [r for r in run.rows if not M.is_extra(r)]

    def view(r: dict[str, Any]) -> dict[str, Any]:
        comp = r["completions"][0] if r.get("completions") else ""
        return {"id": r["id"], "task": r["task"], "level": r["level"], "form": r["form"], "gold": r.get("gold"),
                "pred": (r.get("answers") or [None])[0],
                "prompt": re.sub(r"[ \t]*<image>[ \t]*\n?", "", r.get("prompt", "")).strip(),
                "completion": comp if len(comp) <= 4000 else comp[:4000] + " …", "thumbs": r.get("thumbs") or [],
                "score": r["scores"][0] if r["scores"] else None, "k": len(r["scores"]),
                "n_right": sum(map(M.is_correct, r["scores"]))}

    return {"right": [view(r) for r in round_robin([r for r in base if r["scores"] and M.is_correct(r["scores"][0])])],
            "wrong": [view(r) for r in round_robin([r for r in base if r["scores"] and not M.is_correct(r["scores"][0])])]}


# -- the page ---------------------------------------------------------------------------

def render(runs: list[Run], train_logs: list[tuple[str, list[dict[str, Any]]]], examples: int = 4,
           tables: list[dict[str, Any]] | None = None) -> str:
    """The report's HTML; `tables` ({title, note, columns, rows} of strings) open the page."""
    import jinja2

    style()
    evals = [r for r in runs if r.rows]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=jinja2.select_autoescape(["html", "jinja"]), trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(pct=pct, heat=heat)
    colors = {r.name: PALETTE[i % len(PALETTE)] for i, r in enumerate(evals)}
    return env.get_template("report.html.jinja").render(
        title="foveal report — " + " vs ".join(r.name for r in runs),
        generated=time.strftime("%Y-%m-%d %H:%M"),
        runs=evals, colors=colors,
        headlines=[{**headline(r), "delta": M.paired_difference(evals[0].rows, r.rows) if i else None}
                   for i, r in enumerate(evals)],
        tasks=task_table(evals) if evals else None,
        gaps=[(r.name, r.metrics["modality_gap"]) for r in evals if r.metrics["modality_gap"]],
        shuffled=[(r.name, r.metrics["shuffled"]) for r in evals if r.metrics.get("shuffled")],
        probes=probes(evals),
        variants=variant_rows(evals),
        plots={"levels": plot_accuracy_vs_level(evals) if evals else None,
               "gap": plot_modality_gap(evals) if evals else None,
               "passk": plot_pass_at_k(evals) if evals else None,
               "lengths": plot_lengths(evals) if evals else None,
               "train": plot_training(train_logs, colors) if train_logs else None,
               "curriculum": plot_curriculum(train_logs) if train_logs else None},
        train_names=[n for n, _ in train_logs],
        examples=[(r.name, pick_examples(r, examples)) for r in evals],
        escape=html.escape,
        tables=tables or [],
    )


def build_report(runs: list[str | os.PathLike], out: str | os.PathLike, names: list[str] | None = None,
                 train: list[str | os.PathLike] | None = None, examples: int = 4,
                 train_names: list[str] | None = None, tables: list[dict[str, Any]] | None = None) -> Path:
    """Write the HTML report for eval `runs` (and training logs `train`: run directories or
    train.jsonl files, labelled `train_names`) to `out`, atomically. `tables` (each {title, note,
    columns, rows}, cells as strings) are shown first, e.g. an experiment's summary over seeds.
    Returns the output path."""
    if not runs and not train:
        raise FovealError("give at least one run directory")
    if names is not None and len(names) != len(runs):
        raise FovealError(f"--names has {len(names)} names for {len(runs)} runs")
    loaded = [load_run(p, names[i] if names else None) for i, p in enumerate(runs)]
    seen: dict[str, int] = {}
    for r in loaded:  # two runs with the same directory name get distinct labels
        if r.name in seen:
            seen[r.name] += 1
            r.name = f"{r.name} ({seen[r.name]})"
        else:
            seen[r.name] = 1
    logs = [(r.name, r.train) for r in loaded if r.train]
    for i, t in enumerate(train or []):
        tp = Path(t)
        f = tp / "train.jsonl" if tp.is_dir() else tp
        if not f.exists():
            raise FovealError(f"--train {tp}: no train.jsonl there")
        rows = read_jsonl(f)
        if not rows:
            raise FovealError(f"--train {f}: the log is empty")
        logs.append((train_names[i] if train_names else tp.name if tp.is_dir() else tp.parent.name, rows))
    return atomic_write_text(out, render(loaded, logs, examples, tables))
