"""Evaluation metrics: pure functions of scores, answers and eval rows.

Everything here is arithmetic on plain Python values; nothing loads a model or reads a
file. The harness (`foveal.eval.harness`) writes one row per evaluated sample to
`samples.jsonl`; `summarize(rows)` turns those rows into `metrics.json`.

A row is a dict with at least:
    id, task, level, form          which sample and how it was presented
    scores: list[float]            one per completion (1.0 right, 0.0 wrong)
    formats: list[bool]            strict R1 format compliance, one per completion
    n_tokens: list[int]            completion lengths in tokens
    maj_score: float | None        score of the majority-vote answer (None: no answer extracted)
    agree: bool | None             all K extracted answers equivalent (None when K < 2)
    base_id: str                   the id shared by a sample's forms (image / text twin)
    problem_key: str               the problem's identity (`foveal.split`); "" for external data
and, for option-shuffled copies of choice questions (see `foveal.eval.shuffle`):
    shuffle_of: str                the id of the unshuffled row
    maj_option: str | None         the option *text* the majority answer picked

A completion counts as correct when its score is at least `CORRECT` (scores are 0/1 from
`foveal.rewards.score`; the threshold only matters for graded scores).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

CORRECT = 0.5
Z95 = 1.959963984540054  # two-sided 95% normal quantile


def is_correct(score: float | None) -> bool:
    return score is not None and score >= CORRECT


def mean(xs: Iterable[float]) -> float | None:
    """Arithmetic mean, None for an empty input."""
    xs = list(xs)
    return sum(xs) / len(xs) if xs else None


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion p̂ = successes / n.

        centre = (p̂ + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) · sqrt(p̂(1-p̂)/n + z²/4n²)

    Unlike the normal interval it stays inside [0, 1] and is sensible at p̂ = 0 or 1.
    `successes` may be fractional (a mean over K samples per question, times n): the
    interval is then the approximation that treats each question as one trial.
    """
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1 - p) / n + z2 / (4 * n * n), 0.0))
    return (max(0.0, centre - half), min(1.0, centre + half))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al., 2021): the chance that at least one of k completions drawn
    without replacement from n, of which c are correct, is correct.

        pass@k = 1 - C(n-c, k) / C(n, k) = 1 - ∏_{i=n-c+1}^{n} (1 - k / i)

    The product form never builds large binomials, so it is exact in floating point for any n.
    """
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k: need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def answer_clusters(answers: Sequence[str | None], same: Callable[[str, str], bool] | None = None) -> list[list[int]]:
    """Group the indices of equivalent answers, in order of first appearance.

    Each answer joins the first cluster whose first member it is `same` as (default: equal
    after stripping and lower-casing); `None` (no answer extracted) joins no cluster.
    Passing `same=lambda a, b: verify(a, b, answer_type)` makes `1/2` and `0.5` one answer.
    """
    same = same or (lambda a, b: a.strip().lower() == b.strip().lower())
    clusters: list[list[int]] = []
    for i, a in enumerate(answers):
        if a is None:
            continue
        for cl in clusters:
            if same(a, answers[cl[0]]):
                cl.append(i)
                break
        else:
            clusters.append([i])
    return clusters


def majority_vote(answers: Sequence[str | None], same: Callable[[str, str], bool] | None = None) -> int | None:
    """Index of the answer chosen by majority vote (maj@k), or None if no answer was extracted.

    The largest cluster of equivalent answers wins; ties go to the cluster that appeared first.
    The returned index is that cluster's first member, whose score is the vote's score.
    """
    clusters = answer_clusters(answers, same)
    if not clusters:
        return None
    return max(clusters, key=len)[0]  # max keeps the first of equal-length clusters


def agreement(answers: Sequence[str | None], same: Callable[[str, str], bool] | None = None) -> bool | None:
    """True when all K answers are present and equivalent; None when K < 2 (undefined)."""
    if len(answers) < 2:
        return None
    if any(a is None for a in answers):
        return False
    return len(answer_clusters(answers, same)) == 1


def default_ks(k: int) -> list[int]:
    """The k values to report pass@k at for K completions: powers of two below K, and K."""
    ks = [1]
    while ks[-1] * 2 < k:
        ks.append(ks[-1] * 2)
    if k > 1:
        ks.append(k)
    return ks


def unit_of(row: dict[str, Any]) -> Any:
    """The distinct problem a row scores: (problem_key, form) when the row has a key, else its id.
    Rows of one unit (the same problem drawn by several seeds) count once, as their mean."""
    return (row["problem_key"], row["form"]) if row.get("problem_key") else row["id"]


def core(rows: Sequence[dict[str, Any]], ks: Sequence[int] | None = None) -> dict[str, Any]:
    """The headline metrics of a group of rows, over distinct problems.

    Rows that score the same problem in the same form (see `unit_of`) are collapsed into one
    unit whose value is their mean, so a problem drawn twice weighs as much as one drawn once
    and the interval counts distinct problems, not draws.

    accuracy: mean over units of the fraction of completions that are correct (= pass@1), with
        its 95% Wilson interval over the n_distinct units.
    pass@k: mean over units of the unbiased estimator, for each k ≤ min K.
    maj@k: mean over units of "the majority-vote answer is correct" (no answer counts as wrong).
    format_rate: fraction of completions in strict R1 format (over all rows).
    mean_tokens: mean completion length in tokens (completions whose backend gave no token
        ids, recorded as None, are left out).
    consistency: among questions with K ≥ 2, the fraction whose K answers all agree.
    n: rows scored; n_distinct: distinct units.
    """
    n = len(rows)
    if n == 0:
        return {"n": 0, "n_distinct": 0}
    units = group_by(rows, unit_of)
    m = len(units)

    def over_units(value: Callable[[dict[str, Any]], float]) -> float:
        return sum(sum(map(value, us)) / len(us) for us in units.values()) / m

    acc = over_units(lambda r: mean(is_correct(s) for s in r["scores"]) or 0.0)
    lo, hi = wilson_interval(acc * m, m)
    kmin = min(len(r["scores"]) for r in rows)
    ks = [k for k in (ks or default_ks(kmin)) if 1 <= k <= kmin]
    passk = {str(k): over_units(lambda r, k=k: pass_at_k(len(r["scores"]), sum(map(is_correct, r["scores"])), k))
             for k in ks}
    agrees = [r["agree"] for r in rows if r.get("agree") is not None]
    return {
        "n": n,
        "n_distinct": m,
        "k": kmin,
        "accuracy": acc,
        "accuracy_ci95": [lo, hi],
        "pass@k": passk,
        "maj@k": over_units(lambda r: float(is_correct(r.get("maj_score")))),
        "format_rate": mean(bool(f) for r in rows for f in r["formats"]),
        "mean_tokens": mean(t for r in rows for t in r["n_tokens"] if t is not None),
        "consistency": mean(agrees) if agrees else None,
    }


def group_by(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    try:
        return dict(sorted(groups.items()))
    except TypeError:  # keys of mixed types
        return dict(sorted(groups.items(), key=lambda kv: str(kv[0])))


def modality_gap(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Text-twin accuracy minus image accuracy: overall, per task and per (task, level).

    Only questions evaluated in both forms count (paired by `base_id`), so the gap compares
    the same problems. A positive gap means the model reasons better from words than from
    pixels: the perception bottleneck the T3 / Math-PUMA / RAP papers measure.
    """
    by_base = group_by(rows, lambda r: r.get("base_id", r["id"]))
    pairs = []
    for members in by_base.values():
        forms = {r["form"]: r for r in members}
        if "text" in forms and "image" in forms:
            pairs.append((forms["image"], forms["text"]))

    def gap(ps: list[tuple[dict, dict]]) -> dict[str, Any]:
        img = mean(mean(map(is_correct, i["scores"])) or 0.0 for i, _ in ps)
        txt = mean(mean(map(is_correct, t["scores"])) or 0.0 for _, t in ps)
        return {"n": len(ps), "image": img, "text": txt, "gap": txt - img}

    if not pairs:
        return {}
    by_task = group_by(pairs, lambda p: p[0]["task"])
    return {
        "overall": gap(pairs),
        "by_task": {t: gap(ps) for t, ps in by_task.items()},
        "by_task_level": {t: {str(lv): gap(q) for lv, q in group_by(ps, lambda p: p[0]["level"]).items()}
                          for t, ps in by_task.items()},
    }


