"""scripts/claims.py: the README's quickstart claims, derived from seeds and checked against a run."""

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("claims", Path(__file__).parents[1] / "scripts" / "claims.py")
claims = importlib.util.module_from_spec(spec)
spec.loader.exec_module(claims)


def summary(sft: list[float], grpo: list[float], n: int = 200) -> dict:
    def cell(v):
        return {"per_seed": v, "mean": sum(v) / len(v), "min": min(v), "max": max(v), "n_distinct": n}

    d = [g - s for g, s in zip(grpo, sft, strict=True)]
    return {"seeds": list(range(len(sft))), "split": "test",
            "accuracy": {"sft": {"t": {"image": cell(sft)}}, "grpo": {"t": {"image": cell(grpo)}}},
            "grpo_minus_sft": {"t": {"image": {"delta": sum(d) / len(d), "ci95": [min(d), max(d)]}}}}


def test_the_margin_is_the_larger_of_test_noise_and_seed_spread():
    wide = claims.derive(summary([0.2, 0.6, 0.4, 0.5, 0.3], [0.5] * 5))["ranges"][0]
    sd = claims.spread([0.2, 0.6, 0.4, 0.5, 0.3])
    assert sd == pytest.approx(0.158114, abs=1e-6) and wide["margin"] == pytest.approx(sd)
    assert wide["lo"] == pytest.approx(0.2 - sd) and wide["hi"] == pytest.approx(0.6 + sd)
    tight = claims.derive(summary([0.40, 0.41, 0.40, 0.41, 0.40], [0.5] * 5))["ranges"][0]
    assert tight["margin"] == pytest.approx(claims.half_width(0.404, 200))  # ~6.8 points > the 0.5-point spread


def test_a_direction_only_where_the_paired_lower_bound_clears_the_margin_and_check_reports_misses():
    out = claims.derive(summary([0.40, 0.41, 0.40, 0.41, 0.40], [0.60, 0.62, 0.61, 0.60, 0.62]))
    assert [d["claim"] for d in out["directions"]] == ["grpo >= sft"]
    assert not claims.derive(summary([0.40] * 5, [0.44] * 5))["directions"]  # +4 < the ~6.8-point margin
    run = summary([0.405], [0.61])
    assert claims.check(run, out) == []
    run["accuracy"]["grpo"]["t"]["image"]["mean"] = 0.30
    assert len(claims.check(run, out)) == 2  # outside GRPO's range, and GRPO < SFT
    with pytest.raises(SystemExit, match="needs at least 5"):
        claims.derive(summary([0.4] * 3, [0.5] * 3))
