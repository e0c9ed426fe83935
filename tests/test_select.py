"""foveal select: the statistics (hand values), the --keep language (hand and property tests against
Python's own semantics), and whole runs with the real hf backend on the tiny VLM: the filtered
dataset, resuming after a torn stats file, re-filtering without generating, the CLI."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foveal import tasks
from foveal.errors import FovealError
from foveal.io import read_jsonl
from foveal.rollout.base import Completion, Group, Sampling
from foveal.select import STAT_NAMES, Keep, select
from foveal.select.run import DEFAULT_REWARDS, problem_row
from foveal.select.stats import blind_stats, pass_stats, reward_stats

FAST = Sampling(temperature=1.0, max_new_tokens=8, stop=("</answer>",), seed=5)


# -- the statistics -------------------------------------------------------------------------------

def test_pass_reward_and_blind_stats_by_hand():
    assert pass_stats([False, False, True, True]) == {"pass_rate": 0.5, "n_correct": 2, "first_correct": 3}
    assert pass_stats([True]) == {"pass_rate": 1.0, "n_correct": 1, "first_correct": 1}
    assert pass_stats([False] * 4)["first_correct"] == 5  # never solved ranks after every solved one
    assert reward_stats([1.5, 0.5, 0.0, 0.0]) == {"reward_mean": 0.5, "reward_var": (1 + 0 + 0.25 + 0.25) / 4}
    assert blind_stats([True, False]) == {"blind_pass_rate": 0.5, "blind_solvable": True}
    assert blind_stats([True, False, False]) == {"blind_pass_rate": pytest.approx(1 / 3), "blind_solvable": False}
    with pytest.raises(ValueError):
        pass_stats([])


def r1(answer: str) -> Completion:
    return Completion(text=f"<think>I count them.</think><answer>{answer}</answer>", token_ids=[1] * 9)


def test_problem_row_scores_each_completion_against_the_gold_answer():
    from foveal.rewards import combine

    s = tasks.get("count").generate(seed=3, level=1)
    wrong = str(int(s.answer) + 1)
    g = Group(prompt_id=s.id, completions=[r1(wrong), Completion(text=s.answer), r1(s.answer), r1(s.answer)])
    blind = Group(prompt_id=s.id, completions=[r1(s.answer), r1(wrong), r1(wrong), r1(wrong)])
    row = problem_row(s, g, blind, combine(DEFAULT_REWARDS))
    # the bare answer has no tags: wrong and unformatted; rewards are 0.5, 0, 1.5, 1.5
    assert (row["pass_rate"], row["n_correct"], row["first_correct"]) == (0.5, 2, 3)
    assert row["reward_mean"] == pytest.approx(0.875)
    assert row["reward_var"] == pytest.approx(((0.5 - 0.875) ** 2 + 0.875 ** 2 + 2 * 0.625 ** 2) / 4)
    assert (row["blind_pass_rate"], row["blind_solvable"]) == (0.25, False)
    assert row["answers"] == [wrong, None, s.answer, s.answer]
    text = s.as_text()  # nothing to blank: its blind statistics are its own
    row = problem_row(text, g, g, combine(DEFAULT_REWARDS))
    assert (row["blind_pass_rate"], row["blind_solvable"]) == (0.5, True)


# -- the --keep language ----------------------------------------------------------------------------

def test_keep_rules_by_hand():
    def keep(rule, **stats):
        return Keep.parse(rule, STAT_NAMES)(stats)

    assert keep("0.1 <= pass_rate <= 0.7", pass_rate=0.5)
    assert not keep("0.1 <= pass_rate <= 0.7", pass_rate=0.75)
    assert not keep("0.1 <= pass_rate <= 0.7", pass_rate=0.0)
    assert keep("not blind_solvable", blind_solvable=False)
    assert not keep("0.1 <= pass_rate and not blind_solvable", pass_rate=0.5, blind_solvable=True)
    assert keep("pass_rate > 0.9 or first_correct >= 3 and level == 2", pass_rate=0.0, first_correct=3, level=2)
    assert not keep("(pass_rate > 0.9 or first_correct >= 3) and level == 2", pass_rate=1.0, first_correct=1, level=1)
    assert keep("reward_var > -1e-3", reward_var=0.0)
    assert keep("blind_solvable == false", blind_solvable=False)
    assert keep("n_correct", n_correct=2) and not keep("n_correct", n_correct=0)
    assert not keep("blind_pass_rate < 0.5", pass_rate=0.2)  # not measured (no --blind): the comparison is false
    assert Keep.parse("0.1 <= pass_rate and not blind_solvable and pass_rate < 1", STAT_NAMES).stats == \
        ("pass_rate", "blind_solvable")


@pytest.mark.parametrize("rule,needle", [
    ("pass_rat > 0.1", "unknown statistic 'pass_rat' (did you mean pass_rate, blind_pass_rate?); statistics: pass_rate, n_correct, first_correct"),
    ("task == 3", "unknown statistic 'task'"),
    ("pass_rate >", "expected a number or a statistic at the end"),
    ("pass_rate > 0.1 and", "expected a number or a statistic at the end"),
    ("(pass_rate > 0.1", "expected ')' at the end"),
    ("pass_rate > 0.1)", "unexpected ')' at column 16"),
    ("pass_rate = 0.5", "unexpected character '=' at column 11"),
    ("__import__ > 0", "unknown statistic '__import__'"),
    ("__import__('os').system('true')", "unexpected character \"'\" at column 12"),
    ("pass_rate.real > 0", "unexpected character '.' at column 10"),
    ("pass_rate > -level", "'-' at column 13 must start a number"),
    ("", "--keep is empty"),
    ("and", "expected a number or a statistic, got 'and' at column 1"),
])
def test_bad_keep_rules_are_one_clear_error(rule, needle):
    with pytest.raises(FovealError) as e:
        Keep.parse(rule, STAT_NAMES)
    assert needle in str(e.value)


NUMS = ("pass_rate", "first_correct", "reward_var", "level")
CMPS = ("<", "<=", ">", ">=", "==", "!=")
operands = st.one_of(st.sampled_from(NUMS), st.sampled_from(["0", "1", "0.5", "2", "-1", "3.0"]))
comparisons = st.builds(lambda a, rest: " ".join([a, *[f"{op} {b}" for op, b in rest]]),
                        operands, st.lists(st.tuples(st.sampled_from(CMPS), operands), min_size=1, max_size=3))
atoms = st.one_of(comparisons, st.sampled_from(["blind_solvable", "true", "false"]))
rules = st.recursive(atoms, lambda inner: st.one_of(
    st.builds(lambda a: f"not {a}", inner), st.builds(lambda a: f"({a})", inner),
    st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["and", "or"]), inner)), max_leaves=8)
stat_values = st.fixed_dictionaries({"pass_rate": st.sampled_from([0.0, 0.25, 0.5, 1.0]),
                                     "first_correct": st.integers(1, 5), "reward_var": st.sampled_from([0.0, 0.5, 2.0]),
                                     "level": st.integers(1, 3), "blind_solvable": st.booleans()})


@settings(max_examples=60)
@given(rule=rules, stats=stat_values)
def test_keep_agrees_with_python_semantics(rule, stats):
    """The oracle is Python's own evaluation of the same text (test-generated text only: the rule
    language is a subset of Python's expression syntax with true/false for True/False)."""
    python = rule.replace("true", "True").replace("false", "False")
    expected = bool(eval(python, {"__builtins__": {}}, dict(stats)))  # noqa: S307 - our own generated text
    assert Keep.parse(rule, STAT_NAMES)(stats) is expected


