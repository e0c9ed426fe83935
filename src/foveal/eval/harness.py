"""The eval harness: sample K completions per problem, score them, write a resumable run.

    from foveal.eval import evaluate
    result = evaluate(backend, samples, k=4, sampling=Sampling(temperature=1.0), twin="both", out="runs/ev")
    result.metrics["overall"]["accuracy"]

A run directory holds:
    config.json    what was evaluated and how (model, data, sampling, versions, git revision)
    samples.jsonl  one row per evaluated problem (see `foveal.eval.metrics` for the fields),
                   appended in one write per batch
    metrics.json   `metrics.summarize(rows)`, written through a temp file and rename

Resuming: rerunning into the same directory skips every id already in samples.jsonl. A kill
can at worst tear the last line of samples.jsonl; that torn tail is cut off before the next
append, so no problem is lost or written twice. The settings that change results (K,
sampling, twin, shuffles, blind, perturb, answer format, and model/data/backend where recorded) must
match the run's config.json, or the harness refuses. A larger `--limit` extends a run.
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from foveal.errors import FovealError
from foveal.eval import metrics as M
from foveal.eval.shuffle import letters, shuffled_copies
from foveal.io import append_jsonl, atomic_write_json, read_jsonl
from foveal.progress import progress_bar
from foveal.prompts import RUN_FORMATS
from foveal.provenance import provenance
from foveal.rollout.base import Backend, Group, Sampling
from foveal.sample import Sample
from foveal.split import image_id, text_id

TWINS = ("image", "text", "both")
THUMB_PX = 160  # longest side of the image thumbnails kept in samples.jsonl for the report
MAX_THUMBS = 6  # images kept per sample: video tasks have up to 16 frames, spread() picks evenly
RESULT_KEYS = ("k", "sampling", "twin", "shuffles", "blind", "perturb", "answer_format", "judge")  # a resumed
# run must agree on these (and on model, data and backend when both runs name them)
KEY_DEFAULTS = {"blind": False, "perturb": False, "answer_format": "r1", "judge": None}  # what a config.json written before the key existed means


@dataclass
class EvalResult:
    """What `evaluate` returns: the summary, every row (resumed ones included) and the run dir."""

    metrics: dict[str, Any]
    rows: list[dict[str, Any]] = field(repr=False)
    out: Path | None = None


def expand(samples: Sequence[Sample], twin: str = "image", shuffles: int = 0, seed: int = 0, blind: bool = False,
           perturb: bool = False) -> list[Sample]:
    """The problems to evaluate: each sample in the requested form(s); with `perturb`, each gym
    sample's one-knob twin in the same form(s) (`foveal.eval.perturb`; meta `perturb_of`); with
    `blind`, a copy of each image-form problem with every image blank (`blind_copy`); then
    `shuffles` option-shuffled copies of each choice problem (those whose options can be
    rewritten). Only the original problems are blinded or shuffled."""
    from foveal.eval.perturb import perturbed_twin

    if twin not in TWINS:
        raise FovealError(f"twin must be one of {', '.join(TWINS)}, got {twin!r}")

    def forms_of(s: Sample) -> list[Sample]:
        forms = {"image": [s], "text": [s.as_text()], "both": [s] if s.form == "text" else [s, s.as_text()]}[twin]
        for f in forms:
            if f.form == "text" and not f.prompt.strip():
                raise FovealError(f"sample {s.id} has no text twin, so it cannot be evaluated with --twin {twin}")
        return forms

    items: list[Sample] = []
    for s in samples:
        forms = forms_of(s)
        items.extend(forms)
        t = perturbed_twin(s) if perturb else None
        if t is not None:
            items.extend(replace(tf, meta={**tf.meta, "perturb_of": f.id}) for f, tf in zip(forms, forms_of(t), strict=True))
    originals = [s for s in items if "perturb_of" not in s.meta]
    if blind:
        items.extend(blind_copy(s) for s in originals if s.form == "image" and s.images)
    if shuffles > 0:
        copies = []
        for s in originals:
            if s.answer_type == "choice" and s.choices and len(s.choices) > 1:
                try:
                    copies.extend(shuffled_copies(s, shuffles, seed))
                except FovealError:  # options drawn in the image: nothing to rewrite
                    continue
        items.extend(copies)
    seen: set[str] = set()
    for s in items:
        if s.id in seen:
            raise FovealError(f"sample id {s.id!r} occurs twice in the data; ids must be unique")
        seen.add(s.id)
    return items


def blind_copy(sample: Sample) -> Sample:
    """`sample` with every image replaced by a white RGB image of the same size (RAP's blind test:
    what is answerable without looking). Id `{id}/blind`, meta `blind_of`; its row's form is "blind"."""
    blank = tuple(Image.new("RGB", im.size, (255, 255, 255)) for im in sample.images)
    return replace(sample, id=f"{sample.id}/blind", images=blank, meta={**sample.meta, "blind_of": sample.id})


