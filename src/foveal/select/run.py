"""Offline difficulty selection: answer every problem K times with a model, record how hard it
was, and keep the problems a `--keep` rule picks (ThinkLite-VL, Temporal-R1, RAP).

    result = select(backend, samples, "runs/sel", k=8, sampling=Sampling(temperature=1.0),
                    keep=Keep.parse("0.1 <= pass_rate <= 0.7", STAT_NAMES), meta={"model": "tiny"})
    len(result.kept), result.summary["pass_rate"]["mean"]

A run directory holds:
    config.json    the settings that change the statistics (K, sampling, blind, rewards, batch size,
                   model, data, backend, system prompt: `meta`'s, else the R1 one), versions and git revision
    stats.jsonl    one row per problem (`foveal.select.stats` names the statistics), appended in
                   one write per batch, in input order
    summary.json   counts, the rule, the statistics' distribution, kept problems per task
    data/          the kept problems as a dataset (written whole, atomically, once every problem
                   has its statistics; absent without a rule)

Resuming: rerunning into the same directory skips every problem already in stats.jsonl (a torn
last line from a kill is cut off first), so a killed run continues where it stopped and a new
`--keep` rule on a finished run only re-filters, generating nothing. Batch b holds problems
[b·B, (b+1)·B) of the input and is sampled with seed `sampling.seed · 1_000_003 + b`, so a resumed
run draws exactly what an uninterrupted one would (for a backend that is deterministic for a
seed, as hf is on CPU).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from foveal.errors import FovealError
from foveal.eval.harness import blind_copy, repair_tail
from foveal.io import append_jsonl, atomic_write_json, read_jsonl
from foveal.progress import progress_bar
from foveal.prompts import R1_SYSTEM_PROMPT
from foveal.provenance import provenance
from foveal.rollout.base import Backend, Group, Sampling
from foveal.sample import Sample
from foveal.select.keep import Keep
from foveal.select.stats import BLIND_STATS, STAT_NAMES, blind_stats, pass_stats, reward_stats

DEFAULT_REWARDS = {"accuracy": 1.0, "format": 0.5}  # the training default, so reward_var is what GRPO sees
RESULT_KEYS = ("k", "sampling", "blind", "rewards", "batch_size", "model", "data", "backend", "n_problems",
               "system_prompt")
OLD_DEFAULTS = {"system_prompt": R1_SYSTEM_PROMPT}  # what a config.json written before the key existed used


@dataclass
class SelectResult:
    """What `select` returns: every problem's statistics (input order), the kept ids, the summary."""

    rows: list[dict[str, Any]] = field(repr=False)
    kept: list[str]
    summary: dict[str, Any]
    out: Path


