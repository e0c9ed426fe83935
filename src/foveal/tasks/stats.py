"""How many distinct problems a (family, level, form) holds, and whether its splits stay apart.

`problem_space` draws n samples and counts what a learner would see as distinct: decoded
pixels + prompt + answer for image and mixed forms (`image_id`), twin + answer for the text form
(`text_id`), and distinct problem keys. Since small levels repeat, the total is estimated
from the repeat counts with the bias-corrected Chao1 estimator (Chao, 1987):

    N̂ = S_obs + f1 (f1 − 1) / (2 (f2 + 1))

S_obs the distinct ids seen, f1 those seen once, f2 those seen twice. It is a lower bound
for uneven draw probabilities, and with no repeats at all (f2 = 0, f1 = n) it only says the
space is much larger than n (≈ n²/2).

`leak_check` is the content split's test: one pass over a level's draws, each put in its split by
its problem key exactly as `generate(split=...)` does, and for each form `leaked` counts test
draws whose form id occurs among the train draws, `ambiguous` the training ids shared by several
problem keys (the key is finer than what a learner sees, which is how leaks arise).
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


def leak_check(task, level: int, n_train: int = 10_000, forms: tuple[str, ...] = ("image", "text", "mixed")
               ) -> list[dict[str, Any]]:
    """Test draws whose picture, twin or mixed form also occurs among `n_train` train draws (should be
    0), one result per form of `forms` the task has.

    Draws seeds 0, 1, 2, ... of `level` (the plain draw of each seed, every variant as drawn) until
    `n_train` of them are train problems, at most 4 × n_train draws; the test draws met on the way
    (about n_train / 8) are checked. A train-split sample from `generate(seed, split="train")` is
    such a draw (the first train draw of its seed), so these are the problems training sees. One
    drawn sample gives every id: its `image_id`, the `text_id` of its twin, the `image_id` of its
    mixed form (`Task.mixed_of`).
    """
    forms = [f for f in forms if f in task.forms]
    train: dict[str, dict[str, set[str]]] = {f: defaultdict(set) for f in forms}
    test: dict[str, list[str]] = {f: [] for f in forms}
    drawn = n = 0
    while n < n_train and drawn < 4 * n_train:
        x = task.generate(drawn, level, "text" if forms == ["text"] else "image")
        drawn += 1
        split = split_of(x.problem_key)
        n += split == "train"
        for f in forms if split != "val" else ():
            i = text_id(x) if f == "text" else image_id(x if f == "image" else task.mixed_of(x))
            if split == "train":
                train[f][i].add(x.problem_key)
            else:
                test[f].append(i)
    return [{
        "task": task.name, "level": level, "form": f, "draws": drawn, "train_draws": n,
        "train_distinct": len(train[f]), "test_draws": len(test[f]), "test_distinct": len(set(test[f])),
        "leaked": sum(i in train[f] for i in test[f]), "ambiguous": sum(len(v) > 1 for v in train[f].values()),
    } for f in forms]