# -- whole runs on the tiny VLM ----------------------------------------------------------------------

class Counting:
    """The real backend, counting the prompts it is asked to answer."""

    def __init__(self, inner):
        self.inner, self.prompts = inner, 0

    def generate(self, prompts, n, sampling):
        self.prompts += len(prompts)
        return self.inner.generate(prompts, n, sampling)


@pytest.fixture(scope="module")
def backend(tiny):
    from foveal.models import load_policy
    from foveal.rollout import get_backend

    return get_backend("hf", policy=load_policy(str(tiny)), batch_size=16)


def problems():
    """Six image problems at levels 1 and 2, and one text-form problem."""
    return [tasks.get("count").generate(seed=i, level=1 + i % 2, split="train") for i in range(3)] + \
           [tasks.get("spatial").generate(seed=i, level=1 + i % 2, split="train") for i in range(3)] + \
           [tasks.get("count").generate(seed=9, level=1, form="text", split="train")]


def run(backend, out, keep="level <= 1", **kw):
    args = {"k": 2, "sampling": FAST, "keep": Keep.parse(keep, STAT_NAMES), "blind": True, "batch_size": 2,
            "meta": {"model": "tiny-small"}, "fmt": "jsonl", "manifest": {"source": "test"}, "progress": False, **kw}
    return select(backend, problems(), out, **args)