def settings(k: int, sampling: Sampling, blind: bool, rewards: Mapping[str, float], batch_size: int,
             n_problems: int, meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings config.json records, as JSON reads them back."""
    s = asdict(sampling)
    s["stop"] = list(s["stop"])
    return {"model": None, "data": None, "backend": None, "system_prompt": R1_SYSTEM_PROMPT, **(meta or {}), "k": k, "sampling": s, "blind": blind,
            "rewards": dict(rewards), "batch_size": batch_size, "n_problems": n_problems}


def check_resumable(out: Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """The run's old config.json if `out` holds one with the same result-changing settings; FovealError
    naming each difference otherwise. A run that measured blind statistics serves a rule without them."""
    if out.exists() and not out.is_dir():
        raise FovealError(f"--out {out}: exists and is not a directory")
    path = out / "config.json"
    if not path.exists():
        return None
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FovealError(f"{path}: not valid JSON ({e}); use another --out") from None
    diff = [f"{key}: run has {old.get(key, OLD_DEFAULTS.get(key))!r}, now {config[key]!r}" for key in RESULT_KEYS
            if old.get(key, OLD_DEFAULTS.get(key)) != config[key] and not (key == "blind" and old.get(key) and not config[key])]
    if diff:
        raise FovealError(f"--out {out} holds a selection run with other settings ({'; '.join(diff)}); "
                          f"use the same settings to resume it, or another --out")
    return old


def problem_row(sample: Sample, group: Group, blind_group: Group | None, reward_fn) -> dict[str, Any]:
    """One stats.jsonl row: the problem's identity, its statistics and its K extracted answers."""
    from foveal.rewards import accuracy, call_reward, extract_answer

    def correct(s: Sample, g: Group) -> list[bool]:
        try:
            return [a >= 1.0 for a in accuracy([c.text for c in g.completions], [s] * len(g.completions))]
        except ValueError as e:  # a gold answer that does not parse: a dataset bug
            raise FovealError(f"sample {s.id}: {e}") from None

    texts = [c.text for c in group.completions]
    ok = correct(sample, group)
    rewards = call_reward(reward_fn, texts, [sample] * len(texts), lengths=[len(c.token_ids) for c in group.completions])
    row: dict[str, Any] = {"id": sample.id, "task": sample.task, "level": sample.level, "form": sample.form,
                           "problem_key": sample.problem_key, "gold": sample.answer,
                           **pass_stats(ok), **reward_stats(rewards)}
    row["answers"] = [extract_answer(t) for t in texts]
    if blind_group is not None:
        blind_ok = correct(sample, blind_group) if sample.images else ok
        row.update(blind_stats(blind_ok))
        row["blind_answers"] = [extract_answer(c.text) for c in blind_group.completions] if sample.images else None
    return row


def summarize(rows: Sequence[dict[str, Any]], kept: Sequence[str], keep: Keep | None) -> dict[str, Any]:
    """Counts, the rule, each statistic's mean and the pass-rate histogram, kept problems per task."""
    def dist(name: str) -> dict[str, float] | None:
        vals = [float(r[name]) for r in rows if r.get(name) is not None]
        return {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals)} if vals else None

    edges = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    hist = Counter(next(f"{lo:.1f}-{hi:.1f}" for lo, hi in zip(edges, edges[1:], strict=False)
                        if r["pass_rate"] < hi or hi == 1.0) for r in rows)
    kept_set = set(kept)
    by_task: dict[str, dict[str, int]] = {}
    for r in rows:
        t = by_task.setdefault(r["task"], {"n": 0, "kept": 0})
        t["n"] += 1
        t["kept"] += r["id"] in kept_set
    return {"n": len(rows), "kept": len(kept), "keep": keep.text if keep else None,
            **{name: dist(name) for name in STAT_NAMES if name != "level"},
            "pass_rate_histogram": dict(sorted(hist.items())), "by_task": by_task}


