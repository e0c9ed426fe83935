"""The eval probes: think–answer consistency, blind accuracy and one-knob perturbed twins.

Pure metric functions against hand-computed values; the knob-replaying rng against
`random.Random`; perturbed twins over every gym family; and a whole eval through the real
openai backend and the real CLI against a localhost HTTP server that plays a scripted model
(it answers by looking up the exact request it receives), so every probe's value is known.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from foveal import tasks
from foveal.eval import metrics as M
from foveal.eval.harness import blind_copy, evaluate, expand
from foveal.eval.perturb import KnobRng, perturbed_twin
from foveal.io import read_jsonl
from foveal.rollout.base import Sampling
from foveal.rollout.openai import OpenAIBackend, sample_messages
from foveal.split import split_of

Z = M.Z95


def row(id, task="count", form="image", scores=(1.0,), think=None, key=None, agree=None, **kw):
    scores = list(scores)
    return dict(id=id, base_id=id, task=task, level=1, form=form, scores=scores, formats=[True] * len(scores),
                n_tokens=[10] * len(scores), maj_score=scores[0], agree=agree, problem_key=key or "",
                think_answer=think if think is not None else [None] * len(scores), **kw)


# -- pure metrics -------------------------------------------------------------------------

def test_think_answer_rates_hand_values():
    assert M.think_answer_rates([True, False, None, True]) == (2 / 3, 3 / 4)
    assert M.think_answer_rates([None, None]) == (None, 0.0)
    assert M.think_answer_rates([]) == (None, None)


def test_core_pools_think_answer_over_completions_and_keeps_the_agreement_alias():
    rows = [row("a", scores=[1, 0], think=[True, None], agree=False),
            row("b", scores=[1, 1], think=[False, True], agree=True),
            row("c", task="clock", scores=[0, 0], think=[None, None], agree=True)]
    m = M.core(rows)
    assert m["think_answer_consistency"] == pytest.approx(2 / 3) and m["think_answer_determined"] == 0.5
    assert m["agreement"] == pytest.approx(2 / 3) and m["consistency"] == m["agreement"]
    s = M.summarize(rows)
    assert s["by_task"]["clock"]["think_answer_consistency"] is None
    assert s["by_task"]["clock"]["think_answer_determined"] == 0.0
    old = [{k: v for k, v in r.items() if k != "think_answer"} for r in rows]  # a run from before the field
    assert M.core(old)["think_answer_consistency"] is None and M.core(old)["think_answer_determined"] is None


def test_paired_rates_collapse_repeats_of_a_problem():
    # units: P (drawn twice: a rows 1 and 0.5 -> 0.75; b rows 0 and 0 -> 0), Q (a 1, b 1), R (a 0.5, b 1)
    pairs = [(row("p1", scores=[1, 1], key="P"), row("p1b", scores=[0, 0])),
             (row("p2", scores=[1, 0], key="P"), row("p2b", scores=[0, 0])),
             (row("q", scores=[1, 1], key="Q"), row("qb", scores=[1, 1])),
             (row("r", scores=[0, 1], key="R"), row("rb", scores=[1, 1]))]
    r = M.paired_rates(pairs)
    d = [0.75, 0.0, -0.5]  # a − b per unit: mean 1/12
    sd = (sum((x - 1 / 12) ** 2 for x in d) / 2) ** 0.5
    assert r["n"] == 4 and r["n_distinct"] == 3
    assert r["a"] == pytest.approx((0.75 + 1 + 0.5) / 3) and r["b"] == pytest.approx(2 / 3)
    assert r["diff"] == pytest.approx(1 / 12)
    assert r["diff_ci95"] == pytest.approx([1 / 12 - Z * sd / 3 ** 0.5, 1 / 12 + Z * sd / 3 ** 0.5])
    assert r["both"] == pytest.approx((0 + 1 + 0.5) / 3) and r["a_only"] == pytest.approx(0.75 / 3)
    assert M.paired_rates([]) == {"n": 0, "n_distinct": 0}


def test_summarize_blind_and_perturbed_sections_leave_the_headline_alone():
    rows = [row("c0", key="k0"), row("c0/blind", form="blind", scores=[0], blind_of="c0"),
            row("c1", key="k1"), row("c1/blind", form="blind", scores=[1], blind_of="c1"),
            row("s0", task="spatial", key="k2", scores=[0]),
            row("s0/blind", task="spatial", form="blind", scores=[0], blind_of="s0"),
            row("c0/perturb", key="k3", scores=[0], perturb_of="c0"),
            row("c1/perturb", key="k4", scores=[1], perturb_of="c1"),
            row("s0/perturb", task="spatial", key="k5", scores=[1], perturb_of="s0"),
            row("orphan/blind", form="blind", blind_of="not-evaluated")]
    s = M.summarize(rows)
    assert s["overall"]["n"] == 3 and s["overall"]["accuracy"] == pytest.approx(2 / 3)
    assert set(s["by_form"]) == {"image"}  # blind rows have their own section, not a form of the headline
    b = s["blind"]
    assert b["overall"]["n"] == 3 and b["overall"]["image"] == pytest.approx(2 / 3)
    assert b["overall"]["blind"] == pytest.approx(1 / 3) and b["overall"]["needs_image"] == pytest.approx(1 / 3)
    assert b["by_task"]["count"] == {"n": 2, "n_distinct": 2, "image": 1.0, "blind": 0.5, "needs_image": 0.5,
                                     "needs_image_ci95": pytest.approx([0.5 - Z * 0.5 ** 0.5 / 2 ** 0.5,
                                                                        0.5 + Z * 0.5 ** 0.5 / 2 ** 0.5])}
    p = s["perturbed"]["overall"]
    # pairs (orig, twin): c0 (1, 0), c1 (1, 1), s0 (0, 1)
    assert p["original"] == pytest.approx(2 / 3) and p["perturbed"] == pytest.approx(2 / 3)
    assert p["drop"] == pytest.approx(0.0) and p["right_on_both"] == pytest.approx(1 / 3)
    assert p["original_only"] == pytest.approx(1 / 3) and p["consistency_ratio"] == pytest.approx(1 / 2)
    assert p["original_only"] == pytest.approx(p["original"] * (1 - p["consistency_ratio"]))
    assert s["perturbed"]["by_task"]["spatial"]["drop"] == -1.0
    assert M.summarize(rows[:1])["blind"] == {} and M.summarize(rows[:1])["perturbed"] == {}


# -- the knob-replaying rng -----------------------------------------------------------------

def calls(rng):
    xs = list(range(6))
    rng.shuffle(xs)
    return [rng.randint(1, 9), rng.choice("abcde"), rng.sample(range(20), 3), xs, round(rng.uniform(2, 3), 12),
            rng.randrange(10), round(rng.random(), 12), rng.randrange(0, 30, 5)]


def test_knob_rng_replays_random_and_changes_exactly_one_call():
    plain = calls(random.Random(42))
    probe = KnobRng(42)
    assert calls(probe) == plain and [c for c, _ in probe.calls] == [
        "shuffle", "randint", "choice", "sample", "uniform", "randrange", "random", "randrange"]
    assert probe.change is None
    for knob in range(len(probe.calls)):
        rng = KnobRng(42, knob=knob, alt=1)
        out = calls(rng)
        position = [3, 0, 1, 2, 4, 5, 6, 7][knob]  # where the call's result sits in `calls`' list
        assert [o for i, o in enumerate(out) if i != position] == [p for i, p in enumerate(plain) if i != position]
        assert out[position] != plain[position] and rng.change is not None
    assert 1 <= KnobRng(42, knob=1).randint(1, 9) <= 9
    assert KnobRng(1, knob=0).randint(3, 3) == 3  # a call with one possible value cannot be changed
    assert sorted(calls(KnobRng(42, knob=0))[3]) == list(range(6))  # a changed shuffle is still a permutation
    assert len(set(calls(KnobRng(42, knob=3))[2])) == 3  # a changed sample still has distinct elements


def test_a_knob_stream_replays_in_any_phrasing():
    t = tasks.get("raven")  # a family with questions: make_from copies the stream for the canonical key
    s = t.generate(0, 1, phrasing="polite", style="plain")
    again = t.make_from(KnobRng(t.draw_seed(0, 1)), 0, 1, drawing=False, variant=t.variant_of(s))
    assert (again.problem_key, again.answer, again.text_twin) == (s.problem_key, s.answer, s.text_twin)
    rng = KnobRng(t.draw_seed(0, 1), knob=2, alt=1)
    changed = t.make_from(rng, 0, 1, drawing=False, variant=t.variant_of(s))
    assert rng.change is not None and changed.problem_key != s.problem_key


def test_every_family_replays_exactly_from_its_draw_seed():
    for name in tasks.names():
        t = tasks.get(name)
        s = t.generate(0, 1)
        again = t.make_from(KnobRng(t.draw_seed(0, 1, t.draw_of(s))), 0, 1, drawing=False,
                             variant=t.variant_of(s).canonical())
        assert (again.problem_key, again.answer) == (s.problem_key, s.answer), name


# -- perturbed twins --------------------------------------------------------------------------

def test_perturbed_twins_change_one_knob_and_the_answer_within_the_split():
    found = 0
    for name in ("count", "clock", "table_lookup", "fraction_shaded", "sudoku", "spatial"):
        t = tasks.get(name)
        for seed in range(3):
            for split in (None, "test"):
                s = t.generate(seed, 2, split=split)
                tw = perturbed_twin(s)
                if tw is None:
                    continue
                found += 1
                assert tw.answer != s.answer and tw.problem_key != s.problem_key
                assert split_of(tw.problem_key) == split_of(s.problem_key)
                assert tw.id == f"{s.id}/perturb" and tw.meta["perturb_of"] == s.id and tw.images
                knob = tw.meta["knob"]  # the recorded call is the one the original made at that index
                probe = KnobRng(t.draw_seed(seed, 2, t.draw_of(s)))
                t.make_from(probe, seed, 2, drawing=False, variant=t.variant_of(s).canonical())
                assert knob["method"].startswith(probe.calls[knob["call"]][0]) and knob["was"] != knob["now"]
                assert perturbed_twin(s).problem_key == tw.problem_key  # deterministic
    assert found >= 18  # most of the 36 get a twin; a regression to few fails here


def test_count_twin_changes_the_number_of_targets():
    s = tasks.get("count").generate(0, 1, query="how_many")  # level 1: one shape, one colour, no distractors
    tw = perturbed_twin(s)
    knob = tw.meta["knob"]
    assert knob["method"] == "randint(1, 4)"  # the number of targets: the only knob that moves the answer
    assert (s.answer, tw.answer) == (knob["was"], knob["now"]) and len(tw.meta["objects"]) == int(tw.answer)
    assert {(o["color"], o["shape"]) for o in tw.meta["objects"]} == {(o["color"], o["shape"]) for o in s.meta["objects"]}
    assert tw.meta["size"] == s.meta["size"] and tw.prompt == s.prompt


def test_perturbed_twin_of_text_form_and_of_what_cannot_be_replayed():
    s = tasks.get("count").generate(1, 2, form="text", query="how_many")
    tw = perturbed_twin(s)
    assert tw.form == "text" and not tw.images and tw.id == "count/L2/s1/perturb/text" and tw.meta["perturb_of"] == s.id
    from dataclasses import replace

    img = tasks.get("count").generate(1, 2, query="how_many")
    assert perturbed_twin(replace(img, answer="7", problem_key="count:stale")) is None  # not what seed 1 draws
    assert perturbed_twin(replace(img, task="mathvista", problem_key="")) is None  # external data


def test_blind_copy_is_white_and_same_size():
    s = tasks.get("event_order").generate(0, 1)  # a video task: several frames
    b = blind_copy(s)
    assert b.id == f"{s.id}/blind" and b.meta["blind_of"] == s.id and b.prompt == s.prompt
    assert [im.size for im in b.images] == [im.size for im in s.images]
    assert all(im.getextrema() == ((255, 255),) * 3 for im in b.images)


# -- a whole eval through the real openai backend, against a scripted model --------------------

def request_key(content) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class ScriptedModel:
    """A real OpenAI-compatible HTTP server that answers each request with the completion the test
    scripted for that exact user message (unknown requests get a 404, failing the eval)."""

    def __init__(self, table: dict[str, str]):
        self.table = table
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                text = outer.table.get(request_key(body["messages"][-1]["content"]))
                status, payload = (404, {"error": {"message": "unscripted request"}}) if text is None else (200, {
                    "id": "x", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": i, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"} for i in range(body.get("n", 1))]})
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def wrong(answer: str) -> str:
    return str(int(answer) + 1)


def script(items) -> dict[str, str]:
    """What the scripted model says to each expanded problem, by problem index i within its task:
    originals: the gold answer, after reasoning that states no answer (i % 4 == 0), the same answer
    (1, 2) or another one (3); blind copies: right for even i; perturbed twins: right for even i,
    else the original's answer (a memoriser)."""
    index: dict[str, int] = {}
    by_id = {s.id: s for s in items}
    table = {}
    for s in items:
        root = s.meta.get("blind_of") or s.meta.get("perturb_of") or s.id
        root = by_id[root].id.removesuffix("/text")
        i = index.setdefault(root, sum(r.startswith(s.task + "/") for r in index))
        if "blind_of" in s.meta:
            final = s.answer if i % 2 == 0 else wrong(s.answer)
            think = f"The answer is {final}."
        elif "perturb_of" in s.meta:
            final = s.answer if i % 2 == 0 else by_id[s.meta["perturb_of"]].answer
            think = f"The answer is {final}."
        else:
            final = s.answer
            think = ["I look at the picture.", f"The answer is {final}.", f"So the answer is {final}.",
                     f"The answer is {wrong(final)}."][i % 4]
        key = request_key(sample_messages(s)[-1]["content"])
        assert key not in table, f"two problems ask the same thing: {s.id}"
        table[key] = f"<think>{think}</think><answer>{final}</answer>"
    return table