def option_consistency(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Across option-shuffled copies of a choice question: the fraction of questions whose
    majority answer picks the same option *text* in the original and every copy (a missing
    answer counts as inconsistent), and the accuracy on the shuffled copies alone.
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.get("shuffle_of"):
            groups[r["shuffle_of"]].append(r)
    originals = {r["id"]: r for r in rows if r["id"] in groups}
    sets = [[originals[i], *copies] for i, copies in groups.items() if i in originals]
    if not sets:
        return {}
    same = [all(m.get("maj_option") is not None for m in s) and len({m["maj_option"] for m in s}) == 1
            for s in sets]
    copies = [r for c in groups.values() for r in c]
    return {
        "n": len(sets),
        "copies": len(copies),
        "option_consistency": sum(same) / len(sets),
        "shuffled_accuracy": mean(mean(map(is_correct, r["scores"])) or 0.0 for r in copies),
    }


def paired_difference(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], z: float = Z95) -> dict[str, Any]:
    """Accuracy of run `b` minus run `a` on the problems both evaluated (matched by id), with a
    95% interval from the paired differences d_i = acc_b(i) − acc_a(i):

        delta = mean(d),  half-width = z · sd(d) / sqrt(n)   (sd with n − 1)

    Pairing removes the between-problem variance, so this interval is much tighter than
    comparing two independent Wilson intervals. `significant` when it excludes 0.
    """
    acc_a = {r["id"]: mean(map(is_correct, r["scores"])) or 0.0 for r in a if not r.get("shuffle_of")}
    d = [(mean(map(is_correct, r["scores"])) or 0.0) - acc_a[r["id"]] for r in b
         if not r.get("shuffle_of") and r["id"] in acc_a]
    n = len(d)
    if n == 0:
        return {"n": 0}
    delta = sum(d) / n
    sd = math.sqrt(sum((x - delta) ** 2 for x in d) / (n - 1)) if n > 1 else 0.0
    half = z * sd / math.sqrt(n)
    return {"n": n, "delta": delta, "ci95": [delta - half, delta + half],
            "significant": n > 1 and (delta - half > 0 or delta + half < 0)}


