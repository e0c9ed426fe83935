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
    think_answer: list[bool | None] per completion: does the reasoning's own conclusion match the
                                   final answer (None: undetermined); absent in older runs
and, on the extra rows that probe a model rather than count towards accuracy (`is_extra`), the
id of the row whose problem they ask again:
    shuffle_of: str                with the options shuffled (`foveal.eval.shuffle`); such rows
                                   and their originals also carry maj_option, the option *text*
                                   the majority answer picked
    blind_of: str                  with every image replaced by a white one (form "blind")
    perturb_of: str                as a twin with one knob changed (`foveal.eval.perturb`);
                                   `knob` says which

A completion counts as correct when its score is at least `CORRECT` (scores are 0/1 from
`foveal.rewards.score`; the threshold only matters for graded scores).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from foveal.eval.bestof import RERANKERS, best_of_score

CORRECT = 0.5
Z95 = 1.959963984540054  # two-sided 95% normal quantile


EXTRA_KEYS = ("shuffle_of", "blind_of", "perturb_of")


def is_extra(row: dict[str, Any]) -> bool:
    """True for a row that probes a model (a shuffled, blind or perturbed copy of another row's
    problem): such rows have their own metrics and never count towards accuracy."""
    return any(row.get(k) for k in EXTRA_KEYS)


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


def equivalent(sample) -> Callable[[str, str], bool]:
    """Answer equivalence for `sample`'s answers (votes, clusters, a conclusion vs its answer): equal
    text after strip and lower-case, or equal under the problem's answer type (1/2 = 0.5)."""
    from foveal.rewards import verify

    def same(a: str, b: str) -> bool:
        if a.strip().lower() == b.strip().lower():
            return True
        try:
            return verify(a, b, sample.answer_type, choices=sample.choices)
        except ValueError:  # b is not a well-formed answer of this type: only equal text matches
            return False

    return same


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


def think_answer_rates(flags: Iterable[bool | None]) -> tuple[float | None, float | None]:
    """(consistency, determined) of per-completion think–answer flags (True: the reasoning's own
    conclusion matches the final answer; False: it does not; None: undetermined):

        consistency = #True / (#True + #False)      (None when no completion is determined)
        determined  = (#True + #False) / #flags     (None when there are no flags)
    """
    flags = list(flags)
    n_true, n_false = sum(f is True for f in flags), sum(f is False for f in flags)
    det = n_true + n_false
    return (n_true / det if det else None), (det / len(flags) if flags else None)


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
    best_of@k: {reranker: mean over units of "the completion the reranker picks is correct"} for each
        gold-free reranker of `foveal.eval.bestof` whose values every row carries (logprob, judge);
        only when K > 1. pass@K is the oracle best-of-K above them, accuracy a random pick below.
    format_rate: fraction of completions in strict R1 format (over all rows).
    mean_tokens: mean completion length in tokens (completions whose backend gave no token
        ids, recorded as None, are left out).
    agreement: among questions with K ≥ 2, the fraction whose K answers all agree (was named
        `consistency`, still written under that name too; deprecated, to be removed).
    think_answer_consistency, think_answer_determined: `think_answer_rates` over every
        completion of the rows (pooled, not per unit: it describes completions, not problems).
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
    think, determined = think_answer_rates(f for r in rows for f in r.get("think_answer") or ())
    return {
        "n": n,
        "n_distinct": m,
        "k": kmin,
        "accuracy": acc,
        "accuracy_ci95": [lo, hi],
        "pass@k": passk,
        "maj@k": over_units(lambda r: float(is_correct(r.get("maj_score")))),
        "best_of@k": {name: over_units(lambda r, name=name: float(is_correct(best_of_score(r, name))))
                      for name, fld in RERANKERS.items() if all(r.get(fld) is not None for r in rows)}
        if kmin > 1 else {},
        "format_rate": mean(bool(f) for r in rows for f in r["formats"]),
        "mean_tokens": mean(t for r in rows for t in r["n_tokens"] if t is not None),
        "agreement": mean(agrees) if agrees else None,
        "consistency": mean(agrees) if agrees else None,  # deprecated alias of agreement
        "think_answer_consistency": think,
        "think_answer_determined": determined,
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


def accuracy_of(row: dict[str, Any]) -> float:
    """The fraction of a row's completions that are correct."""
    return mean(map(is_correct, row["scores"])) or 0.0


def paired_rates(pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]], z: float = Z95) -> dict[str, Any]:
    """Accuracy on the `a` and `b` rows of (a, b) pairs of one problem, over distinct problems.

    Pairs whose `a` rows are one unit (`unit_of`: the same problem drawn twice) are averaged into
    one, as in `core`. Over the m units, with p_a, p_b the accuracies of a unit's two rows:

        a, b   = mean(p_a), mean(p_b)
        diff   = a − b,  95% interval  diff ± z · sd(p_a − p_b) / sqrt(m)   (sd with m − 1)
        both   = mean(p_a · p_b)        (K = 1: right on both; K > 1: the chance that a random
                                         completion of each is right)
        a_only = mean(p_a · (1 − p_b))  (right on a, wrong on b)
    """
    units: dict[Any, list[tuple[float, float]]] = defaultdict(list)
    for a, b in pairs:
        units[unit_of(a)].append((accuracy_of(a), accuracy_of(b)))
    vals = [(mean(x for x, _ in us) or 0.0, mean(y for _, y in us) or 0.0) for us in units.values()]
    m = len(vals)
    if m == 0:
        return {"n": 0, "n_distinct": 0}
    d = [x - y for x, y in vals]
    diff = sum(d) / m
    half = z * math.sqrt(sum((x - diff) ** 2 for x in d) / (m - 1)) / math.sqrt(m) if m > 1 else 0.0
    return {"n": len(pairs), "n_distinct": m, "a": mean(x for x, _ in vals), "b": mean(y for _, y in vals),
            "diff": diff, "diff_ci95": [diff - half, diff + half], "both": mean(x * y for x, y in vals),
            "a_only": mean(x * (1 - y) for x, y in vals)}