def problems():
    """4 count problems (plain draws) and 4 table_lookup problems of the test split, each with a
    perturbed twin, and no two with the same question (so their blind copies are distinct requests:
    a blind model could not tell two problems with one question apart)."""
    out = []
    for name, split in (("count", None), ("table_lookup", "test")):
        picked: dict[str, object] = {}
        seed = 0
        while len(picked) < 4:
            s = tasks.get(name).generate(seed, 2, split=split, query=tasks.get(name).queries[0])
            if s.prompt not in picked and perturbed_twin(s) is not None:
                picked[s.prompt] = s
            seed += 1
        out += picked.values()
    return out


@pytest.fixture(scope="module")
def scripted():
    samples = problems()
    server = ScriptedModel(script(expand(samples, "both", blind=True, perturb=True)))
    yield server, samples
    server.close()


def test_probes_through_the_openai_backend(scripted, tmp_path):
    server, samples = scripted
    backend = OpenAIBackend(server.url, model="scripted", max_retries=0)
    res = evaluate(backend, samples, k=2, sampling=Sampling(temperature=1.0), twin="both", out=tmp_path / "run",
                   blind=True, perturb=True, progress=False)
    rows = read_jsonl(tmp_path / "run" / "samples.jsonl")
    assert len(rows) == 8 * 2 + 8 * 2 + 8  # originals and twins in both forms, blind copies of the images
    blind = [r for r in rows if r["form"] == "blind"]
    assert len(blind) == 8 and all(r["blind_of"] == r["id"].removesuffix("/blind") for r in blind)
    assert all(r["knob"]["was"] != r["knob"]["now"] for r in rows if r.get("perturb_of"))
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m == json.loads(json.dumps(res.metrics))
    o = m["overall"]
    assert o["n"] == 16 and o["accuracy"] == 1.0  # the probes' rows stay out of the headline
    # think: per task and form, i = 0 undetermined, 1 and 2 consistent, 3 inconsistent (K = 2 alike)
    assert o["think_answer_determined"] == pytest.approx(3 / 4)
    assert o["think_answer_consistency"] == pytest.approx(2 / 3)
    assert m["by_task"]["table_lookup"]["think_answer_consistency"] == pytest.approx(2 / 3)
    assert [r["think_answer"] for r in rows if r["id"] == samples[0].id] == [[None, None]]
    assert [r["think_answer"] for r in rows if r["id"] == samples[3].id] == [[False, False]]
    b = m["blind"]["overall"]  # blind right on i = 0, 2 of each task: d = 0, 1, 0, 1, ... over 8 problems
    half = Z * (8 * 0.25 / 7) ** 0.5 / 8 ** 0.5
    assert (b["n"], b["image"], b["blind"], b["needs_image"]) == (8, 1.0, 0.5, 0.5)
    assert b["needs_image_ci95"] == pytest.approx([0.5 - half, 0.5 + half])
    p = m["perturbed"]["overall"]  # 16 pairs (8 problems × 2 forms); twins right on even i only
    assert (p["n"], p["n_distinct"], p["original"], p["perturbed"]) == (16, 16, 1.0, 0.5)
    assert p["right_on_both"] == 0.5 and p["original_only"] == 0.5 and p["drop"] == 0.5
    assert p["consistency_ratio"] == 0.5
    assert set(m["perturbed"]["by_task"]) == set(m["blind"]["by_task"]) == {"count", "table_lookup"}

    from foveal.eval.report import build_report

    page = build_report([tmp_path / "run"], tmp_path / "r.html").read_text()
    assert 'id="probes"' in page and "needs the image" in page and "+50.0 pt" in page and "66.7%" in page


def test_cli_eval_blind_perturb_prints_the_probes(scripted, tmp_path):
    from foveal.tasks.export import write_dataset

    server, samples = scripted
    write_dataset(samples, tmp_path / "data", "jsonl", manifest={"tasks": ["count", "table_lookup"]})
    cmd = [sys.executable, "-m", "foveal.cli", "eval", "--backend", "openai", "--base-url", server.url,
           "--model", "scripted", "--data", str(tmp_path / "data"), "--twin", "both", "--blind", "--perturb",
           "--out", str(tmp_path / "run")]
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "think–answer consistency 66.7% (of the 75.0% of completions" in r.stdout
    assert "blind accuracy 50.0% vs image 100.0% on 8 problems: needs the image +50.0 pt" in r.stdout
    assert "perturbed twins for 16 of 16 problems: original 100.0%, perturbed 50.0%" in r.stdout
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["blind"] is True and cfg["perturb"] is True
    again = subprocess.run(cmd[:-6] + ["--twin", "both", "--perturb", "--out", str(tmp_path / "run")],
                           capture_output=True, text=True, env=env)
    assert again.returncode != 0 and "blind: run has True, now False" in again.stderr
