"""The report across `foveal improve` rounds: a table, a plot, summary.json and the HTML report.

    RUN/summary.json   every round's round.json, in order
    RUN/rounds.png     val accuracy per round (95% Wilson band), kept traces and pass rate per round
    RUN/report.html    `foveal.eval.build_report` over the rounds' val evals (round 0 = the starting
                       model), opened by the rounds table. A round's training curves are in its runs'
                       train.jsonl: `foveal report --train RUN/round-N/model ...` plots them (left out
                       here: one panel per logged key per run cost more than the rest of the page)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from foveal.io import atomic_write_bytes, atomic_write_json

COLUMNS = ("round", "problems × K", "labelled", "pass rate", "solved", "kept", "SFT steps", "RL steps",
           "val accuracy [95% CI]", "Δ vs round 0")
PREF_COLUMNS = ("pairs", "pref steps")


def columns(rounds: list[dict[str, Any]]) -> list[str]:
    """The table's columns: with a preference stage in any round, its pairs and steps too."""
    pref = any("pref_steps" in info for info in rounds)
    return [*COLUMNS[:8], *(PREF_COLUMNS if pref else ()), *COLUMNS[8:]]


def table_rows(rounds: list[dict[str, Any]]) -> list[list[str]]:
    """One row of strings per round (round 0: the starting model, evaluated only)."""
    from foveal.eval.report import pct

    base = rounds[0]["val"]["accuracy"]
    pref = any("pref_steps" in info for info in rounds)
    rows = []
    for info in rounds:
        v = info["val"]
        cells = [str(info["round"])]
        if info["round"] == 0:
            cells += ["–"] * (9 if pref else 7)
        else:
            pseudo = f" ({info['pseudo_labelled']} voted)" if info["pseudo_labelled"] else ""
            cells += [f"{info['problems']} × {info['k']}", f"{info['labelled']}{pseudo}", pct(info["pass_rate"]),
                      str(info["solved"]), str(info["kept"]), str(info["sft_steps"]), str(info["rl_steps"])]
            if pref:
                cells += [str(info.get("pairs", 0)), str(info.get("pref_steps", 0))]
        cells += [f"{pct(v['accuracy'])} [{v['ci95'][0] * 100:.1f}, {v['ci95'][1] * 100:.1f}]",
                  "–" if info["round"] == 0 else f"{(v['accuracy'] - base) * 100:+.1f} pt"]
        rows.append(cells)
    return rows


def plot_rounds(rounds: list[dict[str, Any]]) -> bytes:
    """PNG: val accuracy per round with its 95% band; kept traces (bars) and pass rate per round."""
    from foveal.eval.report import PALETTE, grid, png_bytes, style

    style()
    fig, (acc_ax, kept_ax) = grid(2, ncols=2, w=3.6, h=2.6)
    xs = [info["round"] for info in rounds]
    acc = [info["val"]["accuracy"] for info in rounds]
    acc_ax.fill_between(xs, [info["val"]["ci95"][0] for info in rounds], [info["val"]["ci95"][1] for info in rounds],
                        color=PALETTE[0], alpha=0.15, lw=0)
    acc_ax.plot(xs, acc, color=PALETTE[0], marker="o", lw=1.6)
    acc_ax.set(title="val accuracy", xlabel="round", ylim=(0, 1), xticks=xs)
    later = [info for info in rounds if info["round"] > 0]
    kept_ax.bar([info["round"] for info in later], [info["kept"] for info in later], color=PALETTE[1], alpha=0.7)
    kept_ax.set(title="kept traces (bars), pass rate (line)", xlabel="round", xticks=xs)
    rate_ax = kept_ax.twinx()
    rate_ax.plot([info["round"] for info in later], [info["pass_rate"] or 0.0 for info in later], color=PALETTE[2],
                 marker="o", lw=1.6)
    rate_ax.set_ylim(0, 1)
    rate_ax.grid(False)
    fig.tight_layout()
    return png_bytes(fig)


def write_report(out: Path, rounds: list[dict[str, Any]], console: Console) -> dict[str, Any]:
    """summary.json, rounds.png and report.html for `rounds` (round 0 first); prints the table."""
    from foveal.eval import build_report

    summary = {"rounds": rounds, "val_accuracy": [info["val"]["accuracy"] for info in rounds],
               "samples": sum(info.get("samples", 0) for info in rounds)}
    atomic_write_json(out / "summary.json", summary)
    atomic_write_bytes(out / "rounds.png", plot_rounds(rounds))
    rows = table_rows(rounds)
    note = ("Round 0 is the starting model. Each round samples K completions per problem from the previous round's "
            "model, keeps the distinct ones that verify (gold answer, or majority vote where there is none), "
            "fine-tunes on them (then RL, when the recipe has rl.steps) and is scored greedily on the same val "
            "problems. pass rate: mean share of verified completions over labelled problems. Plot: rounds.png; "
            "training curves: foveal report --train RUN/round-N/model.")
    build_report([out / f"round-{info['round']}" / "eval" for info in rounds], out / "report.html",
                 names=[f"round {info['round']}" for info in rounds],
                 tables=[{"title": "Rounds", "note": note, "columns": columns(rounds), "rows": rows}])
    table = Table(title=f"foveal improve: {len(rounds) - 1} rounds ({out})", header_style="bold")
    for c in columns(rounds):
        table.add_column(c, justify="left" if c == "round" else "right", no_wrap=c.startswith(("val", "Δ")))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"wrote {out / 'summary.json'}, {out / 'rounds.png'}, {out / 'report.html'}")
    return summary
