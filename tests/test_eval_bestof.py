"""Best-of-K at evaluation: the pick, the metric, and the judge path against a real `foveal serve`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from foveal import tasks
from foveal.eval.bestof import best_of_score, judge_messages, mean_logprob, parse_rating, pick
from foveal.eval.metrics import core


def test_pick_takes_the_largest_value_first_on_ties_and_skips_missing():
    assert pick([0.1, 0.7, 0.7, None]) == 1
    assert pick([None, -3.0, -1.0]) == 2
    assert pick([None, None]) is None
    assert pick([]) is None


def test_best_of_score_falls_back_to_the_first_completion_without_values():
    row = {"scores": [0.0, 1.0, 0.0], "mean_logprob": [-2.0, -0.5, -1.0], "judge": [None, None, None]}
    assert best_of_score(row, "logprob") == 1.0
    assert best_of_score(row, "judge") == 0.0  # no rating: the first completion, a random draw
    assert best_of_score({"scores": [1.0]}, "judge") is None  # run without a judge


def test_parse_rating_and_mean_logprob():
    assert parse_rating("8") == 0.8
    assert parse_rating("<think>seems right, 3 checks</think> <answer>10</answer>") == 1.0
    assert parse_rating("I would say 7/10.") == 0.7
    assert parse_rating("12 or 0.5") is None  # neither an integer 0-10 standing alone
    assert parse_rating("no idea") is None
    assert mean_logprob([-1.0, -2.0, -3.0]) == -2.0
    assert mean_logprob(None) is None and mean_logprob([]) is None


def row(pid, scores, lp=None, judge=None):
    r = {"id": pid, "task": "t", "level": 1, "form": "image", "scores": scores, "formats": [True] * len(scores),
         "n_tokens": [5] * len(scores), "maj_score": scores[0]}
    if lp is not None:
        r["mean_logprob"] = lp
    if judge is not None:
        r["judge"] = judge
    return r


def test_core_reports_best_of_k_per_reranker_between_accuracy_and_pass_at_k():
    rows = [row("a", [0.0, 1.0], lp=[-2.0, -1.0], judge=[0.2, 0.9]),   # both pick the right one
            row("b", [1.0, 0.0], lp=[-2.0, -1.0], judge=[0.9, None]),  # logprob picks wrong, judge right
            row("c", [0.0, 0.0], lp=[-1.0, -2.0], judge=[None, None])]  # nothing right to pick
    m = core(rows)
    assert m["best_of@k"] == {"logprob": pytest.approx(1 / 3), "judge": pytest.approx(2 / 3)}
    assert m["accuracy"] <= m["best_of@k"]["judge"] <= m["pass@k"]["2"]
    without_judge = core([*rows[:2], row("c", [0.0, 0.0], lp=[-1.0, -2.0])])
    assert set(without_judge["best_of@k"]) == {"logprob"}  # a reranker some rows lack is not reported
    assert core([row("a", [1.0], lp=[-1.0])])["best_of@k"] == {}  # K = 1: nothing to choose


def test_judge_sees_the_problem_and_one_completion_never_the_gold_answer():
    sample = tasks.get("count").generate(0, 1)
    msgs = judge_messages(sample, "<think>I count them</think><answer>5</answer>")
    assert msgs == judge_messages(replace(sample, answer="999", solution="x"), "<think>I count them</think><answer>5</answer>")
    user = msgs[1]["content"]
    assert sum(p["type"] == "image_url" for p in user) == len(sample.images) == 1
    assert "<answer>5</answer>" in user[-1]["text"]


def test_eval_with_a_judge_served_by_foveal_serve(tmp_path):
    """The judge path for real: the tiny VLM behind `foveal serve`'s app on localhost rates each of
    K completions; rows carry ratings, metrics carry best-of-K for logprob and judge."""
    from foveal.eval import evaluate
    from foveal.models import build_tiny_vlm, load_policy
    from foveal.rollout import Sampling, get_backend
    from foveal.rollout.openai import OpenAIBackend
    from foveal.serve import create_app, running

    build_tiny_vlm(tmp_path / "tiny", text_layers=2, vision_depth=1)
    policy = load_policy(tmp_path / "tiny", device="cpu")
    app = create_app(policy, "judge")
    hits: list[str] = []

    @app.middleware("http")
    async def count(request, call_next):
        hits.append(request.url.path)
        return await call_next(request)

    samples = [tasks.get("count").generate(s, 1) for s in (0, 1)]
    with running(app) as url, OpenAIBackend(url, model="judge") as judge:
        result = evaluate(get_backend("hf", policy=policy), samples, k=2, out=tmp_path / "run",
                          sampling=Sampling(temperature=1.0, max_new_tokens=6, seed=0), progress=False,
                          judge=judge, meta={"judge": {"url": url, "model": "judge"}})
    assert len(hits) == 4  # one judge request per completion
    for r in result.rows:
        assert len(r["judge"]) == 2 and all(v is None or 0 <= v <= 1 for v in r["judge"])
        assert len(r["mean_logprob"]) == 2 and all(v < 0 for v in r["mean_logprob"])
    best = result.metrics["overall"]["best_of@k"]
    assert set(best) == {"logprob", "judge"}
    assert best["judge"] == pytest.approx(sum(best_of_score(r, "judge") >= 0.5 for r in result.rows) / 2)
    from foveal.eval import build_report

    html = build_report([tmp_path / "run"], tmp_path / "report.html").read_text()
    assert "best-of-K (judge)</th>" in html and "best-of-K (logprob)</th>" in html
