"""Recipes: YAML in, validated config out; errors name the file and the field."""

from pathlib import Path

import pytest

from foveal.config import config_from_dict, dump_config, load_config
from foveal.errors import FovealError
from foveal.train.algos import check_rl_config

RECIPES = sorted((Path(__file__).parent.parent / "recipes").glob("*.yaml"))
GYM = {"gym": {"tasks": ["count"], "levels": [1]}}


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_committed_recipe_validates(path):
    cfg = load_config(path)
    assert cfg.sft.steps or cfg.rl.steps or cfg.pref.steps


def test_recipes_cover_the_algorithms():
    names = {p.stem for p in RECIPES}
    assert {"sft_coldstart", "grpo", "drgrpo", "dapo", "gspo"} <= names
    dapo = load_config(Path("recipes/dapo.yaml"))
    clip = dapo.rl.loss.args
    assert dapo.rl.dynamic_sampling and clip["clip_high"] > clip["clip_low"] and dapo.rl.aggregation.name == "token-mean"
    assert load_config(Path("recipes/gspo.yaml")).rl.loss.name == "gspo"
    assert load_config(Path("recipes/drgrpo.yaml")).rl.aggregation.name == "seq-mean-token-sum-norm"
    assert load_config(Path("recipes/grpo.yaml")).rl.beta.args == {"value": 0.04}


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_committed_recipes_use_the_current_spelling(path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        cfg = load_config(path)
    check_rl_config(cfg.rl)


def test_old_flat_fields_map_onto_function_options_with_a_deprecation_naming_the_new_spelling():
    old = {"advantage": "grpo", "scale_rewards": "batch", "loss": "ppo_clip", "clip_low": 0.2, "clip_high": 0.28,
           "aggregation": "token-mean", "kl": "k2", "beta": 0.04}
    with pytest.warns(DeprecationWarning) as caught:
        cfg = config_from_dict({"data": GYM, "rl": {"steps": 1, **old}})
    said = " | ".join(str(w.message) for w in caught)
    assert "rl.advantage: {name: grpo, args: {scale: batch}}" in said
    assert "rl.loss: {name: ppo_clip, args: {clip_low: 0.2, clip_high: 0.28}}" in said
    assert "rl.beta: {name: constant, args: {value: 0.04}}" in said
    new = config_from_dict({"data": GYM, "rl": {
        "steps": 1, "advantage": {"name": "grpo", "args": {"scale": "batch"}},
        "loss": {"name": "ppo_clip", "args": {"clip_low": 0.2, "clip_high": 0.28}},
        "aggregation": {"name": "token-mean"}, "kl": {"name": "k2"}, "beta": {"name": "constant", "args": {"value": 0.04}}}})
    assert cfg == new
    # scale_rewards applied to the grpo advantage only, as before
    with pytest.warns(DeprecationWarning):
        dr = config_from_dict({"data": GYM, "rl": {"steps": 1, "advantage": "drgrpo", "scale_rewards": "none"}})
    assert dr.rl.advantage.args == {}


def test_unknown_option_names_the_field_the_function_and_its_options():
    cfg = config_from_dict({"data": GYM, "rl": {"steps": 1, "loss": {"name": "ppo_clip", "args": {"clip_hi": 0.3}}}})
    with pytest.raises(FovealError, match=r"rl\.loss\.args: policy loss 'ppo_clip' has no option\(s\) \['clip_hi'\] "
                                          r"\(its options: clip_low=0.2, clip_high=0.2"):
        check_rl_config(cfg.rl)
    cfg = config_from_dict({"data": GYM, "rl": {"steps": 1, "beta": {"name": "constant", "args": {"valeu": 1}}}})
    with pytest.raises(FovealError, match=r"rl\.beta\.args: beta schedule 'constant' has no option"):
        check_rl_config(cfg.rl)


def test_unknown_field_names_file_and_field(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("data: {gym: {tasks: [count]}}\nrl: {steps: 1, gruop_size: 4}\n")
    with pytest.raises(FovealError, match=r"r\.yaml: rl\.gruop_size: unknown field"):
        load_config(p)


def test_overrides_are_yaml_values_and_validated():
    cfg = config_from_dict({"data": GYM}, overrides=["rl.steps=5", "rl.beta=0.04", "data.gym.tasks=[count,spatial]"])
    assert cfg.rl.steps == 5 and cfg.rl.beta.args == {"value": 0.04} and list(cfg.data.gym.tasks) == ["count", "spatial"]
    cfg = config_from_dict({"data": GYM}, overrides=["rl.steps=1", "rl.loss.args.clip_high=0.28"])
    assert cfg.rl.loss.name == "ppo_clip" and cfg.rl.loss.args == {"clip_high": 0.28}
    with pytest.raises(FovealError, match="rl.steps"):
        config_from_dict({"data": GYM}, overrides=["rl.steps=-1"])
    with pytest.raises(FovealError, match="key=value"):
        config_from_dict({"data": GYM}, overrides=["rl.steps"])


def test_group_advantage_needs_two_completions():
    """Checked where the algorithms are registered (config.py sits below train/)."""
    with pytest.raises(FovealError, match="group_size must be >= 2"):
        check_rl_config(config_from_dict({"data": GYM, "rl": {"steps": 1, "group_size": 1}}).rl)
    cfg = config_from_dict({"data": GYM, "rl": {"steps": 1, "group_size": 1, "advantage": {"name": "reinforce"}}})
    check_rl_config(cfg.rl)
    assert cfg.rl.group_size == 1


@pytest.mark.parametrize("field", ["advantage", "loss", "aggregation", "kl", "beta", "ref_update"])
def test_unknown_algorithm_names_are_rejected_with_the_registered_ones(field):
    cfg = config_from_dict({"data": GYM, "rl": {"steps": 1, field: {"name": "ppo2"}}})
    with pytest.raises(FovealError, match=rf"^rl\.{field}: unknown .* 'ppo2' \(.*known: ") as e:
        check_rl_config(cfg.rl)
    assert len(str(e.value).splitlines()) == 1


def test_unknown_name_suggests_close_matches():
    cfg = config_from_dict({"data": GYM, "rl": {"steps": 1, "advantage": {"name": "grp"}}})
    with pytest.raises(FovealError, match="did you mean grpo"):
        check_rl_config(cfg.rl)


def test_bad_names_and_sources_are_rejected():
    with pytest.raises(FovealError, match="unknown task"):
        config_from_dict({"data": {"gym": {"tasks": ["nope"]}}, "sft": {"steps": 1}})
    with pytest.raises(FovealError, match="no level"):
        config_from_dict({"data": {"gym": {"tasks": ["count"], "levels": [99]}}, "sft": {"steps": 1}})
    with pytest.raises(FovealError, match="data.dataset: /no/such/dir is not a directory"):
        config_from_dict({"data": {"dataset": "/no/such/dir"}, "sft": {"steps": 1}})
    with pytest.raises(FovealError, match="exactly one"):
        config_from_dict({"data": {}, "sft": {"steps": 1}})
    with pytest.raises(FovealError, match="nothing to train"):
        config_from_dict({"data": GYM})


def test_dump_round_trips(tmp_path):
    cfg = config_from_dict({"data": GYM, "rl": {"steps": 3}, "model": {"lora": {"r": 4}}})
    p = tmp_path / "c.yaml"
    p.write_text(dump_config(cfg))
    assert load_config(p) == cfg


def test_overrides_leave_the_callers_nested_dicts_alone():
    from foveal.config import config_from_dict

    tree = {"data": {"gym": {"tasks": ["count"], "levels": [1]}}, "sft": {"steps": 3}, "rl": {"steps": 2}}
    cfg = config_from_dict(tree, overrides=["sft.steps=7", "rl.steps=0", "data.gym.levels=[2]"])
    assert (cfg.sft.steps, cfg.rl.steps, cfg.data.gym.levels) == (7, 0, [2])
    assert tree == {"data": {"gym": {"tasks": ["count"], "levels": [1]}}, "sft": {"steps": 3}, "rl": {"steps": 2}}