def summarize(rows: Sequence[dict[str, Any]], ks: Sequence[int] | None = None) -> dict[str, Any]:
    """All metrics of an eval run: `core` overall and broken down by task, level, form, skill
    tag, task × level and task × form, plus the modality gap and option-shuffle consistency.

    Option-shuffled copies are left out of every accuracy figure except `shuffled`, so the
    headline numbers describe each question once per form.
    """
    base = [r for r in rows if not r.get("shuffle_of")]
    out = {
        "overall": core(base, ks),
        "by_task": {t: core(g, ks) for t, g in group_by(base, lambda r: r["task"]).items()},
        "by_level": {str(lv): core(g, ks) for lv, g in group_by(base, lambda r: r["level"]).items()},
        "by_form": {f: core(g, ks) for f, g in group_by(base, lambda r: r["form"]).items()},
        "by_tag": {t: core([r for r in base if t in (r.get("tags") or ())], ks)
                   for t in sorted({t for r in base for t in r.get("tags") or ()})},
        "by_task_level": {t: {str(lv): core(q, ks) for lv, q in group_by(g, lambda r: r["level"]).items()}
                          for t, g in group_by(base, lambda r: r["task"]).items()},
        "by_task_form": {t: {f: core(q, ks) for f, q in group_by(g, lambda r: r["form"]).items()}
                         for t, g in group_by(base, lambda r: r["task"]).items()},
        "modality_gap": modality_gap(base),
        "shuffled": option_consistency(rows),
    }
    return out


def seed_bootstrap(diffs: Sequence[Sequence[float]], n_boot: int = 4000, seed: int = 0,
                   level: float = 0.95) -> dict[str, Any]:
    """A paired difference over seeds and problems, with a two-level bootstrap interval.

    `diffs[s][i]` = value_b − value_a of problem i in seed s (each seed scores its own pair of
    runs on the same problems). The estimate is the mean over seeds of each seed's mean over
    problems; the interval resamples seeds with replacement and, inside each drawn seed, its
    problems with replacement (so both training randomness and the choice of problems widen
    it), and takes the (1 ± level)/2 percentiles of the B resampled estimates. With one seed it is
    the ordinary paired bootstrap over problems. `significant` when the interval excludes 0.
    """
    import numpy as np

    arrays = [np.asarray(d, dtype=float) for d in diffs if len(d)]
    if not arrays:
        return {"n_seeds": 0, "n_problems": 0}
    rng = np.random.default_rng(seed)
    est = float(np.mean([a.mean() for a in arrays]))
    boots = np.empty(n_boot)
    for b in range(n_boot):
        picks = rng.integers(0, len(arrays), len(arrays))
        boots[b] = np.mean([arrays[p][rng.integers(0, len(arrays[p]), len(arrays[p]))].mean() for p in picks])
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return {"delta": est, "ci95": [float(lo), float(hi)], "n_seeds": len(arrays),
            "n_problems": int(np.mean([len(a) for a in arrays])), "significant": bool(lo > 0 or hi < 0),
            "per_seed": [float(a.mean()) for a in arrays]}
