"""foveal agrees with math-verify on a public corpus of real model outputs (raw format, math).

The corpus (tests/fixtures/math_verify_corpus/, from huggingface/Math-Verify's regression
tests, Apache-2.0; provenance in its README) holds (gold, prediction) pairs and
math-verify's own verdict on each when called as its documentation says. foveal's `raw`
format with answer type `math` must reach the same verdict on at least 98% of them.
"""

from __future__ import annotations

import json
from pathlib import Path

from foveal.rewards import BadGoldError, limits, score

CORPUS = Path(__file__).parent / "fixtures" / "math_verify_corpus" / "cases.jsonl"
AGREEMENT = 0.98


def _rows() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _foveal(row: dict) -> bool:
    try:
        return score(row["pred"], row["gold"], "math", answer_format="raw", timeout=5.0) == 1.0
    except BadGoldError:  # math-verify parses nothing from this gold: it says "wrong" to everything
        return False


def test_the_corpus_is_the_committed_public_one():
    rows = _rows()
    assert len(rows) >= 200
    assert {r["source"].split("::")[0] for r in rows} >= {
        "tests/test_numina_cases.py",
        "tests/test_open_thoughts.py",
    }
    assert 0.05 < sum(not r["math_verify"] for r in rows) / len(rows) < 0.5  # right and wrong pairs both


def test_agreement_with_math_verify_on_real_outputs():
    limits.POOL.warm(1)
    rows = _rows()
    disagree = [
        (r["source"], r["gold"][:60], r["pred"][-80:], r["math_verify"])
        for r in rows
        if _foveal(r) != r["math_verify"]
    ]
    agreement = 1 - len(disagree) / len(rows)
    assert agreement >= AGREEMENT, f"agreement {agreement:.4f} on {len(rows)}; disagreements: {disagree}"
