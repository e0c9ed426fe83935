"""The curriculum samplers (staged, band, sec): their equations against hand-computed values, the
recipe checks, the state they keep, and a resumed `sec` run matching an uninterrupted one."""

import math
import random
import shutil

import pytest
import torch

from foveal.config import config_from_dict
from foveal.errors import FovealError
from foveal.io import read_jsonl
from foveal.train.checkpoint import list_checkpoints
from foveal.train.context import StepContext
from foveal.train.data import PromptSource
from foveal.train.samplers import SAMPLERS, band_weight, boltzmann, ema_update, td0, uniform

GYM = {"tasks": ["count", "block_count"], "levels": [1, 2]}


def _source(sampler, gym=None, seed=0) -> PromptSource:
    return PromptSource(config_from_dict({"data": {"gym": gym or GYM, "sampler": sampler}, "rl": {"steps": 1}}).data, seed=seed)


def _ctx(tasks, levels, group_ids, correct=None, advantages=None, step=0, forms=None) -> StepContext:
    n = len(tasks)
    return StepContext(step=step, tasks=tasks, levels=levels, samples=None, texts=[""] * n, lengths=torch.zeros(n),
                       group_ids=torch.tensor(group_ids), forms=forms,
                       correct=None if correct is None else torch.tensor(correct, dtype=torch.float32),
                       advantages=None if advantages is None else torch.tensor(advantages, dtype=torch.float32))


# -- uniform: the default stream is the one recipes always had ------------------------------------

def test_no_sampler_draws_the_uniform_stream_exactly():
    drawn = PromptSource(config_from_dict({"data": {"gym": GYM}, "rl": {"steps": 1}}).data, seed=3).draw(12)
    want = [uniform(random.Random(f"3:draw:{k}"), {"count": 1.0, "block_count": 1.0}, [1, 2]) for k in range(12)]
    assert [(s.task, s.level, s.form) for s in drawn] == [(t, lv, "image") for t, lv in want]


# -- band ---------------------------------------------------------------------------------------

def test_band_weight_and_ema_by_hand():
    assert band_weight(0.5, 0.2, 0.8, 0.02) == 1.0
    assert band_weight(0.25, 0.2, 0.8, 0.02) == pytest.approx(0.75)  # 4 * 0.25 * 0.75
    assert band_weight(0.8, 0.2, 0.8, 0.02) == pytest.approx(0.64)  # the edge is inside
    assert band_weight(0.9, 0.2, 0.8, 0.02) == 0.02 and band_weight(0.0, 0.2, 0.8, 0.0) == 0.0
    assert ema_update(0.5, 1.0, 0.25) == pytest.approx(0.625)


def test_band_learns_pass_rates_and_weights_arms_by_them():
    band = SAMPLERS.build("band", {"lo": 0.2, "hi": 0.8, "ema": 0.5, "prior": 0.5, "floor": 0.1})
    # count:1 -> 2 prompts (groups 0, 1), 4 completions, 3 right; block_count:2 -> 1 prompt, both wrong
    log = band.update(_ctx(["count"] * 4 + ["block_count"] * 2, [1] * 4 + [2] * 2, [0, 0, 1, 1, 2, 2],
                           correct=[1, 1, 1, 0, 0, 0]))
    assert log["draws"] == {"block_count:2": 1, "count:1": 2}
    assert log["pass"] == {"block_count:2": 0.0, "count:1": 0.75}
    assert band.p == {"count:1": pytest.approx(0.625), "block_count:2": pytest.approx(0.25)}  # 0.5·0.5 + 0.5·p̂
    names, w = band.weights({"count": 1.0, "block_count": 3.0}, [1, 2])
    # w_t/|levels| · band_weight: count:1 0.5·4·0.625·0.375, count:2 0.5·1 (prior 0.5), block_count:1 1.5·1,
    # block_count:2 1.5·4·0.25·0.75
    assert names == ["count:1", "count:2", "block_count:1", "block_count:2"]
    assert w == pytest.approx([0.46875, 0.5, 1.5, 1.125])
    band.p["count:1"] = 0.95  # out of the band: the floor
    assert band.weights({"count": 1.0, "block_count": 3.0}, [1, 2])[1][0] == pytest.approx(0.05)


def test_band_falls_back_to_the_static_mix_when_no_arm_is_in_the_band():
    band = SAMPLERS.build("band", {"floor": 0.0})
    band.load_state_dict({"p": {a: 0.0 for a in ("count:1", "count:2")}})
    assert band.weights({"count": 2.0}, [1, 2]) == (["count:1", "count:2"], [1.0, 1.0])


# -- sec ----------------------------------------------------------------------------------------