def pairs_of(rows: Sequence[dict[str, Any]], key: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(original, copy) for every row whose `key` (blind_of, perturb_of) names a non-extra row."""
    originals = {r["id"]: r for r in rows if not is_extra(r)}
    return [(originals[r[key]], r) for r in rows if r.get(key) and r[key] in originals]


def by_task(pairs: list[tuple[dict[str, Any], dict[str, Any]]], fn: Callable[[list], dict[str, Any]]) -> dict[str, Any]:
    if not pairs:
        return {}
    return {"overall": fn(pairs), "by_task": {t: fn(ps) for t, ps in group_by(pairs, lambda p: p[0]["task"]).items()}}


def blind_rates(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """`paired_rates` of (image row, blind row) pairs, named: `image` and `blind` accuracy on the
    same problems, and `needs_image` = image − blind with its 95% interval (RAP's measure of how
    much of the accuracy the picture carries; about 0 means the problems are answered without
    looking, e.g. from priors or the question's wording)."""
    r = paired_rates(pairs)
    return {"n": r["n"], "n_distinct": r["n_distinct"], "image": r["a"], "blind": r["b"],
            "needs_image": r["diff"], "needs_image_ci95": r["diff_ci95"]}


def perturb_rates(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """`paired_rates` of (original, perturbed twin) pairs, named: `original` and `perturbed`
    accuracy, `drop` = original − perturbed with its 95% interval, `right_on_both`,
    `consistency_ratio` = right_on_both / original (of what is solved, the share still solved when
    perturbed: "On Memorization"'s CR) and `original_only` = right on the original, wrong on its
    twin = original · (1 − consistency_ratio), that paper's memorisation score."""
    r = paired_rates(pairs)
    return {"n": r["n"], "n_distinct": r["n_distinct"], "original": r["a"], "perturbed": r["b"],
            "drop": r["diff"], "drop_ci95": r["diff_ci95"], "right_on_both": r["both"],
            "consistency_ratio": r["both"] / r["a"] if r["a"] else None, "original_only": r["a_only"]}


def paired_difference(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], z: float = Z95) -> dict[str, Any]:
    """Accuracy of run `b` minus run `a` on the problems both evaluated (matched by id), with a
    95% interval from the paired differences d_i = acc_b(i) − acc_a(i):

        delta = mean(d),  half-width = z · sd(d) / sqrt(n)   (sd with n − 1)

    Pairing removes the between-problem variance, so this interval is much tighter than
    comparing two independent Wilson intervals. `significant` when it excludes 0.
    """
    acc_a = {r["id"]: accuracy_of(r) for r in a if not is_extra(r)}
    d = [accuracy_of(r) - acc_a[r["id"]] for r in b if not is_extra(r) and r["id"] in acc_a]
    n = len(d)
    if n == 0:
        return {"n": 0}
    delta = sum(d) / n
    sd = math.sqrt(sum((x - delta) ** 2 for x in d) / (n - 1)) if n > 1 else 0.0
    half = z * sd / math.sqrt(n)
    return {"n": n, "delta": delta, "ci95": [delta - half, delta + half],
            "significant": n > 1 and (delta - half > 0 or delta + half < 0)}


def by_variant(rows: Sequence[dict[str, Any]], ks: Sequence[int] | None = None) -> dict[str, Any]:
    """`core` by phrasing, by style and by task × query, over the gym rows that record their variant
    (`{"phrasing": {name: core}, "style": {...}, "query": {task: {query: core}}}`; empty when none do):
    how accuracy moves with the wording and the look of a problem, and what each kind of question scores."""
    rows = [r for r in rows if r.get("style") is not None]
    if not rows:
        return {}
    return {
        "phrasing": {p: core(g, ks) for p, g in group_by(rows, lambda r: r["phrasing"]).items()},
        "style": {st: core(g, ks) for st, g in group_by(rows, lambda r: r["style"]).items()},
        "query": {t: {q: core(h, ks) for q, h in group_by(g, lambda r: r["query"]).items()}
                  for t, g in group_by(rows, lambda r: r["task"]).items()},
    }


def summarize(rows: Sequence[dict[str, Any]], ks: Sequence[int] | None = None) -> dict[str, Any]:
    """All metrics of an eval run: `core` overall and broken down by task, level, form, skill
    tag, task × level, task × form and variant (`by_variant`), plus the modality gap, option-shuffle consistency, blind
    accuracy (`blind`: `blind_rates`) and the perturbation test (`perturbed`: `perturb_rates`),
    each of the last two overall and by task.

    Extra rows (shuffled, blind and perturbed copies, `is_extra`) are left out of every accuracy
    figure except their own section, so the headline numbers describe each question once per form.
    """
    base = [r for r in rows if not is_extra(r)]
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
        "by_variant": by_variant(base, ks),
        "modality_gap": modality_gap(base),
        "shuffled": option_consistency(rows),
        "blind": by_task(pairs_of(rows, "blind_of"), blind_rates),
        "perturbed": by_task(pairs_of(rows, "perturb_of"), perturb_rates),
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
