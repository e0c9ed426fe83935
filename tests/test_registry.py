"""The registries: one Registry class behind algorithms, rewards, samplers, tasks and backends;
`foveal algos` lists them; the RL loop and the run driver never compare against a registered name."""

import ast
import json
from pathlib import Path

import pytest
import torch

from foveal.errors import FovealError
from foveal.registry import Registry

SRC = Path(__file__).parent.parent / "src" / "foveal"


def test_registry_refuses_duplicates_suggests_close_names_and_reads_options():
    reg = Registry("widget")

    @reg.register("spin", fast=True)
    def spin(x, *, speed: float = 1.0, ctx=None):
        """Spin x. More text here."""
        return x * speed

    with pytest.raises(ValueError, match="widget 'spin' is already registered"):
        reg.add("spin", lambda x: x)
    reg.add("spin", spin)  # the same function again is harmless
    with pytest.raises(FovealError, match=r"unknown widget 'spni' \(did you mean spin\? known: spin\)"):
        reg.get("spni")
    entry = reg.entry("spin")
    assert entry.options == {"speed": 1.0} and entry.doc == "Spin x. More text here." and entry.flags == {"fast": True}
    assert reg.build("spin", {"speed": 3.0})(2) == 6.0
    with pytest.raises(FovealError, match=r"here: widget 'spin' has no option\(s\) \['sped'\] \(its options: speed=1.0\)"):
        reg.build("spin", {"sped": 3.0}, "here")
    assert "spin" in reg and list(reg) == ["spin"] and reg["spin"] is spin and reg.get("nope", None) is None
    del reg["spin"]
    assert "spin" not in reg


def test_a_class_entry_is_built_with_its_options_and_keeps_state():
    reg = Registry("counter")

    @reg.register("count")
    class Count:
        """Counts calls."""

        def __init__(self, start: int = 0):
            self.n = start

        def __call__(self):
            self.n += 1
            return self.n

    c = reg.build("count", {"start": 5})
    assert c() == 6 and reg.entry("count").options == {"start": 0}


def test_lazy_entries_import_on_first_use():
    reg = Registry("thing")
    reg.register_lazy("join", "os.path:join", "join paths")
    assert reg.get("join")("a", "b") == "a/b" and reg.entry("join").doc == "join paths"


def test_rewards_have_roles_and_every_registry_serves_its_callers():
    from foveal.rewards import REWARDS, get_reward, reward_role
    from foveal.rollout import BACKENDS, get_backend
    from foveal.tasks import TASKS
    from foveal.train import algos

    assert reward_role("accuracy") == "correctness" and reward_role("format") == "format" and reward_role("length") is None
    assert isinstance(REWARDS, Registry) and isinstance(BACKENDS, Registry) and isinstance(TASKS, Registry)
    with pytest.raises(FovealError, match="did you mean accuracy"):
        get_reward("acuracy")
    with pytest.raises(FovealError, match="unknown rollout backend 'hff' .*did you mean hf"):
        get_backend("hff")
    assert algos.ADVANTAGES.flag("grpo", "needs_groups") and not algos.ADVANTAGES.flag("reinforce", "needs_groups")
    assert torch.equal(algos.BETA_SCHEDULES["constant"](0, 3, value=0.04), torch.full((3,), 0.04))


def test_reference_updates_mix_parameters_as_trl_sync_ref_model_does():
    from foveal.train.reference import REF_UPDATES

    policy, ref = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        policy.weight.copy_(torch.tensor([[1.0, 3.0]]))
        ref.weight.copy_(torch.tensor([[0.0, 1.0]]))
    sync = REF_UPDATES.build("sync", {"alpha": 0.25, "every": 2})
    sync(policy, ref, step=1)  # not a multiple of `every`: unchanged
    assert ref.weight.tolist() == [[0.0, 1.0]]
    sync(policy, ref, step=2)  # ref <- 0.25 * policy + 0.75 * ref
    assert ref.weight.tolist() == [[0.25, 1.5]]
    REF_UPDATES.build("ema", {"alpha": 0.5})(policy, ref, step=3)
    assert ref.weight.tolist() == [[0.625, 2.25]]
    assert REF_UPDATES.entry("sync").options == {"alpha": 0.6, "every": 512}  # TRL's defaults


def _registered_names() -> set[str]:
    from foveal.train.commands import registries

    return {name for reg in registries().values() for name in reg}


@pytest.mark.parametrize("module", ["train/rl.py", "train/run.py"])
def test_the_loop_and_the_driver_compare_nothing_against_a_registered_name(module):
    """Options flow through the registries: no `== "grpo"`, no `"accuracy" in per_fn`, no stage special cases."""
    names = _registered_names()
    assert {"grpo", "ppo_clip", "accuracy", "format", "k3", "constant", "hf", "count", "uniform"} <= names
    tree = ast.parse((SRC / module).read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Constant) and isinstance(side.value, str) and side.value in names:
                    found.append(f"line {node.lineno}: {side.value!r}")
    assert not found, found


def test_foveal_algos_lists_every_registry_with_options_and_docs(capsys):
    from foveal.cli import main

    with pytest.raises(SystemExit) as e:
        main(["algos", "--json"])
    assert e.value.code == 0
    listing = json.loads(capsys.readouterr().out)
    assert list(listing) == ["advantages", "policy_losses", "aggregations", "kl_estimators", "beta_schedules",
                             "ref_updates", "preference_losses", "rewards", "samplers", "tasks", "backends"]
    by = {section: {e["name"]: e for e in entries} for section, entries in listing.items()}
    assert by["advantages"]["grpo"]["options"] == {"scale": "group", "eps": 0.0001}
    assert by["advantages"]["grpo"]["flags"] == {"needs_groups": True} and by["advantages"]["grpo"]["doc"].startswith("GRPO")
    assert list(by["policy_losses"]["ppo_clip"]["options"])[:2] == ["clip_low", "clip_high"]
    assert by["policy_losses"]["ppo_clip"]["options"]["clip_high"] == 0.2
    assert by["beta_schedules"]["constant"]["options"] == {"value": 0.0}
    assert by["rewards"]["accuracy"]["flags"] == {"role": "correctness"}
    assert {"uniform"} <= by["samplers"].keys() and {"hf", "openai"} <= by["backends"].keys() and "count" in by["tasks"]
    with pytest.raises(SystemExit) as e:
        main(["algos"])
    text = capsys.readouterr().out
    assert e.value.code == 0 and "ppo_clip(clip_low=0.2, clip_high=0.2" in text and "[role=correctness]" in text


def test_the_reference_is_copied_without_accelerates_bf16_wrapper_as_a_reloaded_one_would_be():
    """A reference copied from the prepared policy must score as one reloaded from disk on resume
    (which has no autocast wrapper). Run in a subprocess: accelerate's mixed-precision state is global."""
    import subprocess
    import sys

    code = """
import torch
from accelerate import Accelerator
from foveal.train.reference import frozen_copy
torch.manual_seed(0)
acc = Accelerator(cpu=True, mixed_precision="bf16")
model = acc.prepare(torch.nn.Linear(8, 8))
x = torch.randn(4, 8)
reloaded = torch.nn.Linear(8, 8)
reloaded.load_state_dict(acc.unwrap_model(model).state_dict())
ref = frozen_copy(acc, model)
assert not torch.equal(model(x), reloaded(x))                    # the prepared policy computes in bf16
assert torch.equal(ref(x), reloaded(x))
assert not torch.equal(model(x), reloaded(x))                    # copying left the policy's wrapper in place
with acc.autocast():
    assert torch.equal(ref(x), reloaded(x))
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