def test_td0_and_boltzmann_by_hand():
    assert td0(0.2, 1.0, 0.5) == pytest.approx(0.6)
    assert td0(0.6, 0.0, 0.25) == pytest.approx(0.45)
    tau = 0.5
    assert boltzmann([0.0, tau * math.log(3)], tau) == pytest.approx([0.25, 0.75])
    assert boltzmann([0.0, tau * math.log(3)], tau, prior=[3.0, 1.0]) == pytest.approx([0.5, 0.5])
    assert boltzmann([1000.0, 0.0], 1.0) == pytest.approx([1.0, 0.0])  # no overflow


def test_sec_rewards_arms_with_their_mean_absolute_advantage():
    sec = SAMPLERS.build("sec", {"alpha": 0.5, "tau": 0.25})
    # count:1: |A| = 1, 1, 0, 0 -> r = 0.5; block_count:1: |A| = 2, 2 -> r = 2
    log = sec.update(_ctx(["count"] * 4 + ["block_count"] * 2, [1] * 6, [0, 0, 1, 1, 2, 2],
                          advantages=[1, -1, 0, 0, 2, -2]))
    assert sec.q == {"count:1": pytest.approx(0.25), "block_count:1": pytest.approx(1.0)}
    assert log["sec_q"] == {"block_count:1": 1.0, "count:1": 0.25} and log["draws"] == {"block_count:1": 1, "count:1": 2}
    sec.update(_ctx(["count"] * 2, [1, 1], [0, 0], advantages=[0.5, -0.5], step=1))
    assert sec.q["count:1"] == pytest.approx(0.375) and sec.q["block_count:1"] == pytest.approx(1.0)  # undrawn: kept
    names, p = sec.weights({"count": 1.0, "block_count": 1.0}, [1, 2])
    q = {"count:1": 0.375, "count:2": 0.0, "block_count:1": 1.0, "block_count:2": 0.0}
    z = sum(math.exp(v / 0.25) for v in q.values())
    assert p == pytest.approx([math.exp(q[a] / 0.25) / z for a in names])
    rng = random.Random(0)
    counts = {a: 0 for a in names}
    for _ in range(4000):
        t, lv = sec(rng, {"count": 1.0, "block_count": 1.0}, [1, 2])
        counts[f"{t}:{lv}"] += 1
    assert [counts[a] / 4000 for a in names] == pytest.approx(p, abs=0.03)


@pytest.mark.parametrize("name", ["sec", "band", "staged"])
def test_an_sft_stage_draws_what_uniform_draws(name):
    """Curricula learn from RL steps; an SFT cold start gets the same problems as a run without one."""
    sampler = {"name": name, "args": {"stages": STAGES} if name == "staged" else {}}
    learned = {"sec": {"q": {"count:1": 3.0}}, "band": {"p": {"count:1": 0.0, "count:2": 0.0, "block_count:1": 0.0}}}
    source = _source(sampler)
    if name in learned:
        source.load_sampler_state(learned[name])
    plain = PromptSource(config_from_dict({"data": {"gym": GYM}, "rl": {"steps": 1}}).data)
    assert [s.id for s in source.draw(10, step=1, stage="sft")] == [s.id for s in plain.draw(10)]
    assert [s.id for s in source.draw(10, step=1, stage="pref")] == [s.id for s in plain.draw(10)]
    assert [s.id for s in source.draw(10, step=1)] == [s.id for s in plain.draw(10)]  # a caller outside a run
    assert [s.id for s in source.draw(10, step=1, stage="rl")] != [s.id for s in plain.draw(10)]


def test_sampler_state_round_trips_through_torch_save(tmp_path):
    sec = SAMPLERS.build("sec", {})
    sec.update(_ctx(["count"] * 2, [2, 2], [0, 0], advantages=[0.3, -0.3]))
    torch.save({"sampler": sec.state_dict()}, tmp_path / "stage.pt")
    again = SAMPLERS.build("sec", {})
    again.load_state_dict(torch.load(tmp_path / "stage.pt", weights_only=False)["sampler"])
    tasks = {"count": 1.0}
    assert again.weights(tasks, [1, 2]) == sec.weights(tasks, [1, 2])
    assert [again(random.Random(k), tasks, [1, 2]) for k in range(20)] == [sec(random.Random(k), tasks, [1, 2]) for k in range(20)]


# -- staged -------------------------------------------------------------------------------------

STAGES = [{"until": 2, "tasks": ["count"], "levels": [1], "forms": ["text"]}, {"until": 5, "levels": [2]}, {"until": None}]


