"""`foveal experiment`: experiments/smoke.yaml run for real (tiny model, real files), resumed, killed, refused."""

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from foveal.errors import FovealError
from foveal.experiment import run_experiment
from foveal.io import atomic_write_text, read_jsonl
from foveal.split import split_of

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke.yaml"
FOVEAL = [sys.executable, "-m", "foveal.cli"]


def comparable(results: dict) -> dict:
    """results.json without what differs between invocations (timings)."""
    return {k: v for k, v in results.items() if k not in ("seconds", "cells", "report")}


def files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "smoke"
    return out, run_experiment(SMOKE, out, progress=False)


def test_smoke_experiment_writes_results_with_paired_differences(smoke):
    out, results = smoke
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(results))
    assert results["seeds"] == [0, 1] and results["reference"] == "sft" and results["split"] == "test"
    assert [(r["arm"], r["stage"]) for r in results["rows"]] == [("sft", "sft"), ("grpo", "rl")]
    # every cell scored the same distinct test problems, in both forms
    keys = []
    for arm, stage in (("sft", "sft"), ("grpo", "rl")):
        for seed in (0, 1):
            rows = read_jsonl(out / "cells" / arm / f"seed-{seed}" / f"eval-{stage}" / "samples.jsonl")
            keys.append(sorted((r["problem_key"], r["form"]) for r in rows))
    assert all(k == keys[0] for k in keys) and len(keys[0]) == 6 * 2
    assert {split_of(k) for k, _ in keys[0]} == {"test"}
    # the paired difference, recomputed from the eval rows: mean over seeds of the mean over problems
    def acc(arm, stage, seed):
        rows = read_jsonl(out / "cells" / arm / f"seed-{seed}" / f"eval-{stage}" / "samples.jsonl")
        return {(r["problem_key"], r["form"]): float(r["scores"][0] >= 0.5) for r in rows}

    per_seed = []
    for seed in (0, 1):
        a, b = acc("sft", "sft", seed), acc("grpo", "rl", seed)
        per_seed.append(statistics.fmean(b[u] - a[u] for u in a))
    d = results["rows"][1]["accuracy"]["overall"]["minus_reference"]
    assert d["delta"] == pytest.approx(statistics.fmean(per_seed)) and d["n_seeds"] == 2 and d["n_problems"] == 12
    assert d["ci95"][0] <= d["delta"] <= d["ci95"][1]
    assert "minus_reference" not in results["rows"][0]["accuracy"]["overall"]
    grpo = results["rows"][1]["accuracy"]["overall"]
    assert grpo["min"] <= grpo["mean"] <= grpo["max"] and len(grpo["per_seed"]) == 2
    assert set(results["rows"][1]["accuracy"]["by_task_form"]["count"]) == {"image", "text"}
    html = (out / "report.html").read_text()
    assert "Experiment by task and form" in html and "grpo (seed 0)" in html


def test_a_seed_sets_init_and_data_stream_for_every_arm(smoke):
    out, _ = smoke
    def sft_log(arm, seed):
        return [r for r in read_jsonl(out / "cells" / arm / f"seed-{seed}" / "train" / "train.jsonl")
                if r["stage"] == "sft"]

    # same seed: the SFT-only arm and the SFT stage of the GRPO arm are the same run (a paired design)
    assert [r["loss"] for r in sft_log("sft", 0)] == [r["loss"] for r in sft_log("grpo", 0)]
    # another seed: another init and problem stream
    assert [r["loss"] for r in sft_log("sft", 0)] != [r["loss"] for r in sft_log("sft", 1)]
    assert not (out / "cells" / "sft" / "seed-0" / "train" / "rl").exists()
    assert (out / "cells" / "grpo" / "seed-0" / "train" / "rl").is_dir()


def test_a_second_invocation_skips_finished_cells(smoke):
    out, results = smoke
    before = files(out / "cells")
    t = time.perf_counter()
    again = run_experiment(SMOKE, out, progress=False)
    assert files(out / "cells") == before  # nothing trained or evaluated again
    assert comparable(again) == comparable(results)
    assert time.perf_counter() - t < results["seconds"]


