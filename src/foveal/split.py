"""Content splits: every problem lies in exactly one of train / val / test, whatever seed drew it.

A problem is what fixes both its picture and its text twin. Each gym family names it through
`Task.problem_params(sample)` (by default: the generator's `meta`, the question and the answer);
the *problem key* is a hash of those parameters, and the split is a fixed hash bucket of the key:

    key    = "{task}:" + sha256(canonical JSON of the parameters)[:24]
    bucket = int(sha256("foveal-split-v1/" + key)) mod 100
    split  = train if bucket < 80, val if bucket < 90, else test

so the same problem lands in the same split whichever seed, level or form produced it, and the
assignment never changes for the life of the project (changing SPLIT_SALT would reshuffle every
published number). Per-form ids check the split empirically: `image_id` hashes what an image-form
learner sees (prompt, decoded pixels, answer) and `text_id` what a text-form learner sees (twin,
answer); no test problem's ids may occur among training draws (tests/test_split.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

SPLITS = ("train", "val", "test")
SPLIT_SALT = "foveal-split-v1/"
BOUNDS = (80, 90)  # buckets [0, 80) train, [80, 90) val, [90, 100) test


def canonical(params: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, floats as repr; tuples as lists."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def problem_key(task: str, params: Any) -> str:
    """The identity of a problem of `task` given the parameters that fix it."""
    return f"{task}:{hashlib.sha256(canonical(params).encode()).hexdigest()[:24]}"


def split_of(key: str) -> str:
    """'train', 'val' or 'test' for a problem key (80 / 10 / 10 by hash bucket, fixed)."""
    bucket = int.from_bytes(hashlib.sha256((SPLIT_SALT + key).encode()).digest()[:8], "little") % 100
    return "train" if bucket < BOUNDS[0] else "val" if bucket < BOUNDS[1] else "test"


def check_split(split: str | None, what: str = "--split") -> str | None:
    from foveal.errors import FovealError

    if split is not None and split not in SPLITS:
        raise FovealError(f"{what}: unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    return split


def image_id(sample) -> str:
    """What an image-form learner sees: the prompt, every image's decoded pixels, and the answer."""
    h = hashlib.sha256()
    h.update(sample.prompt.encode())
    h.update(b"\0" + sample.answer.encode())
    for im in sample.images:
        h.update(f"\0{im.mode}{im.size}".encode())
        h.update(im.tobytes())
    return h.hexdigest()[:24]


def text_id(sample) -> str:
    """What a text-form learner sees: the text twin and the answer."""
    return hashlib.sha256(f"{sample.text_twin}\0{sample.answer}".encode()).hexdigest()[:24]