def select(
    backend: Backend,
    samples: Sequence[Sample],
    out: str | os.PathLike,
    k: int = 8,
    sampling: Sampling | None = None,
    keep: Keep | None = None,
    blind: bool = False,
    rewards: Mapping[str, float] | None = None,
    batch_size: int = 8,
    meta: Mapping[str, Any] | None = None,
    fmt: str = "hf",
    manifest: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> SelectResult:
    """Measure every problem of `samples` with `backend` (K completions each) into `out`, then write
    the problems `keep` accepts to `out/data` in dataset format `fmt` (manifest: `manifest` plus a
    `selection` record). `blind` also answers each problem with its images blanked (needed by a
    rule that reads blind statistics). `rewards` ({registered reward: weight}) gives reward_var.
    Everything is validated before `out` is touched; a finished run is resumed without generating."""
    from foveal.rewards import combine
    from foveal.tasks.export import FORMATS, write_dataset

    out = Path(out)
    sampling = sampling or Sampling()
    rewards = dict(rewards or DEFAULT_REWARDS)
    if k < 1 or batch_size < 1:
        raise FovealError(f"k and batch_size must be at least 1, got k={k}, batch_size={batch_size}")
    if k > 1 and sampling.temperature == 0:
        raise FovealError(f"k={k} completions at temperature 0 (greedy) would all be the same: sample with "
                          f"temperature > 0, or use k=1")
    if fmt not in FORMATS:
        raise FovealError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not samples:
        raise FovealError("no problems to select from")
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        dup = next(i for i, c in Counter(ids).items() if c > 1)
        raise FovealError(f"sample id {dup!r} occurs twice in the data; ids must be unique")
    try:
        reward_fn = combine(rewards)
    except (TypeError, ValueError) as e:
        raise FovealError(f"--rewards: {e}") from None
    config = settings(k, sampling, blind, rewards, batch_size, len(samples), meta)
    old = check_resumable(out, config)
    if old and old.get("blind"):
        blind = config["blind"] = True
    if keep is not None and not blind and any(s in BLIND_STATS for s in keep.stats):
        raise FovealError(f"--keep {keep.text!r} reads {', '.join(s for s in keep.stats if s in BLIND_STATS)}, "
                          f"which needs --blind")

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "config.json", {**config, **provenance(),
                                            "started": (old or {}).get("started") or time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    jsonl = out / "stats.jsonl"
    repair_tail(jsonl)
    wanted = set(ids)
    done = {r["id"]: r for r in read_jsonl(jsonl) if r["id"] in wanted}
    run_batches(backend, samples, done, k, sampling, blind, reward_fn, batch_size, jsonl, progress)

    rows = [done[i] for i in ids]
    kept = [r["id"] for r in rows if keep(r)] if keep is not None else []
    summary = summarize(rows, kept, keep)
    atomic_write_json(out / "summary.json", summary)
    if keep is not None:
        if not kept:
            raise FovealError(f"--keep {keep.text!r} keeps none of the {len(rows)} problems (mean pass_rate "
                              f"{summary['pass_rate']['mean']:.2f}; see {out / 'summary.json'}); the statistics are "
                              f"saved: rerun with another --keep to re-filter without generating")
        chosen = set(kept)
        record = {"from": (meta or {}).get("data"), "model": (meta or {}).get("model"), "keep": keep.text, "k": k,
                  "kept": len(kept), "of": len(rows)}
        write_dataset((s for s in samples if s.id in chosen), out / "data", fmt,
                      {**(manifest or {}), "selection": record}, overwrite=True)
    return SelectResult(rows=rows, kept=kept, summary=summary, out=out)


def run_batches(backend: Backend, samples: Sequence[Sample], done: dict[str, dict[str, Any]], k: int,
                sampling: Sampling, blind: bool, reward_fn, batch_size: int, jsonl: Path, progress: bool) -> None:
    """Generate and score every batch holding an unfinished problem; append its new rows to `jsonl`."""
    def mean_pass() -> str:
        return f"{sum(r['pass_rate'] for r in done.values()) / len(done):.2f}" if done else "-"

    with progress_bar("pass rate {task.fields[rate]}", enabled=progress) as bar:
        task = bar.add_task("select", total=len(samples), completed=len(done), rate=mean_pass())
        for b, start in enumerate(range(0, len(samples), batch_size)):
            batch = list(samples[start:start + batch_size])
            if all(s.id in done for s in batch):
                continue
            blanked = [blind_copy(s) for s in batch if s.images] if blind else []
            groups = backend.generate(batch + blanked, n=k, sampling=replace(sampling, seed=sampling.seed * 1_000_003 + b))
            if len(groups) != len(batch) + len(blanked):
                raise RuntimeError(f"backend returned {len(groups)} groups for {len(batch) + len(blanked)} prompts")
            blind_of = {g_s.meta["blind_of"]: g for g_s, g in zip(blanked, groups[len(batch):], strict=True)}
            new = []
            for s, g in zip(batch, groups[:len(batch)], strict=True):
                if s.id in done:
                    continue
                bg = (blind_of.get(s.id) or g) if blind else None
                new.append(problem_row(s, g, bg, reward_fn))
            append_jsonl(jsonl, new)
            done.update((r["id"], r) for r in new)
            bar.update(task, advance=len(new), rate=mean_pass())