def test_a_changed_arm_refuses_to_reuse_its_cells(smoke, tmp_path):
    out, _ = smoke
    spec = yaml.safe_load(SMOKE.read_text())
    spec["arms"]["grpo"]["set"] = ["rl.group_size=4"]
    for arm in spec["arms"].values():
        arm["recipe"] = str(ROOT / "recipes" / "quickstart.yaml")
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(spec))
    before = files(out)
    with pytest.raises(FovealError, match="arm 'grpo' seed 0"):
        run_experiment(changed, out, progress=False)
    assert files(out) == before


def bad(spec: dict, path: list, value) -> dict:
    spec = json.loads(json.dumps(spec))
    node = spec
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return spec


BAD = [
    (["arms", "sft", "recipe"], "../recipes/nope.yaml", "arms.sft: recipe '../recipes/nope.yaml' not found"),
    (["arms", "sft", "set"], ["rl.nope=1"], "arms.sft: .*rl.nope: unknown field"),
    (["arms", "sft", "stages"], ["rl"], "arms.sft.stages: 'rl' is not trained"),
    (["arms", "sft", "stages"], ["pref"], "arms.sft.stages: 'pref' is not trained"),
    (["arms", "sft", "colour"], "red", "arms.sft.colour: unknown field"),
    (["arms"], {}, "arms"),
    (["seeds"], 0, "seeds"),
    (["seeds"], [1, 1], "seeds"),
    (["reference"], "rl", "reference: 'rl' is not an arm"),
    (["eval", "split"], "train", "eval.split"),
    (["eval", "tasks"], ["count", "nope"], "eval: .*nope"),
    (["eval", "tasks"], ["fifteen_puzzle"], "eval: task 'fifteen_puzzle' .* too few distinct problems"),
    (["eval", "levels"], [99], "eval: .*level"),
    (["eval", "n"], 1, "eval.n"),
    (["eval", "k"], 4, "eval: .*temperature"),
    (["eval", "forms"], ["mixed"], "eval.forms"),
    (["metrics"], ["pass@k"], "pass@k needs eval.k > 1"),
    (["metrics"], ["pass@8"], "metrics: pass@8 needs at least 8 completions per problem, eval.k is 1"),
    (["metrics"], ["pass@two"], "metrics: unknown metric 'pass@two'"),
    (["metrics"], ["accuracy", "accuracy"], "metrics: lists a metric twice"),
    (["metrics"], ["blind"], "metrics: blind needs eval.blind: true"),
    (["reference"], "*/sft", r"reference: '\*/sft': arm\(s\) grpo do not evaluate stage 'sft'"),
    (["eval", "max_new_tokens"], 0, "eval.max_new_tokens"),
    (["reference"], KeyError, "reference: Field required"),
    (["arms", "grpo", "start"], "nope", r"arms.grpo.start: 'nope' is not another arm \(arms: sft\)"),
    (["arms", "grpo", "start"], "grpo", r"arms.grpo.start: 'grpo' is not another arm"),
    (["arms", "grpo", "start"], "sft/rl", r"arms.grpo.start: 'sft/rl': arm 'sft' trains sft, not 'rl'"),
    (["arms", "sft", "set"], ["pref.steps=1", "pref.generate.k=2", "pref.loss.args.beta=0"],
     r"arms.sft: pref.loss.args: dpo: beta must be > 0"),
]


@pytest.mark.parametrize("path,value,needle", BAD, ids=[".".join(p) + "=" + str(v) for p, v, _ in BAD])
def test_a_bad_file_is_refused_before_anything_is_written(path, value, needle, tmp_path):
    f = tmp_path / "exp" / "bad.yaml"
    f.parent.mkdir()
    f.write_text(yaml.safe_dump(bad(yaml.safe_load(SMOKE.read_text()), path, value)))
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")  # ../recipes/quickstart.yaml, as in experiments/
    with pytest.raises(FovealError, match=needle) as e:
        run_experiment(f, tmp_path / "out", progress=False)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "out").exists()