def test_select_measures_every_problem_and_writes_the_kept_ones(backend, tmp_path):
    from foveal.tasks.export import load_samples, read_manifest

    res = run(backend, tmp_path / "sel")
    rows = read_jsonl(tmp_path / "sel" / "stats.jsonl")
    assert [r["id"] for r in rows] == [s.id for s in problems()] == [r["id"] for r in res.rows]
    for r in rows:
        assert r["pass_rate"] == r["n_correct"] / 2 and (r["first_correct"] == 3) == (r["n_correct"] == 0)
        assert len(r["answers"]) == 2 and set(r) >= set(STAT_NAMES)
        assert r["blind_answers"] is None if r["form"] == "text" else len(r["blind_answers"]) == 2
    kept = [s for s in problems() if s.level == 1]
    assert res.kept == [s.id for s in kept]
    back = load_samples(tmp_path / "sel" / "data")
    assert [s.id for s in back] == res.kept
    assert all(a.images[0].tobytes() == b.images[0].tobytes() for a, b in zip(back, kept, strict=True) if a.images)
    manifest = read_manifest(tmp_path / "sel" / "data")
    assert manifest["selection"] == {"from": None, "model": "tiny-small", "keep": "level <= 1", "k": 2,
                                     "kept": len(kept), "of": 7} and manifest["source"] == "test"
    summary = json.loads((tmp_path / "sel" / "summary.json").read_text())
    assert summary["n"] == 7 and summary["kept"] == len(kept)
    assert summary["by_task"] == {"count": {"n": 4, "kept": 3}, "spatial": {"n": 3, "kept": 2}}
    # batch 0 (two problems and their blanked copies) drawn again with its seed gives the same answers
    from foveal.eval.harness import blind_copy
    from foveal.rewards import extract_answer

    batch = problems()[:2]
    groups = backend.generate(batch + [blind_copy(p) for p in batch], n=2,
                              sampling=replace(FAST, seed=FAST.seed * 1_000_003 + 0))
    assert [r["answers"] for r in rows[:2]] == [[extract_answer(c.text) for c in g.completions] for g in groups[:2]]
    assert [r["blind_answers"] for r in rows[:2]] == [[extract_answer(c.text) for c in g.completions]
                                                      for g in groups[2:]]


