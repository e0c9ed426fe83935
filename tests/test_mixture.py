"""Mixtures: domains from the gym's skill tags and kinds, `data.gym.mixture` resolved to per-task
shares (hand and property tests), recorded in what a run writes, and the MoDoMoDo-style search
(Scheffé fit, leave-one-out, simplex argmax; the script end to end at a toy scale)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foveal import tasks
from foveal.config import config_from_dict, dump_config
from foveal.errors import FovealError
from foveal.experiment.mixture import (
    best_mixture,
    choose_degree,
    feasible_degrees,
    features,
    fit,
    loo_rmse,
    sample_mixtures,
    search_experiment,
    weights_matrix,
)
from foveal.tasks.domains import domains, kind_of, resolve_mixture, resolve_name

ROOT = Path(__file__).resolve().parents[1]


# -- domains and resolution ---------------------------------------------------------------------------

def test_domains_are_the_skill_tags_and_the_kinds():
    table = domains()
    for t in tasks.all_tasks():
        assert [d for d in table if d.startswith("kind:") and t.name in table[d]] == [f"kind:{kind_of(t)}"]
        assert {d for d in table if d.startswith("skill:") and t.name in table[d]} == {f"skill:{g}" for g in t.tags}
    assert {"kind:puzzles", "kind:math", "kind:video", "skill:counting", "skill:spatial"} <= set(table)
    assert "sudoku" in table["kind:puzzles"] and "count" in table["skill:counting"]


def test_names_resolve_to_a_task_or_exactly_one_domain():
    assert resolve_name("spatial") == "spatial"  # a family of that name wins
    assert resolve_name("skill:spatial") == "skill:spatial"
    assert resolve_name("counting") == "skill:counting" and resolve_name("puzzles") == "kind:puzzles"
    with pytest.raises(FovealError, match="'grounding' is ambiguous: write skill:grounding or kind:grounding"):
        resolve_name("grounding")
    with pytest.raises(FovealError, match="unknown task or domain 'charts' in the mixture \\(did you mean chart"):
        resolve_name("charts")


def test_resolve_mixture_by_hand():
    puzzles = domains()["kind:puzzles"]
    got = resolve_mixture({"puzzles": 2, "count": 1, "sudoku": 0})  # sudoku listed at 0: out of the domain
    assert set(got) == (set(puzzles) - {"sudoku"}) | {"count"}
    assert got["count"] == pytest.approx(1 / 3)
    assert all(got[t] == pytest.approx(2 / 3 / (len(puzzles) - 1)) for t in puzzles if t != "sudoku")
    counting = domains()["skill:counting"]
    got = resolve_mixture({"skill:counting": 1, "count": 1})  # count keeps its own weight, the rest share 1
    assert got["count"] == pytest.approx(0.5)
    assert all(got[t] == pytest.approx(0.5 / (len(counting) - 1)) for t in counting if t != "count")
    # overlapping domains: a task in both gets a share of each
    both = set(domains()["skill:counting"]) & set(domains()["kind:math"])
    got = resolve_mixture({"counting": 1, "math": 1})
    t = sorted(both)[0]
    assert got[t] == pytest.approx((1 / len(counting) + 1 / len(domains()["kind:math"])) / 2)
    assert resolve_mixture({"count": 3, "spatial": 1}) == {"count": 0.75, "spatial": 0.25}


@pytest.mark.parametrize("mixture,needle", [
    ({}, "non-empty mapping"),
    ({"count": -1}, "weight of 'count' must be a finite number >= 0, got -1"),
    ({"count": float("nan")}, "finite number >= 0"),
    ({"count": "a lot"}, "finite number >= 0"),
    ({"count": 0}, "the weights are all 0"),
    ({"counting": 1, "skill:counting": 2}, "lists 'skill:counting' twice (as 'skill:counting')"),
    ({"skill:grounding": 1, "gui_click": 1, "locate": 1}, "every task of domain 'skill:grounding' is listed"),
    ({"cout": 1}, "did you mean count"),
])
def test_bad_mixtures_are_one_clear_error(mixture, needle):
    with pytest.raises(FovealError) as e:
        resolve_mixture(mixture)
    assert needle in str(e.value)


NAMES = ["count", "spatial", "sudoku", "counting", "puzzles", "kind:math", "skill:logic", "clock"]


@settings(max_examples=60)
@given(st.dictionaries(st.sampled_from(NAMES), st.floats(0.01, 100), min_size=1), st.floats(0.1, 10))
def test_resolved_shares_are_a_distribution_over_known_tasks_and_scale_free(mixture, scale):
    if {"counting"} <= set(mixture) and "skill:counting" in mixture:
        return
    got = resolve_mixture(mixture)
    assert sum(got.values()) == pytest.approx(1.0) and all(v > 0 for v in got.values())
    assert set(got) <= set(tasks.names())
    for name in mixture:  # every task listed by name keeps its relative weight to every other one
        if name in tasks.names():
            for other in mixture:
                if other in tasks.names():
                    assert got[name] / got[other] == pytest.approx(mixture[name] / mixture[other])
    scaled = resolve_mixture({k: v * scale for k, v in mixture.items()})
    assert scaled.keys() == got.keys() and all(scaled[t] == pytest.approx(got[t]) for t in got)


# -- in recipes ---------------------------------------------------------------------------------------

def recipe(**gym):
    return {"data": {"gym": gym}, "sft": {"steps": 1}}


def test_a_recipe_mixture_becomes_task_weights_and_is_recorded():
    import yaml

    from foveal.train.data import PromptSource

    cfg = config_from_dict(recipe(mixture={"count": 1, "spatial": 3}))
    assert cfg.data.gym.tasks == {"count": 0.25, "spatial": 0.75}
    again = config_from_dict(yaml.safe_load(dump_config(cfg)))  # a recorded config has both fields: they agree
    assert again.data.gym == cfg.data.gym
    source = PromptSource(cfg.data, seed=0)
    assert source.describe()["gym"]["mixture"] == {"count": 1.0, "spatial": 3.0}  # what meta.json records
    assert {s.task for s in source.draw(12)} == {"count", "spatial"}
    assert "mixture" not in PromptSource(config_from_dict(recipe(tasks=["count"])).data).describe()["gym"]
    over = config_from_dict(recipe(tasks=["count"]), overrides=["data.gym.tasks=null", "data.gym.mixture={puzzles: 1}"])
    assert set(over.data.gym.tasks) == set(domains()["kind:puzzles"])


@pytest.mark.parametrize("gym,needle", [
    ({"tasks": ["count"], "mixture": {"spatial": 1}}, "data.gym: give data.gym.tasks or data.gym.mixture, not both"),
    ({"mixture": {"charts": 1}}, "data.gym: unknown task or domain 'charts' in the mixture (did you mean chart"),
    ({"mixture": {"video": 1}, "levels": [9]}, "has no level(s) [9]"),
])
def test_bad_recipe_mixtures_name_the_field(gym, needle):
    with pytest.raises(FovealError) as e:
        config_from_dict(recipe(**gym), "r.yaml")
    assert needle in str(e.value) and str(e.value).startswith("r.yaml:")


# -- the search's math ---------------------------------------------------------------------------------

def test_sampled_mixtures_are_seeded_points_of_the_simplex():
    a = sample_mixtures(["x", "y", "z"], k=6, seed=1)
    assert a == sample_mixtures(["x", "y", "z"], k=6, seed=1) != sample_mixtures(["x", "y", "z"], k=6, seed=2)
    assert all(set(m) == {"x", "y", "z"} and min(m.values()) >= 1e-3 and abs(sum(m.values()) - 1) < 5e-3 for m in a)
    with pytest.raises(FovealError, match=">= 2 distinct components"):
        sample_mixtures(["x"], k=2)


def test_scheffe_features_by_hand():
    w = np.array([[0.2, 0.3, 0.5]])
    assert features(w, 1).tolist() == [[0.2, 0.3, 0.5]]
    assert np.allclose(features(w, 2), [[0.2, 0.3, 0.5, 0.06, 0.1, 0.15]])


def test_fit_recovers_a_quadratic_and_finds_its_best_mixture():
    comps = ["a", "b", "c"]
    w = weights_matrix(sample_mixtures(comps, k=12, seed=0), comps)
    true = np.array([0.2, 0.4, 0.1, 1.2, 0.0, -0.3])  # ŷ = .2a + .4b + .1c + 1.2ab − .3bc
    y = features(w, 2) @ true
    model = fit(w, y, comps, degree=2, ridge=1e-10)
    assert np.allclose(model.coef, true, atol=1e-5)
    assert loo_rmse(w, y, comps, 2, ridge=1e-10) < 1e-5 < loo_rmse(w, y, comps, 1)  # a line cannot bend
    best, value = best_mixture(model, seed=0)
    # the optimum of .2a + .4b + 1.2ab − .3bc on the simplex lies on the a–b edge: d/da (.2a + .4(1−a) + 1.2a(1−a)) = 0
    a_star = (0.2 - 0.4 + 1.2) / 2.4
    assert best["c"] < 0.02 and best["a"] == pytest.approx(a_star, abs=0.03)
    assert value == pytest.approx(0.2 * a_star + 0.4 * (1 - a_star) + 1.2 * a_star * (1 - a_star), abs=1e-2)
    assert choose_degree(w, y, comps) == 2  # a line cannot bend: the quadratic predicts left-out runs better
    assert choose_degree(w, features(w, 1) @ np.array([0.3, 0.1, 0.5]), comps) == 1  # a tie goes to the simpler
    assert feasible_degrees(7, 3) == [1] and feasible_degrees(8, 3) == [1, 2] and feasible_degrees(3, 3) == []
    # within the trained range: the best point stays inside the observed weights' box
    inside = weights_matrix([{"a": 0.1, "b": 0.6, "c": 0.3}, {"a": 0.3, "b": 0.3, "c": 0.4}], comps)
    best, _ = best_mixture(model, seed=0, within=inside)
    assert 0.1 - 1e-3 <= best["a"] <= 0.3 + 1e-3 and 0.3 - 1e-3 <= best["b"] <= 0.6 + 1e-3


def test_the_search_experiment_is_a_valid_experiment_file(tmp_path):
    import yaml

    from foveal.experiment.spec import load_experiment

    mixes = {"uniform": {"count": 1.0, "counting": 1.0}, "m0": {"count": 0.9, "counting": 0.1}}
    spec = search_experiment(str(ROOT / "recipes" / "quickstart.yaml"), mixes,
                             {"split": "val", "tasks": ["count", "block_count"], "levels": [1], "n": 2},
                             common=["data.gym.query=null", "data.gym.levels=[1]", "rl.steps=0"])
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(spec))
    exp = load_experiment(path)
    assert set(exp.configs) == {"uniform", "m0"}
    assert exp.configs["m0"].data.gym.tasks["count"] == pytest.approx(0.9)  # listed: its own weight
    assert exp.configs["uniform"].data.gym.mixture == {"count": 1.0, "counting": 1.0}


@pytest.mark.long  # ~15 s on a free core, ~50 s on a loaded one: three tiny trainings and evaluations
def test_mixture_search_script_end_to_end(tmp_path, monkeypatch):
    """K = 2 sampled mixtures and the uniform one, 1 SFT step each, 2 val problems per task: the
    numbers mean nothing; the plumbing (experiment, fit, choice, search.json) is real."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import mixture_search

    out = tmp_path / "search"
    report = mixture_search.main([
        "--recipe", str(ROOT / "recipes" / "quickstart.yaml"), "--components", "count,fraction_shaded", "--k", "2",
        "--set", "data.gym.query=null", "--set", "data.gym.levels=[1]", "--set", "rl.steps=0", "--set", "sft.steps=1",
        "--set", "sft.batch_size=2", "--set", "sft.micro_batch_size=2", "--set", "sampling.max_new_tokens=4",
        "--set", "model.tiny_seed=0", "--eval-n", "2", "--out", str(out)])
    saved = json.loads((out / "search.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert list(saved["mixtures"]) == ["uniform", "mix0", "mix1"] and saved["predictor"]["degree"] == 1
    assert saved["choice"].startswith(("argmax of the predictor within", "best observed"))
    assert set(saved["val_accuracy"]) == {"uniform", "mix0", "mix1"}
    assert set(saved["chosen"]) == {"count", "fraction_shaded"} and sum(saved["chosen"].values()) == pytest.approx(1, abs=2e-3)
    assert (out / "exp" / "results.json").is_file() and len(list((out / "exp" / "cells").iterdir())) == 3
    assert sys.modules["mixture_search"] is mixture_search