def test_the_command_refuses_bad_input_in_one_line(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "x.txt").write_text("mine")
    f = tmp_path / "e.yaml"
    f.write_text("arms: [unclosed\n")
    for argv, needle in (([str(f), "--out", str(tmp_path / "o")], "not valid YAML"),
                         ([str(SMOKE), "--out", str(tmp_path / "notes")], "not an experiment directory"),
                         ([str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o")], "no such file")):
        r = subprocess.run(FOVEAL + ["experiment", *argv], capture_output=True, text=True)
        assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "o").exists() and os.listdir(tmp_path / "notes") == ["x.txt"]


def test_the_repository_experiments_load(tmp_path, monkeypatch):
    """Every file in experiments/ passes the whole check a run makes first (recipes, stages, reference,
    metrics, enough distinct problems of its split). A dataset an arm trains on (`data.dataset=DIR`,
    made by the commands in the file's comments) is stood in for by an empty folder of that name."""
    import re

    from foveal.experiment.spec import load_experiment

    files = sorted((ROOT / "experiments").glob("*.yaml"))
    monkeypatch.chdir(tmp_path)  # data.dataset paths are relative to where foveal runs
    for f in files:
        for folder in re.findall(r"data\.dataset=([^,\]\s]+)", f.read_text()):
            (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    assert len(files) >= 4
    for f in files:
        exp = load_experiment(f)
        assert exp.rows and set(exp.references) == set(exp.rows), f
        assert len(exp.samples) == exp.spec.eval.n * len(exp.spec.eval.tasks), f


def test_killed_then_resumed_matches_an_uninterrupted_run(smoke, tmp_path):
    """SIGKILL mid-run (the second cell half done), rerun: the results equal the uninterrupted run's."""
    ref_out, ref = smoke
    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(FOVEAL + ["experiment", str(SMOKE), "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second = out / "cells" / "grpo" / "seed-0"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (out / "cells" / "sft" / "seed-0" / "done.json").exists() and read_jsonl(second / "train" / "train.jsonl"):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (second / "done.json").exists() and not (out / "results.json").exists()
    results = run_experiment(SMOKE, out, progress=False)
    assert comparable(results) == comparable(ref)
    for cell in ("sft/seed-0/eval-sft", "grpo/seed-0/eval-rl", "grpo/seed-1/eval-rl"):
        got = [r["completions"] for r in read_jsonl(out / "cells" / cell / "samples.jsonl")]
        assert got == [r["completions"] for r in read_jsonl(ref_out / "cells" / cell / "samples.jsonl")], cell


@pytest.mark.slow
def test_workers_give_the_same_results(smoke, tmp_path):
    _, ref = smoke
    results = run_experiment(SMOKE, tmp_path / "w2", workers=2, progress=False)
    assert comparable(results) == comparable(ref)


def test_base_stage_trains_nothing_and_pass_at_k_is_reported(tmp_path):
    """Two arms scoring the untrained model of the same seed: identical, so Δ is exactly 0; k = 2 adds pass@2."""
    f = tmp_path / "base.yaml"
    recipe = str(ROOT / "recipes" / "quickstart.yaml")
    f.write_text(yaml.safe_dump({
        "arms": {"a": {"recipe": recipe, "stages": ["base"]}, "b": {"recipe": recipe, "stages": ["base"]}},
        "seeds": [3], "reference": "a",
        "eval": {"split": "val", "tasks": ["count"], "levels": [1], "forms": ["text"], "n": 4, "k": 2,
                 "temperature": 1.0, "max_new_tokens": 4}}))
    results = run_experiment(f, tmp_path / "out", progress=False)
    assert results["metrics"] == ["accuracy", "pass@2"]
    assert not list((tmp_path / "out").rglob("train"))
    b = results["rows"][1]
    for m in ("accuracy", "pass@2"):
        d = b[m]["overall"]["minus_reference"]
        assert d["delta"] == 0 and d["ci95"] == [0, 0] and not d["significant"]
    assert b["pass@2"]["overall"]["mean"] >= b["accuracy"]["overall"]["mean"]
    rows = read_jsonl(tmp_path / "out" / "cells" / "b" / "seed-3" / "eval-base" / "samples.jsonl")
    assert len(rows) == 4 and all(len(r["scores"]) == 2 and r["form"] == "text" for r in rows)


def test_pass_at_several_k_from_the_same_completions(tmp_path):
    """pass@2 and pass@4 of k = 4 completions: recomputed by hand from scores written into samples.jsonl
    (problem j has j of its 4 completions right), and their paired differences to the reference arm."""
    from math import comb

    f = tmp_path / "passk.yaml"
    recipe = str(ROOT / "recipes" / "quickstart.yaml")
    f.write_text(yaml.safe_dump({
        "arms": {"a": {"recipe": recipe, "stages": ["base"]}, "b": {"recipe": recipe, "stages": ["base"]}},
        "seeds": [0], "reference": "a", "metrics": ["pass@k", "pass@2", "accuracy"],
        "eval": {"split": "val", "tasks": ["count"], "levels": [1], "forms": ["text"], "n": 4, "k": 4,
                 "temperature": 1.0, "max_new_tokens": 2}}))
    out = tmp_path / "out"
    first = run_experiment(f, out, progress=False)
    assert first["metrics"] == ["accuracy", "pass@2", "pass@4"]
    right = {"a": [0, 0, 1, 2], "b": [1, 2, 3, 4]}  # correct completions of problems 0..3, per arm
    for arm, cs in right.items():
        path = out / "cells" / arm / "seed-0" / "eval-base" / "samples.jsonl"
        rows = read_jsonl(path)
        for r, c in zip(rows, cs, strict=True):
            r["scores"] = [1.0] * c + [0.0] * (4 - c)
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
    results = run_experiment(f, out, progress=False)  # every cell is done: only the summary is recomputed

    def by_hand(cs, k):
        return sum(1 - comb(4 - c, k) / comb(4, k) for c in cs) / len(cs)

    b = results["rows"][1]
    for m, k in (("accuracy", 1), ("pass@2", 2), ("pass@4", 4)):
        assert b[m]["overall"]["mean"] == pytest.approx(by_hand(right["b"], k)), m
        assert results["rows"][0][m]["overall"]["mean"] == pytest.approx(by_hand(right["a"], k)), m
        d = b[m]["overall"]["minus_reference"]["delta"]
        assert d == pytest.approx(by_hand(right["b"], k) - by_hand(right["a"], k)), m
    assert b["pass@4"]["overall"]["mean"] == 1.0 and b["accuracy"]["overall"]["mean"] == 0.625
    # scripts/gain_by_k.py: how b's gain over a changes from pass@1 to pass@4, per problem
    script = [sys.executable, str(ROOT / "scripts" / "gain_by_k.py"), str(out), "b", "a"]
    r = subprocess.run(script + ["--ks", "1,4"], capture_output=True, text=True, check=True)
    want = (by_hand(right["b"], 1) - by_hand(right["a"], 1)) - (by_hand(right["b"], 4) - by_hand(right["a"], 4))
    assert f"= {want * 100:+.1f} [" in r.stdout, r.stdout
    r = subprocess.run(script + ["--ks", "1,8"], capture_output=True, text=True)
    assert r.returncode != 0 and "each must lie in 1..4" in r.stderr


def test_each_arm_against_its_own_stage(tmp_path):
    """reference */sft: every arm's rl row minus the same arm's sft row (per arm, not against one arm)."""
    spec = yaml.safe_load(SMOKE.read_text())
    for arm in spec["arms"].values():
        arm["recipe"] = str(ROOT / "recipes" / "quickstart.yaml")
        arm["stages"] = ["sft", "rl"]
    spec["arms"]["short"] = {**spec["arms"]["grpo"], "set": ["sft.steps=2"]}
    del spec["arms"]["sft"]
    spec.update(seeds=[0], reference="*/sft")
    f = tmp_path / "own.yaml"
    f.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    results = run_experiment(f, out, progress=False)
    assert [(r["label"], r["reference"]) for r in results["rows"]] == [
        ("grpo/sft", "grpo/sft"), ("grpo/rl", "grpo/sft"), ("short/sft", "short/sft"), ("short/rl", "short/sft")]

    def acc(arm, stage):
        rows = read_jsonl(out / "cells" / arm / "seed-0" / f"eval-{stage}" / "samples.jsonl")
        return {(r["problem_key"], r["form"]): float(r["scores"][0] >= 0.5) for r in rows}

    for i, arm in ((1, "grpo"), (3, "short")):
        a, b = acc(arm, "sft"), acc(arm, "rl")
        d = results["rows"][i]["accuracy"]["overall"]["minus_reference"]
        assert d["delta"] == pytest.approx(statistics.fmean(b[u] - a[u] for u in a)) and d["n_problems"] == 12
    assert "minus_reference" not in results["rows"][2]["accuracy"]["overall"]
    sft_logs = [[r["loss"] for r in read_jsonl(out / "cells" / a / "seed-0" / "train" / "train.jsonl")
                 if r["stage"] == "sft"] for a in ("grpo", "short")]
    assert len(sft_logs[0]) == 4 and len(sft_logs[1]) == 2  # the arms differ: two references, not one


@pytest.mark.parametrize("workers", [1, 2])
def test_an_arm_starts_from_another_arms_model_of_the_same_seed(workers, tmp_path):
    """`start: sft`: the rl arm trains no SFT of its own; it starts from the sft arm's model of each seed,
    so its `base` stage scores exactly what the sft arm's `sft` stage scored. The rl arm is listed first:
    one worker runs the sft cells first, two workers make the rl cells wait for their seed's sft cell."""
    spec = yaml.safe_load(SMOKE.read_text())
    for arm in spec["arms"].values():
        arm["recipe"] = str(ROOT / "recipes" / "quickstart.yaml")
    spec["arms"]["grpo"].update(start="sft", set=["sft.steps=0"], stages=["base", "rl"])
    spec["arms"] = {"grpo": spec["arms"]["grpo"], "sft": spec["arms"]["sft"]}  # listed first, run second
    f = tmp_path / "start.yaml"
    f.write_text(yaml.safe_dump({**spec, "arms": {**spec["arms"], "sft": {**spec["arms"]["sft"], "start": "grpo"}}}))
    with pytest.raises(FovealError, match="arms.grpo.start: 'sft': arm 'sft' itself starts from 'grpo'"):
        run_experiment(f, tmp_path / "out", progress=False)
    f.write_text(yaml.safe_dump({**spec, "arms": {**spec["arms"], "sft": {**spec["arms"]["sft"], "stages": ["base"]}}}))
    with pytest.raises(FovealError, match="arms.grpo.start: 'sft': arm 'sft' evaluates only its base model"):
        run_experiment(f, tmp_path / "out", progress=False)
    f.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    results = run_experiment(f, out, workers=workers, progress=False)
    assert [r["label"] for r in results["rows"]] == ["grpo/base", "grpo/rl", "sft"]
    for seed in (0, 1):
        cell = out / "cells" / "grpo" / f"seed-{seed}"
        src = out / "cells" / "sft" / f"seed-{seed}"
        assert yaml.safe_load((cell / "train" / "config.yaml").read_text())["model"]["path"] == \
            str((src / "train" / "sft").resolve())
        assert {r["stage"] for r in read_jsonl(cell / "train" / "train.jsonl")} == {"rl"}
        base = [r["completions"] for r in read_jsonl(cell / "eval-base" / "samples.jsonl")]
        assert base == [r["completions"] for r in read_jsonl(src / "eval-sft" / "samples.jsonl")]
        assert (json.loads((cell / "done.json").read_text())["accuracy"]["base"]
                == json.loads((src / "done.json").read_text())["accuracy"]["sft"])


def test_blind_and_think_answer_metrics_are_recomputed_from_the_rows(tmp_path):
    """eval.blind adds blanked copies of the image problems; metric blind is their accuracy (image form
    only), think_answer the share of completions whose reasoning concludes the final answer. Both are
    checked against values written by hand into samples.jsonl."""
    f = tmp_path / "probes.yaml"
    recipe = str(ROOT / "recipes" / "quickstart.yaml")
    f.write_text(yaml.safe_dump({
        "arms": {"a": {"recipe": recipe, "stages": ["base"]}, "b": {"recipe": recipe, "stages": ["base"]}},
        "seeds": [0], "reference": "a", "metrics": ["think_answer", "blind"],
        "eval": {"split": "val", "tasks": ["count"], "levels": [1], "forms": ["image", "text"], "n": 4,
                 "max_new_tokens": 2, "blind": True}}))
    out = tmp_path / "out"
    first = run_experiment(f, out, progress=False)
    assert first["metrics"] == ["accuracy", "blind", "think_answer"]
    path = out / "cells" / "b" / "seed-0" / "eval-base" / "samples.jsonl"
    rows = read_jsonl(path)
    assert sorted(r["form"] for r in rows) == ["blind"] * 4 + ["image"] * 4 + ["text"] * 4
    for i, r in enumerate(rows):  # blind copies: 2 of 4 right; think=answer: every third completion
        r["scores"] = [float(r["form"] == "blind" and i % 2 == 0)]
        r["think_answer"] = [True if i % 3 == 0 else None]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
    results = run_experiment(f, out, progress=False)
    b = results["rows"][1]
    blind = [r["scores"][0] for r in rows if r["form"] == "blind"]
    assert sum(blind) == 2  # not 0: a metric scoring the image rows (all 0) would fail
    assert b["blind"]["overall"]["mean"] == pytest.approx(sum(blind) / 4)
    assert list(b["blind"]["by_task_form"]["count"]) == ["image"]
    own = [r for r in rows if r["form"] != "blind"]
    assert b["think_answer"]["overall"]["mean"] == pytest.approx(sum(r["think_answer"][0] is True for r in own) / 8)
    assert b["accuracy"]["overall"]["mean"] == 0.0  # the blind copies' scores do not count as accuracy
    from foveal.experiment.runner import plan_of

    plan = json.loads((out / "cells" / "b" / "seed-0" / "plan.json").read_text())
    assert plan["eval"]["blind"] is True
    no_blind = plan_of(cell_from_plan(plan, blind=False))
    assert "blind" not in no_blind["eval"]  # plan.json of cells made before eval.blind existed still match
    spec = yaml.safe_load(f.read_text())
    spec["eval"].update(forms=["text"])
    f.write_text(yaml.safe_dump(spec))
    with pytest.raises(FovealError, match=r"eval.*blind blanks the images of image problems; forms \['text'\]"):
        run_experiment(f, tmp_path / "text", progress=False)


def cell_from_plan(plan: dict, **eval_changes):
    from foveal.experiment.runner import Cell

    return Cell(plan["arm"], plan["seed"], plan["config"], tuple(plan["stages"]), {**plan["eval"], **eval_changes}, "x")


def test_several_levels_are_reported_per_level(tmp_path):
    """Levels 1 and 2 scored together: by_level splits the problems, and its means recombine to the overall one."""
    f = tmp_path / "levels.yaml"
    recipe = str(ROOT / "recipes" / "quickstart.yaml")
    f.write_text(yaml.safe_dump({
        "arms": {"a": {"recipe": recipe, "stages": ["base"]}, "b": {"recipe": recipe, "stages": ["base"]}},
        "seeds": [0], "reference": "a",
        "eval": {"split": "val", "tasks": ["count"], "levels": [1, 2], "forms": ["text"], "n": 8, "k": 1,
                 "max_new_tokens": 2}}))
    out = tmp_path / "out"
    run_experiment(f, out, progress=False)
    path = out / "cells" / "b" / "seed-0" / "eval-base" / "samples.jsonl"
    rows = read_jsonl(path)
    for i, r in enumerate(rows):  # a known pattern: every level-1 problem right, level 2 alternating
        r["scores"] = [1.0 if r["level"] == 1 or i % 2 else 0.0]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
    results = run_experiment(f, out, progress=False)
    by_level = results["rows"][1]["accuracy"]["by_level"]
    assert set(by_level) == {"1", "2"}
    for lv in (1, 2):
        mine = [r["scores"][0] for r in rows if r["level"] == lv]
        assert by_level[str(lv)]["n_problems"] == len(mine) > 0
        assert by_level[str(lv)]["mean"] == pytest.approx(statistics.fmean(mine))
    assert by_level["1"]["mean"] == 1.0
    overall = results["rows"][1]["accuracy"]["overall"]
    assert overall["n_problems"] == 8
    assert overall["mean"] == pytest.approx(sum(o["mean"] * o["n_problems"] for o in by_level.values()) / 8)
    assert "Experiment by level" in (out / "report.html").read_text()


@pytest.mark.parametrize("workers", [1, 2])
def test_cells_whose_start_is_not_finished_are_refused(workers, tmp_path):
    """run_cells given cells that start from cells neither done nor among those to run: one line, nothing runs."""
    from foveal.experiment.runner import Cell, run_cells

    cells = [Cell(arm, 0, "{}", ("rl",), {}, str(tmp_path / arm), after=str(tmp_path / "missing")) for arm in "ab"]
    with pytest.raises(FovealError, match="a seed 0.* not finished"):
        run_cells(cells, workers=workers, progress=False)
    assert not any(tmp_path.iterdir())
