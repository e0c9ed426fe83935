"""How many distinct problems a (family, level, form) holds, and whether its splits stay apart.

`problem_space` draws n samples and counts what a learner would see as distinct: decoded
pixels + prompt + answer for image and mixed forms (`image_id`), twin + answer for the text form
(`text_id`), and distinct problem keys. Since small levels repeat, the total is estimated
from the repeat counts with the bias-corrected Chao1 estimator (Chao, 1987):

    N̂ = S_obs + f1 (f1 − 1) / (2 (f2 + 1))

S_obs the distinct ids seen, f1 those seen once, f2 those seen twice. It is a lower bound
for uneven draw probabilities, and with no repeats at all (f2 = 0, f1 = n) it only says the
space is much larger than n (≈ n²/2).

`leak_check` is the content split's test: draws of the train split against draws of the test
split; `leaked` counts test draws whose form id occurs among the training draws, `ambiguous`
the training ids shared by several problem keys (the key is finer than what a learner sees,
which is how leaks arise).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from foveal.split import image_id, split_of, text_id


def form_id(sample) -> str:
    return text_id(sample) if sample.form == "text" else image_id(sample)


def chao1(counts: Counter) -> float:
    """Bias-corrected Chao1 estimate of the number of classes from their observed frequencies."""
    f = Counter(counts.values())
    return len(counts) + f[1] * (f[1] - 1) / (2 * (f[2] + 1))


def problem_space(task, level: int, form: str = "image", n: int = 2000, seed: int = 0,
                  split: str | None = None, variant=None) -> dict[str, Any]:
    """Distinct problems among n draws of `task` at `level` in `form` (seeds seed..seed+n-1), of one
    `variant` (a `foveal.tasks.variant.VariantSpec`: e.g. one query) when given."""
    ids: Counter = Counter()
    keys: Counter = Counter()
    pinned = variant.kwargs() if variant is not None else {}
    for s in range(seed, seed + n):
        x = task.generate(s, level, form, split=split, **pinned)
        ids[form_id(x)] += 1
        keys[x.problem_key] += 1
    f = Counter(ids.values())
    return {
        "task": task.name, "level": level, "form": form, "split": split, "draws": n,
        "variant": variant.as_dict() if variant is not None else None,
        "distinct": len(ids), "distinct_keys": len(keys), "singletons": f[1], "doubletons": f[2],
        "distinct_estimate": round(chao1(ids)),
        "keys_by_split": dict(Counter(split_of(k) for k in keys)),
    }


def leak_check(task, level: int, form: str, n_train: int = 10_000, n_test: int = 1_000) -> dict[str, Any]:
    """Test-split draws whose form id also occurs among `n_train` train-split draws (should be 0)."""
    train: dict[str, set[str]] = defaultdict(set)
    for s in range(n_train):
        x = task.generate(s, level, form, split="train")
        train[form_id(x)].add(x.problem_key)
    test = [form_id(task.generate(s, level, form, split="test")) for s in range(n_test)]
    return {
        "task": task.name, "level": level, "form": form, "train_distinct": len(train),
        "test_distinct": len(set(test)), "leaked": sum(i in train for i in test),
        "ambiguous": sum(len(v) > 1 for v in train.values()),
    }