def base_id(sample: Sample) -> str:
    """The id shared by a problem's forms: the id without its `/text` or `/mixed` suffix."""
    return sample.id.rsplit("/", 1)[0] if sample.form != "image" else sample.id


def thumbnail_b64(image: Image.Image, px: int = THUMB_PX) -> str:
    im = image.convert("RGB")
    im.thumbnail((px, px), Image.Resampling.LANCZOS if max(im.size) > px else Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=6)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def spread(n: int, k: int) -> list[int]:
    """`min(n, k)` indices from range(n), evenly spaced, first and last included."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def round_to(answer: str | None, digits: int) -> str | None:
    """`answer` rounded to `digits` decimals when it is a plain decimal number, else unchanged."""
    if answer is None:
        return None
    try:
        return f"{round(float(answer.replace(',', '').strip()), digits):.{digits}f}"
    except (ValueError, OverflowError):
        return answer


def score_group(sample: Sample, group: Group, answer_format: str = "r1") -> dict[str, Any]:
    """One samples.jsonl row: the problem, its completions and every per-completion score.

    Answers are read, and the format checked, under `answer_format` (`r1`, or `answer` for an
    answer-only model). Scores come from `foveal.rewards.score` (options may be named by text for choice
    problems; a number problem with `meta["precision"]`, as MathVista's floats have, first
    rounds the prediction to that many decimals); maj@k clusters answers that `verify` says
    are equal, so `1/2` and `0.5` vote together.
    """
    from foveal.eval.bestof import mean_logprob
    from foveal.rewards import (
        extract_answer,
        extract_think,
        format_reward,
        reasoning_conclusion,
        score,
        verify,
    )

    texts = [c.text for c in group.completions]
    answers = [extract_answer(t, answer_format) for t in texts]
    precision = sample.meta.get("precision") if sample.answer_type == "number" else None
    try:
        if precision is None:
            scores = [score(t, sample.answer, sample.answer_type, answer_format=answer_format, choices=sample.choices)
                      for t in texts]
        else:  # MathVista's rule: a float prediction is rounded to the question's precision first
            scores = [1.0 if verify(round_to(a, int(precision)), sample.answer, "number") else 0.0 for a in answers]
    except ValueError as e:  # a gold answer that does not parse: a dataset bug
        raise FovealError(f"sample {sample.id}: {e}") from None
    formats = [f >= 1.0 for f in format_reward(texts, [sample] * len(texts), answer_format=answer_format)]

    same = M.equivalent(sample)

    def think_answer(text: str, answer: str | None) -> bool | None:
        """Does the reasoning's own conclusion match the final answer? None: either is missing."""
        think = extract_think(text)
        concl = reasoning_conclusion(think) if think else None
        return None if concl is None or answer is None else same(concl, answer)

    maj = M.majority_vote(answers, same)
    row: dict[str, Any] = {
        "id": sample.id, "base_id": base_id(sample), "task": sample.task, "level": sample.level,
        "form": "blind" if "blind_of" in sample.meta else sample.form,
        "problem_key": sample.problem_key, "text_id": text_id(sample),
        "image_id": image_id(sample) if sample.images else None,
        "tags": list(sample.tags), "answer_type": sample.answer_type, "gold": sample.answer,
        "choices": list(sample.choices) if sample.choices else None, "prompt": sample.prompt,
        "completions": texts, "answers": answers, "scores": scores, "formats": formats,
        "n_tokens": [len(c.token_ids) if c.token_ids else None for c in group.completions],
        "mean_logprob": [mean_logprob(c.logprobs) for c in group.completions],
        "finish": [c.finish_reason for c in group.completions],
        "maj_answer": answers[maj] if maj is not None else None,
        "maj_score": scores[maj] if maj is not None else None,
        "agree": M.agreement(answers, same),
        "think_answer": [think_answer(t, a) for t, a in zip(texts, answers, strict=True)],
        "thumbs": [thumbnail_b64(sample.images[i]) for i in spread(len(sample.images), MAX_THUMBS)],
    }
    if sample.choices and maj is not None:  # which option *text* the vote picked (for shuffle consistency)
        picked = [c for letter, c in zip(letters(len(sample.choices)), sample.choices, strict=True)
                  if verify(answers[maj], letter, "choice", choices=sample.choices)]
        row["maj_option"] = picked[0] if picked else None
    for key in ("shuffle_of", "perm", "blind_of", "perturb_of", "knob"):
        if key in sample.meta:
            row[key] = sample.meta[key]
    if isinstance(sample.meta.get("variant"), dict):  # gym problems: which query, phrasing and style
        row.update({k: sample.meta["variant"].get(k) for k in ("query", "phrasing", "style")})
    return row


