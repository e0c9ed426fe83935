"""Variants: queries, phrasings and styles chosen per seed, pinned, held out, and the ood split."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import numpy as np
import pytest
from PIL import ImageDraw
from typer.testing import CliRunner

from foveal import tasks
from foveal.cli import app, main
from foveal.errors import FovealError
from foveal.sample import Sample
from foveal.split import split_of
from foveal.tasks import draw as D
from foveal.tasks import style as S
from foveal.tasks.base import Task
from foveal.tasks.variant import PHRASINGS, VariantSpec, parse_hold_out


class Toy(Task):
    """A two-query family defined here (not registered): a row of digits drawn as text.

    Level knobs:
        n: how many digits.
    """

    name = "toy_variants"
    description = "test family"
    tags = ("counting",)
    levels = {1: {"n": 4}, 2: {"n": 6, "queries": ("sum",)}}
    questions = {
        "sum": {"direct": "What is the sum of the digits?", "imperative": "Add up the digits.",
                "polite": "Could you tell me the sum of the digits?", "terse": "Sum of the digits?"},
        "largest": {"direct": "Which is the largest digit?", "imperative": "Name the largest digit.",
                    "polite": "Could you tell me the largest digit?", "terse": "Largest digit?"},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        digits = [rng.randint(0, 9) for _ in range(cfg["n"])]
        answer = sum(digits) if self.query == "sum" else max(digits)
        question = self.ask() + " Answer with a number."
        im = D.canvas(96, 32)
        D.text(ImageDraw.Draw(im), (48, 16), " ".join(map(str, digits)), size=12)
        return self.sample(seed, level, prompt=self.image_prompt(question), images=(self.picture(lambda: im),),
                           answer=str(answer), answer_type="number",
                           text_twin=f"The picture shows the digits {' '.join(map(str, digits))}. {question}",
                           solution=f"The answer is {answer}.", meta={"digits": digits})


TOY = Toy()


def test_pinning_one_part_leaves_the_others_and_the_scene_unchanged():
    for seed in range(30):
        free = TOY.generate(seed, 1)
        v = free.meta["variant"]
        for kind, value in (("style", "noisy"), ("phrasing", "terse"), ("query", "largest")):
            pinned = TOY.generate(seed, 1, **{kind: value})
            assert pinned.meta["variant"] == {**v, kind: value}
            assert pinned.meta["digits"] == free.meta["digits"]


def test_every_part_is_drawn_across_seeds_and_a_level_restricts_queries():
    seen = {k: {TOY.generate(s, 1).meta["variant"][k] for s in range(200)} for k in ("query", "phrasing", "style")}
    assert seen == {"query": set(TOY.queries), "phrasing": set(PHRASINGS), "style": set(S.STYLES)}
    assert {TOY.generate(s, 2).meta["variant"]["query"] for s in range(50)} == {"sum"}
    with pytest.raises(FovealError, match="unknown query 'largest'"):
        TOY.generate(0, 2, query="largest")


def test_the_problem_key_ignores_phrasing_and_style_but_not_the_query():
    for seed in range(20):
        keys = {TOY.generate(seed, 1, query="sum", phrasing=p, style=st).problem_key
                for p in PHRASINGS for st in S.STYLES}
        assert len(keys) == 1
        assert TOY.generate(seed, 1, query="largest").problem_key not in keys
        # the wording does follow the phrasing, in the prompt and the twin alike
        polite = TOY.generate(seed, 1, query="sum", phrasing="polite")
        assert "Could you tell me the sum" in polite.prompt and "Could you tell me the sum" in polite.text_twin


def test_a_split_never_separates_two_wordings_of_one_problem():
    for seed in range(40):
        for split in ("train", "test"):
            a = TOY.generate(seed, 1, split=split, query="sum", phrasing="direct", style="plain")
            b = TOY.generate(seed, 1, split=split, query="sum", phrasing="terse", style="noisy")
            assert a.problem_key == b.problem_key and split_of(a.problem_key) == split
            assert a.meta["digits"] == b.meta["digits"]


def test_held_out_parts_appear_only_in_the_ood_split_on_test_content():
    held = ("style=noisy", "phrasing=terse")
    for seed in range(60):
        for split in ("train", "val", "test"):
            v = TOY.generate(seed, 1, split=split, hold_out=held).meta["variant"]
            assert v["style"] != "noisy" and v["phrasing"] != "terse"
        ood = TOY.generate(seed, 1, split="ood", hold_out=held)
        assert ood.meta["variant"]["style"] == "noisy" or ood.meta["variant"]["phrasing"] == "terse"
        assert split_of(ood.problem_key) == "test" and ood.id == f"toy_variants/L1/ood/s{seed}"
    with pytest.raises(FovealError, match="needs held-out parts"):
        TOY.generate(0, 1, split="ood")
    with pytest.raises(FovealError, match="held out"):
        TOY.generate(0, 1, split="train", style="noisy", hold_out=held)
    with pytest.raises(FovealError, match="split 'ood' needs a held-out part this task has"):
        TOY.generate(0, 2, split="ood", hold_out=("query=largest",))  # level 2 asks only "sum"


@pytest.mark.parametrize("spec,msg", [("noisy", "expected KIND=NAME"), ("colour=red", "expected KIND=NAME"),
                                      ("style=neon", "unknown style 'neon'"), ("phrasing=shouty", "unknown phrasing")])
def test_bad_hold_outs_are_named(spec, msg):
    with pytest.raises(FovealError, match=msg):
        parse_hold_out(spec)


def test_variant_spec_refuses_a_pin_that_is_held_out():
    with pytest.raises(FovealError, match="also held out"):
        VariantSpec.parse(style="noisy", hold_out="style=noisy")
    assert VariantSpec.parse(hold_out=["style=noisy,query=sum"]).hold_out == (("style", "noisy"), ("query", "sum"))


def test_plain_finish_is_the_identity_and_every_style_is_deterministic_and_mild():
    im = TOY.generate(3, 1, style="plain").images[0]
    assert S.finish(im, S.get("plain"), 1) is im
    for name in S.STYLES:
        a, b = TOY.generate(3, 1, style=name), TOY.generate(3, 1, style=name)
        pa, pb = np.asarray(a.images[0]), np.asarray(b.images[0])
        assert (pa == pb).all()
        # mild: the picture stays mostly close to its background colour (text covers little of it)
        bg = np.array(S.get(name).background)
        assert (np.abs(pa.astype(int) - bg).max(-1) < 48).mean() > 0.6


def test_styles_never_shrink_text_below_the_floor():
    for name in S.STYLES:
        with S.using(name):
            assert D.font(4).size >= D.MIN_FONT_PX


def test_every_family_with_questions_words_each_query_in_every_register():
    for task in [*tasks.all_tasks(), TOY]:
        for query, wordings in task.questions.items():
            assert tuple(wordings) == PHRASINGS, f"{task.name}.{query}: registers {tuple(wordings)}"
            fields = {tuple(sorted(f for _, f, _, _ in string.Formatter().parse(t) if f)) for t in wordings.values()}
            assert len(fields) == 1, f"{task.name}.{query}: the registers use different slots {fields}"
            assert len(set(wordings.values())) == len(PHRASINGS), f"{task.name}.{query}: two registers read alike"
        for level, knobs in task.levels.items():
            assert set(task.level_queries(level)) <= set(task.queries), f"{task.name} L{level}: {knobs.get('queries')}"


def test_tasks_list_json_shows_queries_forms_and_variants():
    r = CliRunner().invoke(app, ["tasks", "list", "--json"])
    assert r.exit_code == 0, r.output
    infos = json.loads(r.output)
    assert all({"queries", "forms", "phrasings", "styles", "variants"} <= set(i) for i in infos)
    assert all(i["variants"] == len(i["queries"]) * len(i["forms"]) for i in infos)


def test_gen_ood_writes_only_held_out_variants_and_records_them(tmp_path):
    out = tmp_path / "ood"
    r = CliRunner().invoke(app, ["gen", "--tasks", "count", "--n", "12", "--levels", "2", "--split", "ood",
                                 "--hold-out", "style=noisy", "--format", "jsonl", "--out", str(out)])
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"] == "ood" and manifest["variant"]["hold_out"] == ["style=noisy"]
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and all(r["meta"]["variant"]["style"] == "noisy" for r in rows)
    assert all(split_of(r["problem_key"]) == "test" for r in rows)


@pytest.mark.parametrize("args,msg", [
    (["--split", "ood"], "needs --hold-out"),
    (["--hold-out", "noisy"], "expected KIND=NAME"),
    (["--style", "neon"], "--style 'neon': expected one of"),
    (["--query", "nope"], "--query 'nope'"),
])
def test_gen_refuses_bad_variant_options_and_writes_nothing(tmp_path, capsys, args, msg):
    out = tmp_path / "x"
    with pytest.raises(SystemExit) as e:
        main(["gen", "--tasks", "count", "--n", "2", "--out", str(out), *args])
    assert e.value.code == 2 and msg in capsys.readouterr().err and not out.exists()


def test_training_stream_never_draws_a_held_out_style():
    from foveal.config import DataConfig
    from foveal.train.data import PromptSource

    cfg = DataConfig(gym={"tasks": ["count"], "levels": [1, 2], "hold_out": ["style=noisy", "phrasing=terse"]})
    drawn = PromptSource(cfg, seed=1).draw(80)
    assert all(s.meta["variant"]["style"] != "noisy" for s in drawn)
    assert all(split_of(s.problem_key) == "train" for s in drawn)
    with pytest.raises(ValueError, match="style .neon.: expected one of"):
        DataConfig(gym={"tasks": ["count"], "style": "neon"})
