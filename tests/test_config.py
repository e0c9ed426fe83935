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
    assert cfg.sft.steps or cfg.rl.steps


def test_recipes_cover_the_algorithms():
    names = {p.stem for p in RECIPES}
    assert {"sft_coldstart", "grpo", "drgrpo", "dapo", "gspo"} <= names
    dapo = load_config(Path("recipes/dapo.yaml"))
    assert dapo.rl.dynamic_sampling and dapo.rl.clip_high > dapo.rl.clip_low and dapo.rl.aggregation == "token-mean"
    assert load_config(Path("recipes/gspo.yaml")).rl.loss == "gspo"
    assert load_config(Path("recipes/drgrpo.yaml")).rl.aggregation == "seq-mean-token-sum-norm"


def test_unknown_field_names_file_and_field(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("data: {gym: {tasks: [count]}}\nrl: {steps: 1, gruop_size: 4}\n")
    with pytest.raises(FovealError, match=r"r\.yaml: rl\.gruop_size: unknown field"):
        load_config(p)


def test_overrides_are_yaml_values_and_validated():
    cfg = config_from_dict({"data": GYM}, overrides=["rl.steps=5", "rl.beta=0.04", "data.gym.tasks=[count,spatial]"])
    assert cfg.rl.steps == 5 and cfg.rl.beta == 0.04 and list(cfg.data.gym.tasks) == ["count", "spatial"]
    with pytest.raises(FovealError, match="rl.steps"):
        config_from_dict({"data": GYM}, overrides=["rl.steps=-1"])
    with pytest.raises(FovealError, match="key=value"):
        config_from_dict({"data": GYM}, overrides=["rl.steps"])


def test_group_advantage_needs_two_completions():
    """Checked where the algorithms are registered (config.py sits below train/)."""
    with pytest.raises(FovealError, match="group_size must be >= 2"):
        check_rl_config(config_from_dict({"data": GYM, "rl": {"steps": 1, "group_size": 1}}).rl)
    cfg = config_from_dict({"data": GYM, "rl": {"steps": 1, "group_size": 1, "advantage": "reinforce"}})
    check_rl_config(cfg.rl)
    assert cfg.rl.group_size == 1


@pytest.mark.parametrize("field", ["advantage", "loss", "aggregation", "kl"])
def test_unknown_algorithm_names_are_rejected_with_the_registered_ones(field):
    cfg = config_from_dict({"data": GYM, "rl": {"steps": 1, field: "ppo2"}})
    with pytest.raises(FovealError, match=rf"^rl\.{field}: unknown 'ppo2'; expected one of \[.*'") as e:
        check_rl_config(cfg.rl)
    assert len(str(e.value).splitlines()) == 1


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