def test_staged_boundaries_tasks_levels_and_forms():
    source = _source({"name": "staged", "args": {"stages": STAGES}})
    assert [source.sampler.index(s) for s in (0, 1, 2, 4, 5, 1000)] == [0, 0, 1, 1, 2, 2]
    first = source.draw(12, step=1, stage="rl")
    assert {(s.task, s.level, s.form) for s in first} == {("count", 1, "text")}
    second = source.draw(30, step=2, stage="rl")
    assert {s.level for s in second} == {2} and {s.form for s in second} == {"image"}
    assert {s.task for s in second} == {"count", "block_count"}
    last = source.draw(30, step=5, stage="rl")
    assert {s.level for s in last} == {1, 2} and {s.task for s in last} == {"count", "block_count"}
    log = source.update(_ctx(["count"] * 2, [1, 1], [0, 0], correct=[1, 0], step=1, forms=["text"] * 2))
    assert log == {"draws": {"count:1": 1}, "pass": {"count:1": 0.5}, "curriculum_stage": 0, "forms": {"text": 1}}


@pytest.mark.parametrize(("sampler", "message"), [
    ({"name": "secc"}, "data.sampler.name: unknown sampler 'secc' (did you mean sec?"),
    ({"name": "sec", "args": {"alpah": 0.5}}, "data.sampler.args: sampler 'sec' has no option(s) ['alpah']"),
    ({"name": "sec", "args": {"tau": 0}}, "data.sampler.args.tau: 0 is outside (0, inf]"),
    ({"name": "band", "args": {"lo": 0.7, "hi": 0.3}}, "data.sampler.args.hi: 0.3 is below lo 0.7"),
    ({"name": "band", "args": {"ema": "fast"}}, "data.sampler.args.ema: expected a number, got 'fast'"),
    ({"name": "staged"}, "data.sampler.args: sampler 'staged' needs option(s) ['stages']"),
    ({"name": "staged", "args": {"stages": [{"until": 3}]}}, "data.sampler.args.stages[0].until: the last stage runs to the end"),
    ({"name": "staged", "args": {"stages": [{"until": 3}, {"until": 3}, {}]}}, "stages[1].until: 3 must be larger than"),
    ({"name": "staged", "args": {"stages": [{"tasks": ["chart"]}]}}, "stages[0].tasks: ['chart'] not in data.gym.tasks"),
    ({"name": "staged", "args": {"stages": [{"levels": [3]}]}}, "stages[0].levels: [3] not in data.gym.levels [1, 2]"),
    ({"name": "staged", "args": {"stages": [{"forms": ["mixed"]}]}}, "stages[0].forms: task(s) ['block_count'] have no 'mixed' form"),
    ({"name": "staged", "args": {"stages": [{"step": 3}]}}, "stages[0]: unknown key(s) ['step']"),
])
def test_bad_sampler_configs_are_one_line_errors_naming_the_field(sampler, message):
    with pytest.raises(FovealError) as e:
        _source(sampler)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(("sampler", "steps", "message"), [
    ("sec", {"sft": {"steps": 2}}, "data.sampler 'sec' acts only during rl, but rl.steps is 0"),
    ("band", {"sft": {"steps": 2}}, "data.sampler 'band' acts only during rl, but rl.steps is 0"),
    ({"name": "staged", "args": {"stages": STAGES}}, {"sft": {"steps": 2}}, "'staged' acts only during rl, but rl.steps is 0"),
    ({"name": "staged", "args": {"stages": STAGES, "during": "sft"}}, {"rl": {"steps": 2}},
     "data.sampler 'staged' acts only during sft, but sft.steps is 0"),
])
def test_a_sampler_that_would_never_act_is_refused(sampler, steps, message):
    """A curriculum whose stage has no steps would draw uniform's stream: a one-line error, not a silent no-op."""
    from foveal.train.data import build_sampler, check_sampler

    cfg = config_from_dict({"data": {"gym": GYM, "sampler": sampler}, **steps})
    with pytest.raises(FovealError, match=message) as e:
        check_sampler(cfg, build_sampler(cfg.data))
    assert "\n" not in str(e.value)
    ok = config_from_dict({"data": {"gym": GYM, "sampler": sampler}, "sft": {"steps": 2}, "rl": {"steps": 2}})
    check_sampler(ok, build_sampler(ok.data))


def test_config_yaml_names_a_sampler_only_when_the_recipe_has_one(tmp_path):
    """Runs and experiment plans without a curriculum dump as they did before samplers existed."""
    from foveal.config import dump_config, load_config

    plain = config_from_dict({"data": {"gym": GYM}, "rl": {"steps": 1}})
    assert "sampler" not in dump_config(plain)
    sec = config_from_dict({"data": {"gym": GYM, "sampler": {"name": "sec", "args": {"tau": 0.2}}}, "rl": {"steps": 1}})
    (tmp_path / "c.yaml").write_text(dump_config(sec))
    assert load_config(tmp_path / "c.yaml") == sec