def repair_tail(path: Path) -> None:
    """Cut a torn last line (a write interrupted by a kill) off a JSONL file."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


def run_config(k: int, sampling: Sampling, twin: str, shuffles: int, meta: dict[str, Any] | None,
               blind: bool = False, perturb: bool = False, answer_format: str = "r1") -> dict[str, Any]:
    """The settings config.json records (as JSON reads them back: tuples become lists); `meta["judge"]`
    ({"url", "model"} of the best-of-K judge, or None) is one of them."""
    cfg = {"judge": None, **(meta or {}), "k": k, "sampling": asdict(sampling), "twin": twin, "shuffles": shuffles,
           "blind": blind, "perturb": perturb, "answer_format": answer_format}
    cfg["sampling"]["stop"] = list(cfg["sampling"]["stop"])
    return cfg


def check_resumable(out: str | os.PathLike, config: dict[str, Any]) -> None:
    """Refuse to resume run `out` if its result-changing settings differ from `config`
    (K, sampling, twin, shuffles, blind, perturb, answer format; model, data and backend where both name them)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FovealError(f"--out {out} exists and is not a directory")
    path = out / "config.json"
    if not path.exists():
        return
    old = json.loads(path.read_text())
    keys = [*RESULT_KEYS, *(k for k in ("model", "data", "backend") if k in old and k in config)]
    diff = [f"{k}: run has {old.get(k, KEY_DEFAULTS.get(k))!r}, now {config[k]!r}" for k in keys
            if old.get(k, KEY_DEFAULTS.get(k)) != config[k]]
    if diff:
        raise FovealError(f"{out} holds an eval with other settings ({'; '.join(diff)}); "
                          f"use the same settings to resume it or another --out")


