"""foveal improve: the majority-vote pseudo-label (hand values), two whole rounds on the tiny VLM through
the CLI (real hf generation, SFT and val evaluation), resuming after a round killed mid-generation, a
dataset without answers labelled by vote, and bad input refused before anything is written."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from foveal import tasks
from foveal.cli import main
from foveal.errors import FovealError
from foveal.improve import majority_vote_label
from foveal.io import read_jsonl
from foveal.tasks.base import Task

NAMES = ("amber", "beige", "coral", "denim", "ebony", "fawn", "gold", "hazel", "ivory", "jade", "khaki", "lilac",
         "mauve", "navy", "olive", "peach", "quartz", "rose", "sage", "teal", "umber", "violet", "wheat", "xanadu")


class Toy(Task):
    """'Tile NAME shows N': name N (1-3). 72 problems, a few in val; a briefly trained tiny model states
    the format and is right often enough for traces to verify."""

    name = "improve_toy"
    forms = ("image", "text")
    levels = {1: {}}

    def make(self, rng: random.Random, cfg, seed: int, level: int):
        from foveal.tasks import draw as D

        name, n = rng.choice(NAMES), rng.randint(1, 3)
        q = f"Tile {name} shows {n}. Which number does it show?"
        return self.sample(seed, level, prompt=self.image_prompt(q), images=(self.picture(D.canvas, 8),),
                           answer=str(n), answer_type="number", text_twin=q, solution=f"It shows {n}.")


RECIPE = """
model: {system_prompt: null}
data: {gym: {tasks: [improve_toy], form: text}}
sft: {steps: 4, batch_size: 8, micro_batch_size: 8, optim: {lr: 1.0e-3, schedule: constant}}
sampling: {max_new_tokens: 20}
log: {progress: false}
"""


@pytest.fixture(scope="module")
def toy():
    tasks.TASKS[Toy.name] = Toy()
    yield Toy.name
    del tasks.TASKS[Toy.name]


@pytest.fixture(scope="module")
def start(toy, tiny, tmp_path_factory, one_thread):
    """The starting model: the small tiny VLM after 30 SFT steps on the toy task (it writes the R1 format)."""
    from foveal.config import RunConfig
    from foveal.train.run import train

    run = tmp_path_factory.mktemp("start") / "run"
    cfg = RunConfig(model={"path": str(tiny), "system_prompt": None}, data={"gym": {"tasks": [toy], "form": "text"}},
                    sft={"steps": 30, "batch_size": 8, "micro_batch_size": 8, "optim": {"lr": 3e-3, "schedule": "constant"}},
                    log={"progress": False})
    return train(cfg, out=run) / "sft"


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "improve.yaml"
    path.write_text(RECIPE)
    return path


def run(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as e:
        return e.code
    return 0


# -- the vote ------------------------------------------------------------------------------------------

def test_majority_vote_label_by_hand():
    v = majority_vote_label(["4", "4 ", "5", None], min_agreement=0.5)
    assert (v.label, v.agreement, v.correct) == ("4", 0.5, (True, True, False, False))
    v = majority_vote_label(["4", "5", "6", "4"], min_agreement=0.6)  # 2 of 4 < 0.6: no label, nothing kept
    assert (v.label, v.agreement, v.correct) == (None, 0.5, (False,) * 4)
    v = majority_vote_label(["5", "4", "4", "5"], min_agreement=0.0)  # a tie goes to the first cluster
    assert v.label == "5" and v.correct == (True, False, False, True)
    v = majority_vote_label(["1/2", "0.5", "2"], 0.5, same=lambda a, b: eval_num(a) == eval_num(b))
    assert v.label == "1/2" and v.agreement == pytest.approx(2 / 3) and v.correct == (True, True, False)
    assert majority_vote_label([None, None], 0.0).label is None
    with pytest.raises(ValueError):
        majority_vote_label([], 0.5)
    with pytest.raises(ValueError):
        majority_vote_label(["1"], 1.5)


def eval_num(s: str) -> float:
    a, _, b = s.partition("/")
    return float(a) / float(b) if b else float(a)


# -- whole runs -----------------------------------------------------------------------------------------

@pytest.mark.slow  # ~10 s: the one whole multi-round run in the default suite
def test_two_rounds_end_to_end_then_resume_a_killed_round(start, recipe, tmp_path):
    out = tmp_path / "imp"
    args = ("improve", "--model", str(start), "--config", str(recipe), "--rounds", "2", "--k", "4", "--n", "4",
            "--n-val", "2", "--batch-size", "2", "--preference", "redi", "--pref-steps", "1", "--out", str(out))
    assert run(*args) == 0
    rounds = [json.loads((out / f"round-{r}" / "round.json").read_text()) for r in range(3)]
    assert rounds[0]["model"] == str(start)
    for r in (1, 2):  # each round starts from the model the previous one ended with
        assert rounds[r]["from_model"] == rounds[r - 1]["model"]
        rows = read_jsonl(out / f"round-{r}" / "gen.jsonl")
        assert len(rows) == 4 and all(len(row["completions"]) == 4 for row in rows)
        for row in rows:  # kept traces verify against the gold answer, and every verified one is kept once
            verified = {c for c, s in zip(row["completions"], row["scores"], strict=True) if s == 1.0}
            assert row["label_source"] == "gold" and set(row["kept"]) == verified == set(row["kept"])
            assert len(row["kept"]) == len(set(row["kept"]))
        assert rounds[r]["kept"] == sum(len(row["kept"]) for row in rows)
        assert rounds[r]["samples"] == 16 and rounds[r]["val"]["n"] == 2
    assert rounds[1]["kept"] > 0 and (out / "round-1" / "model" / "sft" / "config.json").is_file()
    # the preference stage trains last, on (right, wrong) pairs of the round's own verified samples
    assert rounds[1]["pairs"] > 0 and rounds[1]["model"] == str(out / "round-1" / "model-pref" / "pref")
    verdicts = {(row["id"], c): sc for row in read_jsonl(out / "round-1" / "gen.jsonl")
                for c, sc in zip(row["completions"], row["scores"], strict=True)}
    pairs = read_jsonl(out / "round-1" / "data" / "pairs.jsonl")
    assert len(pairs) == rounds[1]["pairs"]
    assert all(verdicts[p["prompt"]["id"], p["chosen"]] == 1.0 and verdicts[p["prompt"]["id"], p["rejected"]] == 0.0
               for p in pairs)
    kept = read_jsonl(out / "round-1" / "data" / "sft" / "samples.jsonl")
    assert len(kept) == rounds[1]["kept"]
    gold = {row["id"]: row["gold"] for row in read_jsonl(out / "round-1" / "gen.jsonl")}
    assert all(s["answer"] == gold[s["id"].split("#")[0]] for s in kept)  # trained on the verified answer
    summary = json.loads((out / "summary.json").read_text())
    assert summary["val_accuracy"] == [r_["val"]["accuracy"] for r_ in rounds]
    assert (out / "rounds.png").read_bytes()[:4] == b"\x89PNG" and "Rounds" in (out / "report.html").read_text()

    # Kill round 2 mid-generation: its marker, preference run, datasets and eval gone, gen.jsonl cut
    # after the first batch with a torn line (its finished SFT run kept: a finished stage is not redone).
    # Rerunning leaves round 1 alone and redraws exactly the lost problems.
    r1_stamp = (out / "round-1" / "round.json").stat().st_mtime_ns
    gen2 = out / "round-2" / "gen.jsonl"
    before = read_jsonl(gen2)
    lines = gen2.read_text().splitlines(keepends=True)
    gen2.write_text("".join(lines[:2]) + lines[2][:30])  # batch 1 of 2 written, batch 2 torn
    sft_stamp = (out / "round-2" / "model" / "meta.json").stat().st_mtime_ns
    for p in ("round.json", "model-pref", "data", "eval"):
        target = out / "round-2" / p
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    assert run(*args) == 0
    assert (out / "round-1" / "round.json").stat().st_mtime_ns == r1_stamp
    assert read_jsonl(gen2) == before  # the same completions as the uninterrupted round
    assert (out / "round-2" / "model" / "meta.json").stat().st_mtime_ns == sft_stamp
    again = json.loads((out / "round-2" / "round.json").read_text())
    assert {k: again[k] for k in ("kept", "pass_rate", "val")} == {k: rounds[2][k] for k in ("kept", "pass_rate", "val")}

    # a finished run resumed with other settings is refused, naming them
    assert run(*args[:-4], "--k", "2", "--out", str(out)) == 2


def unlabelled_data(tmp_path: Path, n: int) -> tuple[Path, Path, list]:
    """A JSONL of `n` toy train problems without answers, a val JSONL with answers, and the problems."""
    from foveal.tasks.generate import generate_samples

    train = [s.as_text() for s in generate_samples(["improve_toy"], n, [1], seed=0, split="train")]
    data = tmp_path / "unlabelled.jsonl"
    data.write_text("".join(json.dumps({"id": s.id, "question": s.prompt, "answer_type": "number"}) + "\n"
                            for s in train))
    val = tmp_path / "val.jsonl"
    val.write_text("".join(json.dumps({"id": f"v{i}", "question": s.prompt, "answer": s.answer}) + "\n"
                           for i, s in enumerate(train[:2])))
    return data, val, train


def test_verifier_votes_where_there_is_no_gold_answer(toy, tmp_path):
    """The wiring without a model: unlabelled records load with answer '', the verifier labels them by
    vote (and scores gold problems against gold), and the kept traces become SFT samples with the label."""
    from foveal.improve.problems import Problems
    from foveal.improve.run import Verifier, problem_row, sft_samples
    from foveal.rollout.base import Completion, Group

    data, val, train = unlabelled_data(tmp_path, 2)
    problems = Problems(data=data, val_data=val, pseudo_label=True)
    unlabelled = problems.round(1)
    assert [s.answer for s in unlabelled] == ["", ""] and [s.prompt for s in unlabelled] == [s.prompt for s in train]
    gold = train[0]
    texts = ["<think>a</think><answer>7</answer>", "<think>b</think><answer>7.0</answer>",
             "<think>c</think><answer>3</answer>", "no answer"]
    verify = Verifier("r1", min_agreement=0.5)
    assert verify(texts, [unlabelled[0]] * 4) == [1.0, 1.0, 0.0, 0.0]  # 7 and 7.0 vote together: 2 of 4
    assert verify.verdicts[unlabelled[0].id]["label"] == "7"
    assert verify(texts[2:], [unlabelled[1]] * 2) == [1.0, 0.0]  # 1 of 2 answered: agreement 0.5 is enough
    assert verify.verdicts[unlabelled[1].id]["label"] == "3"
    strict = Verifier("r1", min_agreement=0.75)
    assert strict(texts, [unlabelled[0]] * 4) == [0.0] * 4 and strict.verdicts[unlabelled[0].id]["label"] is None
    right, by_gold = f"<think>x</think><answer>{gold.answer}</answer>", Verifier("r1", min_agreement=0.5)
    assert by_gold([right, texts[2]], [gold] * 2) == [1.0, float(gold.answer == "3")]
    assert by_gold.verdicts[gold.id]["source"] == "gold"

    group = Group(unlabelled[0].id, [Completion(t, token_ids=[i]) for i, t in enumerate(texts)])
    row = problem_row(unlabelled[0], group, verify.verdicts[unlabelled[0].id],
                      [(unlabelled[0], [0]), (unlabelled[0], [1])])
    assert row["kept"] == texts[:2] and row["label_source"] == "majority" and row["pass_rate"] == 0.5
    sft = sft_samples([unlabelled[0]], {unlabelled[0].id: row}, "r1", 1)
    assert [(s.solution, s.answer) for s in sft] == [("a", "7"), ("b", "7")]
    assert len({s.id for s in sft}) == 2


@pytest.mark.long  # a whole pseudo-labelled round on the tiny VLM (~6 s): `make test-slow`
def test_pseudo_labels_by_majority_on_data_without_answers(start, recipe, tmp_path, capsys):
    data, val, _ = unlabelled_data(tmp_path, 6)
    out = tmp_path / "imp"
    base = ("improve", "--model", str(start), "--config", str(recipe), "--rounds", "1", "--k", "4",
            "--data", str(data), "--val-data", str(val), "--out", str(out))
    assert run(*base) == 2 and not out.exists()  # no answers, no --pseudo-label: refused
    assert "--pseudo-label majority" in capsys.readouterr().err
    assert run(*base, "--pseudo-label", "majority", "--min-agreement", "0.5") == 0
    rows = read_jsonl(out / "round-1" / "gen.jsonl")
    assert len(rows) == 6 and all(row["gold"] is None for row in rows)
    for row in rows:
        vote = majority_vote_label(row["answers"], 0.5)
        assert row["label"] == vote.label and row["agreement"] == vote.agreement
        assert row["label_source"] == ("majority" if vote.label is not None else None)
        assert set(row["kept"]) == {c for c, ok in zip(row["completions"], vote.correct, strict=True) if ok}
    info = json.loads((out / "round-1" / "round.json").read_text())
    assert info["pseudo_labelled"] == sum(row["label"] is not None for row in rows) > 0
    labels = {row["id"]: row["label"] for row in rows}
    kept = read_jsonl(out / "round-1" / "data" / "sft" / "samples.jsonl")
    assert kept and all(s["answer"] == labels[s["id"].split("#")[0]] for s in kept)


@pytest.mark.parametrize("extra, message", [
    (("--rounds", "0"), "--rounds"),
    (("--k", "0"), "--k"),
    (("--backend", "tgi"), "--backend 'tgi'"),
    (("--pseudo-label", "mode"), "--pseudo-label 'mode'"),
    (("--preference", "kto", "--pref-steps", "2"), "--preference 'kto'"),
    (("--preference", "dpo"), "--pref-steps"),
    (("--pref-steps", "2"), "--preference"),
    (("--min-agreement", "1.5"), "--min-agreement"),
    (("--tasks", "no_such_task"), "no_such_task"),
    (("--n", "4", "--sample-budget", "64"), "--sample-budget"),
    (("--sample-budget", "3"), "--sample-budget 3"),
    (("--data", "missing.jsonl", "--val-data", "v.jsonl"), "missing.jsonl"),
    (("--data", "missing.jsonl"), "--val-data"),
    (("--data", "d.jsonl", "--val-data", "v.jsonl", "--n-val", "3"), "--n-val"),
])
def test_bad_input_is_refused_before_anything_is_written(toy, recipe, tiny, tmp_path, capsys, extra, message):
    out = tmp_path / "imp"
    argv = {"--model": str(tiny), "--config": str(recipe), "--rounds": "1", "--out": str(out)}
    for i in range(0, len(extra), 2):
        argv[extra[i]] = extra[i + 1]
    assert run("improve", *(x for kv in argv.items() for x in kv)) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_model_recipe_or_unlabelled_data_are_refused(toy, recipe, tmp_path, capsys):
    out = tmp_path / "imp"
    assert run("improve", "--model", str(tmp_path / "nope"), "--config", str(recipe), "--rounds", "1",
               "--out", str(out)) == 2
    assert "--model" in capsys.readouterr().err
    no_sft = tmp_path / "rl_only.yaml"
    no_sft.write_text(RECIPE.replace("steps: 4", "steps: 0") + "rl: {steps: 2}\n")
    assert run("improve", "--model", "tiny", "--config", str(no_sft), "--rounds", "1", "--out", str(out)) == 2
    assert "sft.steps" in capsys.readouterr().err
    assert not out.exists()
    data, val, _ = unlabelled_data(tmp_path, 2)
    assert run("improve", "--model", "tiny", "--config", str(recipe), "--rounds", "1", "--data", str(data),
               "--val-data", str(val), "--out", str(out)) == 2  # no answers and no --pseudo-label
    assert "--pseudo-label majority" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(FovealError, match="--rounds"):
        from foveal.config import load_config
        from foveal.improve import Problems, improve

        improve(load_config(recipe), "tiny", Problems(tasks=("improve_toy",), n=2), out, rounds=0, k=2)
    assert not out.exists()


def test_bad_preference_loss_values_are_refused_with_the_other_settings(toy, recipe):
    """`--preference dpo` with the recipe's pref.loss.args beta 0 is refused by `check_preference`
    (the check `improve` makes before it writes anything), naming the field."""
    from foveal.config import load_config
    from foveal.improve.run import check_preference

    cfg = load_config(recipe, overrides=["pref.loss.name=dpo", "pref.loss.args.beta=0"])
    with pytest.raises(FovealError, match=r"pref.loss.args: dpo: beta must be > 0"):
        check_preference(cfg, "dpo", 2)
    cfg = load_config(recipe, overrides=["pref.loss.name=redi", "pref.loss.args.alpha=-1"])
    with pytest.raises(FovealError, match=r"pref.loss.args: redi: alpha must lie in \[0, 1\]"):
        check_preference(cfg, "redi", 2)
    assert check_preference(load_config(recipe), "dpo", 2) == 2


def test_a_recipe_with_sft_align_makes_its_other_stages(toy, recipe, tmp_path):
    """sft.align is refused without SFT steps, so improve's RL and pref stage recipes leave it out."""
    from foveal.config import load_config
    from foveal.improve.run import stage_config

    aligned = load_config(recipe, overrides=["sft.align.weight=0.5", "data.gym.form=image", "rl.steps=2"])
    (tmp_path / "data").mkdir()
    assert stage_config(aligned, "tiny", tmp_path / "data", "rl", 2).sft.align is None
    assert stage_config(aligned, "tiny", tmp_path / "data", "sft", 2).sft.align == aligned.sft.align


def test_a_recipe_pref_stage_without_preference_is_refused(toy, recipe):
    """improve trains pref only with --preference: a recipe's pref.steps > 0 without it is an error,
    not silently skipped; with it, the recipe's steps are used."""
    from foveal.config import load_config
    from foveal.improve.run import check_preference

    cfg = load_config(recipe, overrides=["pref.steps=3", "pref.generate.k=2"])
    with pytest.raises(FovealError, match="--config: pref.steps is 3, but improve trains a preference stage only with --preference dpo"):
        check_preference(cfg, None, None)
    assert check_preference(cfg, "dpo", None) == 3
    assert check_preference(load_config(recipe), None, None) is None


def test_votes_and_eval_share_one_answer_equivalence():
    """improve's vote and the eval harness use `foveal.eval.metrics.equivalent`: 1/2 and 0.5 agree."""
    from foveal.eval.metrics import equivalent
    from foveal.sample import Sample

    same = equivalent(Sample(id="x", task="t", level=1, seed=0, prompt="?", images=(), answer="0.5", answer_type="number"))
    assert same("1/2", "0.5") and same(" A ", "a") and not same("0.4", "0.5") and not same("x", "0.5")