def tear(path: Path, keep_rows: int) -> None:
    """What a kill leaves: the first `keep_rows` rows and half of the next one."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:keep_rows]) + lines[keep_rows][: len(lines[keep_rows]) // 2])


@pytest.mark.parametrize("done", [2, 3])  # at a batch boundary, and inside a batch
def test_a_killed_run_resumes_to_the_same_output(backend, tmp_path, done):
    from foveal.tasks.export import load_samples, read_manifest

    run(backend, tmp_path / "whole")
    shutil.copytree(tmp_path / "whole", tmp_path / "cut")
    shutil.rmtree(tmp_path / "cut" / "data")
    (tmp_path / "cut" / "summary.json").unlink()
    tear(tmp_path / "cut" / "stats.jsonl", done)
    counting = Counting(backend)
    run(counting, tmp_path / "cut")
    # batches 1-3 ([2, 3], [4, 5], [6]) are drawn again, a half-done one whole: 5 problems + 4 blanked copies
    assert counting.prompts == 5 + 4
    for name in ("stats.jsonl", "summary.json"):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    a, b = load_samples(tmp_path / "whole" / "data"), load_samples(tmp_path / "cut" / "data")
    assert [s.to_record(with_images=False) for s in a] == [s.to_record(with_images=False) for s in b]
    assert read_manifest(tmp_path / "whole" / "data") == read_manifest(tmp_path / "cut" / "data")


def test_a_new_rule_on_a_finished_run_generates_nothing(backend, tmp_path):
    from foveal.tasks.export import load_samples

    run(backend, tmp_path / "sel")
    counting = Counting(backend)
    res = run(counting, tmp_path / "sel", keep="level >= 2 and first_correct >= 1")
    assert counting.prompts == 0
    assert [s.id for s in load_samples(tmp_path / "sel" / "data")] == res.kept == \
        [s.id for s in problems() if s.level == 2]
    res = run(counting, tmp_path / "sel", keep="level >= 2", blind=False)  # a blind run serves a rule without
    assert counting.prompts == 0 and res.kept == [s.id for s in problems() if s.level == 2]
    with pytest.raises(FovealError, match="k: run has 2, now 3"):
        run(backend, tmp_path / "sel", k=3)
    with pytest.raises(FovealError, match="keeps none of the 7 problems"):
        run(counting, tmp_path / "sel", keep="level > 5")
    assert counting.prompts == 0 and (tmp_path / "sel" / "data").is_dir()  # the last good dataset stays


def test_bad_input_is_refused_before_anything_is_written(backend, tmp_path):
    with pytest.raises(FovealError, match="reads blind_solvable, which needs --blind"):
        run(backend, tmp_path / "a", keep="not blind_solvable", blind=False)
    with pytest.raises(FovealError, match="temperature 0"):
        run(backend, tmp_path / "a", sampling=Sampling(temperature=0))
    with pytest.raises(FovealError, match="unknown reward 'acc'"):
        run(backend, tmp_path / "a", rewards={"acc": 1.0})
    with pytest.raises(FovealError, match="occurs twice"):
        select(backend, problems() * 2, tmp_path / "a", k=1, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_select_command_on_gym_problems(tiny, tmp_path, capsys):
    from foveal.cli import main
    from foveal.tasks.export import load_samples

    out = tmp_path / "sel"
    argv = ["select", "--model", str(tiny), "--tasks", "count", "--n", "3", "--levels", "1-2", "--k", "2",
            "--max-new-tokens", "6", "--keep", "first_correct > 2 and not blind_solvable", "--out", str(out),
            "--format", "jsonl"]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0, capsys.readouterr().err
    said = capsys.readouterr().out
    rows = read_jsonl(out / "stats.jsonl")
    kept = [r["id"] for r in rows if r["first_correct"] > 2 and not r["blind_solvable"]]
    assert len(rows) == 3 and f"kept {len(kept)} of 3 problems" in said
    assert [s.id for s in load_samples(out / "data")] == kept
    assert json.loads((out / "config.json").read_text())["blind"] is True  # implied by the rule
    with pytest.raises(SystemExit) as e:
        main([*argv[:-2], "--format", "jsonl", "--keep", "pass_rat < 1"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "unknown statistic 'pass_rat' (did you mean pass_rate" in err


def test_select_through_the_openai_backend_against_foveal_serve(backend, tmp_path):
    """Any rollout backend: the same run over HTTP (`foveal serve`'s app on 127.0.0.1, the tiny VLM
    behind it); a torn stats file resumes from the response cache without a request."""
    from foveal.rollout.openai import OpenAIBackend
    from foveal.serve import create_app, running

    app = create_app(backend.policy, "tiny")
    hits: list[str] = []

    @app.middleware("http")
    async def count(request, call_next):
        hits.append(request.url.path)
        return await call_next(request)

    with running(app) as url:
        api = OpenAIBackend(url, model="tiny", cache_dir=tmp_path / "cache")
        res = run(api, tmp_path / "sel", meta={"model": "tiny", "backend": "openai"}, blind=False)
        assert len(hits) == 7  # one request per problem, K completions each
        assert [r["id"] for r in res.rows] == [s.id for s in problems()]
        assert all(len(r["answers"]) == 2 and 0 <= r["pass_rate"] <= 1 for r in res.rows)
        whole = (tmp_path / "sel" / "stats.jsonl").read_bytes()
        tear(tmp_path / "sel" / "stats.jsonl", 3)
        run(api, tmp_path / "sel", meta={"model": "tiny", "backend": "openai"}, blind=False)
        assert len(hits) == 7 and (tmp_path / "sel" / "stats.jsonl").read_bytes() == whole


def test_select_asks_a_trained_model_the_way_it_trained(tiny, tmp_path, capsys):
    """A model saved by `foveal train` (its run's config.yaml beside it) is prompted with that run's system
    prompt, here none, as `foveal eval` does; config.json records it, and a run made with another prompt
    is not resumed. A model without a run gets the R1 system prompt."""
    import shutil

    from foveal.cli import main
    from foveal.config import config_from_dict, dump_config
    from foveal.prompts import R1_SYSTEM_PROMPT

    run_dir = tmp_path / "run"
    shutil.copytree(tiny, run_dir / "sft")
    cfg = config_from_dict({"model": {"path": str(tiny), "system_prompt": None},
                            "data": {"gym": {"tasks": ["count"]}}, "sft": {"steps": 1}})
    (run_dir / "config.yaml").write_text(dump_config(cfg))
    argv = ["--tasks", "count", "--n", "2", "--k", "2", "--max-new-tokens", "4", "--format", "jsonl"]
    for model, out, want in ((run_dir / "sft", tmp_path / "a", None), (tiny, tmp_path / "b", R1_SYSTEM_PROMPT)):
        with pytest.raises(SystemExit) as e:
            main(["select", "--model", str(model), "--out", str(out), *argv])
        assert e.value.code == 0, capsys.readouterr().err
        assert json.loads((out / "config.json").read_text())["system_prompt"] == want
    assert "no system prompt, as trained" in capsys.readouterr().out
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    del config["system_prompt"]  # as written before the key existed: the R1 prompt was the only one
    (tmp_path / "b" / "config.json").write_text(json.dumps(config))
    with pytest.raises(SystemExit) as e:
        main(["select", "--model", str(tiny), "--out", str(tmp_path / "b"), *argv])
    assert e.value.code == 0, capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # another model asked another way into the same run: refused, naming both
        main(["select", "--model", str(run_dir / "sft"), "--out", str(tmp_path / "b"), *argv])
    assert e.value.code == 2 and "system_prompt: run has" in capsys.readouterr().err
