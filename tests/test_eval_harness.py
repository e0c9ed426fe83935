"""foveal.eval.harness with the real hf backend on the tiny VLM: run files, resume after SIGKILL, CLI."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from foveal import tasks
from foveal.errors import FovealError
from foveal.eval import metrics as M
from foveal.eval.benchmarks import load_data
from foveal.eval.harness import evaluate, expand, spread
from foveal.io import read_jsonl
from foveal.rollout.base import Completion, Group, Sampling

FIX = Path(__file__).parent / "fixtures" / "benchmarks"
FAST = Sampling(temperature=1.0, max_new_tokens=8, stop=("</answer>",), seed=3)


@pytest.fixture(scope="module")
def backend(tiny):
    from foveal.models import load_policy
    from foveal.rollout import get_backend

    return get_backend("hf", policy=load_policy(str(tiny)), batch_size=8)


def gym(n=3):
    return [tasks.get("count").generate(seed=i, level=1) for i in range(n)] + \
           [tasks.get("spatial").generate(seed=i, level=1) for i in range(n)]


def test_evaluate_writes_samples_metrics_and_config(backend, tmp_path):
    samples = gym()
    res = evaluate(backend, samples, k=2, sampling=FAST, twin="both", out=tmp_path / "run", batch_size=4,
                   shuffles=1, meta={"model": "tiny"}, progress=False)
    rows = read_jsonl(tmp_path / "run" / "samples.jsonl")
    spatial_choices = sum(1 for s in samples if s.answer_type == "choice")
    assert len(rows) == 2 * len(samples) + 2 * spatial_choices  # both forms, plus one shuffled copy of each choice
    assert len({r["id"] for r in rows}) == len(rows)
    from foveal.rewards import score

    for r in rows:
        assert len(r["completions"]) == 2 and all(t is not None and 1 <= t <= 8 for t in r["n_tokens"])
        assert r["scores"] == [score(c, r["gold"], r["answer_type"], choices=r["choices"]) for c in r["completions"]]
        assert bool(r["thumbs"]) == (r["form"] == "image")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(M.summarize(rows))) == json.loads(json.dumps(res.metrics))
    assert metrics["overall"]["n"] == 2 * len(samples) and metrics["shuffled"]["copies"] == 2 * spatial_choices
    assert set(metrics["modality_gap"]["by_task"]) == {"count", "spatial"}
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["model"] == "tiny" and cfg["k"] == 2 and cfg["sampling"]["max_new_tokens"] == 8
    assert cfg["versions"]["torch"] and "git_rev" in cfg
    # rerunning is a no-op: nothing is generated twice
    again = evaluate(backend, samples, k=2, sampling=FAST, twin="both", out=tmp_path / "run", shuffles=1,
                     progress=False)
    assert len(read_jsonl(tmp_path / "run" / "samples.jsonl")) == len(rows) and len(again.rows) == len(rows)
    with pytest.raises(FovealError, match="k: run has 2, now 3"):
        evaluate(backend, samples, k=3, sampling=FAST, twin="both", out=tmp_path / "run", shuffles=1, progress=False)


class Oracle:
    """A Backend that answers with the gold answer for even seeds and '99' for odd ones, so the
    metrics of a whole eval are known in advance (the tiny VLM's are ~0)."""

    def generate(self, prompts, n=1, sampling=Sampling()):
        out = []
        for s in prompts:
            a = s.answer if s.seed % 2 == 0 else "99"
            text = f"<think>I look at it.</think><answer>{a}</answer>"
            out.append(Group(s.id, [Completion(text, token_ids=list(range(5 + s.seed)))] * n))
        return out


def test_metrics_of_a_known_eval(tmp_path):
    samples = [tasks.get("count").generate(seed=i, level=lv) for i in range(4) for lv in (1, 2)]
    res = evaluate(Oracle(), samples, k=3, twin="both", out=tmp_path / "o", progress=False)
    o = res.metrics["overall"]
    assert o["n"] == 16 and o["accuracy"] == 0.5 and o["pass@k"]["3"] == 0.5 and o["maj@k"] == 0.5
    assert o["format_rate"] == 1.0 and o["consistency"] == 1.0
    assert o["mean_tokens"] == pytest.approx(5 + 1.5)
    assert res.metrics["modality_gap"]["overall"]["gap"] == 0.0
    assert res.metrics["by_task_level"]["count"]["2"]["n"] == 8


def test_spread_keeps_first_and_last_frames():
    assert spread(16, 6) == [0, 3, 6, 9, 12, 15] and spread(4, 6) == [0, 1, 2, 3] and spread(0, 6) == []


def test_expand_forms_and_bad_input():
    s = gym(1)
    assert [x.id for x in expand(s, "text")] == ["count/L1/s0/text", "spatial/L1/s0/text"]
    items = expand(s, "both", shuffles=2)
    copies = [x for x in items if "shuffle_of" in x.meta]
    n_perm = math.factorial(len(s[1].choices)) - 1  # other orders of the spatial options
    assert len(items) == 4 + len(copies) and len(copies) == 2 * min(2, n_perm)
    assert {c.meta["shuffle_of"] for c in copies} == {"spatial/L1/s0", "spatial/L1/s0/text"}
    with pytest.raises(FovealError, match="twin must be"):
        expand(s, "video")
    with pytest.raises(FovealError, match="occurs twice"):
        expand(s + s[:1])
    with pytest.raises(FovealError, match="has no text twin"):
        expand([replace(s[0], text_twin="")], "text")


def test_resume_after_sigkill_loses_and_duplicates_nothing(tiny, backend, tmp_path):
    from foveal.tasks.export import write_dataset

    data, run = tmp_path / "data", tmp_path / "run"
    samples = [tasks.get("count").generate(seed=i, level=1) for i in range(24)]
    write_dataset(samples, data, "jsonl", manifest={"tasks": ["count"]})
    cmd = [sys.executable, "-m", "foveal.cli", "eval", "--model", str(tiny), "--data", str(data), "--k", "2",
           "--temperature", "1", "--max-new-tokens", "8", "--seed", "3", "--batch-size", "2", "--out", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    jsonl = run / "samples.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if jsonl.exists() and len(read_jsonl(jsonl)) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"eval ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = read_jsonl(jsonl)
    assert 2 <= len(before) < len(samples)
    with open(jsonl, "a") as f:  # what a kill in the middle of a write leaves: a torn last line
        f.write('{"id": "count/L1/s23", "task": "cou')
    res = evaluate(backend, load_data(data), k=2, sampling=FAST, out=run, batch_size=2, progress=False)
    after = read_jsonl(jsonl)
    assert [r["id"] for r in after] == [r["id"] for r in res.rows]
    assert sorted(r["id"] for r in after) == sorted(s.id for s in samples)  # none lost, none twice
    assert after[:len(before)] == before  # what the killed run wrote is kept as it was
    assert json.loads((run / "metrics.json").read_text())["overall"]["n"] == len(samples)


@pytest.mark.parametrize("args, msg", [
    (["--backend", "tgi"], "--backend 'tgi': expected one of hf, vllm, openai"),
    (["--data", "/nonexistent/data"], "--data /nonexistent/data: no such file or directory"),
    (["--k", "0"], "Invalid value for '--k'"),
    (["--limit", "0"], "Invalid value for '--limit'"),
    (["--k", "2"], "--k 2 at --temperature 0 (greedy)"),
    (["--backend", "openai"], "--backend openai needs --base-url"),
    (["--twin", "video"], "twin must be one of image, text, both"),
])
def test_cli_eval_bad_input_is_one_line_and_exit_2(tmp_path, args, msg):
    base = {"--model": "tiny", "--data": str(FIX / "generic" / "data.jsonl"), "--out": str(tmp_path / "run")}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    cmd = [sys.executable, "-m", "foveal.cli", "eval", *[x for kv in base.items() for x in kv]]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 2, r.stderr
    assert msg in r.stderr and "Traceback" not in r.stderr


def test_blind_and_perturbed_rows_through_the_tiny_vlm(backend, tmp_path):
    samples = [tasks.get("count").generate(seed=i, level=1) for i in range(2)]
    res = evaluate(backend, samples, k=1, sampling=FAST, out=tmp_path / "run", blind=True, perturb=True,
                   progress=False)
    rows = {r["id"]: r for r in read_jsonl(tmp_path / "run" / "samples.jsonl")}
    assert set(rows) == {"count/L1/s0", "count/L1/s1", "count/L1/s0/blind", "count/L1/s1/blind",
                         "count/L1/s0/perturb", "count/L1/s1/perturb"}
    blind = rows["count/L1/s0/blind"]
    assert blind["form"] == "blind" and blind["blind_of"] == "count/L1/s0" and blind["gold"] == rows["count/L1/s0"]["gold"]
    from foveal.sample import b64_image

    assert b64_image(blind["thumbs"][0]).getextrema() == ((255, 255),) * 3  # the model was shown a white picture
    twin = rows["count/L1/s0/perturb"]
    assert twin["perturb_of"] == "count/L1/s0" and twin["gold"] != rows["count/L1/s0"]["gold"]
    assert res.metrics["overall"]["n"] == 2 and res.metrics["blind"]["overall"]["n"] == 2
    assert res.metrics["perturbed"]["overall"]["n"] == 2
    assert all(len(r["think_answer"]) == 1 for r in rows.values())