def evaluate(
    backend: Backend,
    samples: Sequence[Sample],
    k: int = 1,
    sampling: Sampling | None = None,
    twin: str = "image",
    out: str | os.PathLike | None = None,
    batch_size: int = 8,
    shuffles: int = 0,
    meta: dict[str, Any] | None = None,
    progress: bool = True,
    blind: bool = False,
    perturb: bool = False,
    answer_format: str = "r1",
    judge: Backend | None = None,
) -> EvalResult:
    """Evaluate `backend` on `samples`: K completions each, scored by `foveal.rewards`.

    twin: "image" (each sample as given), "text" (its text twin) or "both" (each problem in
        both forms; the modality gap compares them).
    shuffles: for choice problems, also evaluate this many option-shuffled copies
        (see `foveal.eval.shuffle`); they feed the option-consistency metric only.
    blind: also evaluate each image-form problem with its images blanked (rows of form "blind":
        blind accuracy and the "needs the image" gap).
    perturb: also evaluate each gym problem's one-knob twin (`foveal.eval.perturb`; rows with
        `perturb_of`: accuracy on originals vs twins, right on both).
    out: run directory (created; resumed if it already holds samples.jsonl); None keeps
        everything in memory.
    answer_format: where completions state their answer: `r1` (`<think>…</think><answer>…</answer>`)
        or `answer` (`<answer>…</answer>` alone, an answer-only model); prompt the backend to match.
    meta: extra fields for config.json (the CLI records model path, data path, backend).
    progress: show a rich progress bar (samples/s, running accuracy); pass False inside
        another rich live display, e.g. a training loop's.
    judge: a backend (e.g. `OpenAIBackend` on any served model) that rates each completion for
        best-of-K judge reranking (`foveal.eval.bestof`); record which in `meta["judge"]`.
    Returns an `EvalResult`; metrics.json is written even when the run is interrupted.
    """
    if k < 1:
        raise FovealError(f"k must be at least 1, got {k}")
    if batch_size < 1:
        raise FovealError(f"batch_size must be at least 1, got {batch_size}")
    if answer_format not in RUN_FORMATS:
        raise FovealError(f"answer_format must be one of {', '.join(RUN_FORMATS)}, got {answer_format!r}")
    sampling = sampling or Sampling()
    if k > 1 and sampling.temperature == 0:
        raise FovealError(f"k={k} completions at temperature 0 (greedy) would all be one and the same: "
                          f"sample with temperature > 0, or use k=1")
    items = expand(samples, twin, shuffles, sampling.seed, blind=blind, perturb=perturb)
    config = {**run_config(k, sampling, twin, shuffles, meta, blind, perturb, answer_format), "batch_size": batch_size,
              "n_problems": len(items)}
    rows: list[dict[str, Any]] = []
    jsonl = None
    if out is not None:
        out = Path(out)
        check_resumable(out, config)
        out.mkdir(parents=True, exist_ok=True)
        jsonl = out / "samples.jsonl"
        repair_tail(jsonl)
        wanted = {s.id for s in items}
        rows = [r for r in read_jsonl(jsonl) if r["id"] in wanted]
        prev = out / "config.json"
        started = None
        if prev.exists():
            started = json.loads(prev.read_text()).get("started")
        atomic_write_json(out / "config.json", {**config, **provenance(),
                                                "started": started or time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    done = {r["id"] for r in rows}
    todo = [s for s in items if s.id not in done]
    try:
        run_batches(backend, todo, rows, k, sampling, batch_size, jsonl, progress, len(items), answer_format, judge)
    finally:
        metrics = M.summarize(rows)
        if out is not None:
            atomic_write_json(out / "metrics.json", metrics)
    return EvalResult(metrics=metrics, rows=rows, out=out)


def run_batches(backend: Backend, todo: list[Sample], rows: list[dict[str, Any]], k: int, sampling: Sampling,
                batch_size: int, jsonl: Path | None, progress: bool, total: int, answer_format: str = "r1",
                judge: Backend | None = None) -> None:
    """Generate, score (and with `judge`, rate) and append `todo` batch by batch, showing samples/s and
    running accuracy."""
    from foveal.eval.bestof import judge_groups

    acc = [0.0, 0]  # running sum of per-problem accuracy, and count (shuffled, blind, perturbed copies left out)

    def add(rs: list[dict[str, Any]]) -> str:
        for r in rs:
            if not M.is_extra(r):
                acc[0] += M.accuracy_of(r)
                acc[1] += 1
        return f"{acc[0] / acc[1]:.1%}" if acc[1] else "-"

    t0, n0 = time.perf_counter(), 0
    with progress_bar("{task.fields[rate]} samples/s", "acc {task.fields[acc]}", enabled=progress) as bar:
        task = bar.add_task("eval", total=total, completed=total - len(todo), rate="-", acc=add(rows))
        for i in range(0, len(todo), batch_size):
            batch = todo[i:i + batch_size]
            groups = backend.generate(batch, n=k, sampling=sampling)
            if len(groups) != len(batch):
                raise RuntimeError(f"backend returned {len(groups)} groups for {len(batch)} prompts")
            new = [score_group(s, g, answer_format) for s, g in zip(batch, groups, strict=True)]
            if judge is not None:
                for row, ratings in zip(new, judge_groups(judge, batch, groups), strict=True):
                    row["judge"] = ratings
            if jsonl is not None:
                append_jsonl(jsonl, new)
            rows.extend(new)
            n0 += len(new)
            bar.update(task, advance=len(new), rate=f"{n0 / (time.perf_counter() - t0):.2f}", acc=add(new))