def test_a_sampler_with_a_dataset_is_refused(tmp_path):
    with pytest.raises(FovealError, match="data.sampler draws from data.gym"):
        config_from_dict({"data": {"dataset": str(tmp_path), "sampler": "sec"}, "rl": {"steps": 1}})
    assert config_from_dict({"data": {"gym": GYM, "sampler": "sec"}, "rl": {"steps": 1}}).data.sampler.name == "sec"


def test_algos_lists_the_curricula_with_options_and_docs():
    from foveal.train.commands import registries

    listed = {e["name"]: e for e in registries()["samplers"].describe()}
    assert {"uniform", "staged", "band", "sec"} <= listed.keys()
    assert listed["sec"]["options"] == {"alpha": 0.5, "tau": 0.5, "q0": 0.0}
    assert listed["band"]["options"]["lo"] == 0.2 and listed["staged"]["options"]["stages"] == "(required)"
    assert all(listed[n]["doc"] for n in ("staged", "band", "sec"))


# -- a real run: logged draws, a curriculum plot, and a resume that matches -----------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A very small tiny VLM (1 text layer of width 64): a real model, quick to train."""
    from foveal.models import build_tiny_vlm

    out = tmp_path_factory.mktemp("models") / "tiny"
    build_tiny_vlm(out, seed=0, text_layers=1, text_hidden=64, text_heads=2, text_intermediate=128, vision_depth=1, vision_embed=32)
    return out


def test_sec_run_logs_its_draws_and_resumes_bit_identically(small, one_thread, tmp_path):
    from foveal.eval.report import build_report
    from foveal.rewards import REWARDS, register_reward
    from foveal.train import train

    @register_reward("test_sampler_length")
    def by_length(completions, samples):  # varies between random completions, so advantages are not all 0
        return [len(c) / 32 for c in completions]

    tree = {"model": {"path": str(small)}, "data": {"gym": GYM, "sampler": {"name": "sec", "args": {"tau": 0.1}}},
            "sampling": {"max_new_tokens": 8}, "log": {"progress": False},
            "rewards": [{"name": "accuracy"}, {"name": "test_sampler_length"}],
            "rl": {"steps": 3, "prompts_per_step": 4, "group_size": 2, "optim": {"lr": 1e-3}},
            "checkpoint": {"every": 1, "keep": 5}}
    try:
        full = train(config_from_dict(tree), out=tmp_path / "full")
        cut = tmp_path / "cut"
        train(config_from_dict(tree), out=cut)
        for p in list_checkpoints(cut)[1:]:  # a crash after step 1: later checkpoints and the model are gone
            shutil.rmtree(p)
        shutil.rmtree(cut / "rl")
        state = torch.load(list_checkpoints(cut)[0] / "stage.pt", weights_only=False)
        assert state["sampler"]["q"] and any(q > 0 for q in state["sampler"]["q"].values())
        train(None, resume=cut)
    finally:
        del REWARDS["test_sampler_length"]
    rows, again = read_jsonl(full / "train.jsonl"), read_jsonl(cut / "train.jsonl")
    assert [r["step"] for r in again] == [1, 2, 3]
    assert all(sum(r["draws"].values()) == 4 and set(r["pass"]) == set(r["draws"]) for r in rows)
    assert [(r["draws"], r["sec_q"], r["reward_mean"]) for r in again] == [(r["draws"], r["sec_q"], r["reward_mean"]) for r in rows]
    a = torch.load(list_checkpoints(full)[-1] / "model.pt", weights_only=True)
    b = torch.load(list_checkpoints(cut)[-1] / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    page = build_report([], tmp_path / "report.html", train=[full]).read_text()
    assert page.count('alt="curriculum draws"') == 1


def test_the_report_has_no_curriculum_panel_without_a_curriculum(tmp_path):
    from foveal.eval.report import build_report

    (tmp_path / "train.jsonl").write_text('{"stage": "rl", "step": 1, "loss": 1.0}\n{"stage": "rl", "step": 2, "loss": 0.5}\n')
    assert 'alt="curriculum draws"' not in build_report([], tmp_path / "report.html", train=[tmp_path]).read_text()


def test_foveal_train_with_a_bad_sampler_exits_2_in_one_line_and_writes_nothing(small, tmp_path, capsys):
    import yaml

    from foveal.cli import main

    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"model": {"path": str(small)}, "rl": {"steps": 1},
                                      "data": {"gym": GYM, "sampler": {"name": "sec", "args": {"temperature": 1}}}}))
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--config", str(recipe), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1
    assert "data.sampler.args: sampler 'sec' has no option(s) ['temperature'] (its options: alpha=0.5" in err
    assert not (tmp_path / "run").exists()
