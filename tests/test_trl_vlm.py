"""TRL drop-in for VLMs: `foveal gen --format trl` output trains in TRL's own GRPOTrainer, unchanged.

    GRPOTrainer(model=<VLM dir>, train_dataset=load_from_disk(DIR),
                reward_funcs=[to_trl(accuracy), to_trl(format_reward)])

on the tiny VLM, with image samples (count) and video samples (motion: 4 frames in `images`).
"""

from __future__ import annotations

import pytest

from foveal.rewards import accuracy, format_reward, to_trl

pytest.importorskip("trl")


def test_grpo_trainer_trains_the_tiny_vlm_on_foveal_gen_trl_output(tmp_path, one_thread):
    import torch
    from datasets import load_from_disk
    from trl import GRPOConfig, GRPOTrainer

    from foveal.cli import main
    from foveal.models import build_tiny_vlm

    model_dir = tmp_path / "tiny"
    build_tiny_vlm(model_dir, seed=0, text_layers=1, text_hidden=64, text_heads=2, text_intermediate=128,
                   vision_depth=1, vision_embed=32)
    data = tmp_path / "data"
    with pytest.raises(SystemExit) as done:
        main(["gen", "--tasks", "count,motion", "--n", "4", "--levels", "1", "--format", "trl", "--out", str(data)])
    assert done.value.code in (0, None)

    seen: list[tuple[str, str, str]] = []  # (task, answer, answer_type) of every scored completion

    def recording_accuracy(completions, samples):
        seen.extend((s.task, s.answer, s.answer_type) for s in samples)
        return accuracy(completions, samples)

    recording_accuracy.__name__ = "accuracy"

    def distinct_chars(completions, samples):  # varies between an untrained model's completions: a gradient
        return [len(set(c)) / max(len(c), 1) for c in completions]
    dataset = load_from_disk(str(data))
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_generations=2, max_completion_length=8,
        max_steps=3, learning_rate=1e-3, logging_steps=1, report_to="none", save_strategy="no", use_cpu=True,
        bf16=False, seed=0, dataloader_num_workers=0, disable_tqdm=True, gradient_checkpointing=False,
    )
    trainer = GRPOTrainer(model=str(model_dir), train_dataset=dataset, args=args,
                          reward_funcs=[to_trl(recording_accuracy), to_trl(format_reward), to_trl(distinct_chars)])
    before = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()

    assert trainer.state.global_step == 3
    logged = {k for entry in trainer.state.log_history for k in entry}
    assert {"rewards/accuracy/mean", "rewards/format_reward/mean"} <= logged
    assert len(seen) == 3 * 4 and set(seen) <= {(r["task"], r["answer"], r["answer_type"]) for r in dataset}
    assert {task for task, _, _ in seen} == {"count", "motion"}  # image and video (4-frame) samples trained on
    after = trainer.model.state_dict()
    vision = [k for k in before if k.startswith("model.visual.")]
    assert vision and any(not torch.equal(before[k], after[k]) for k in vision)  # the pictures reached the model
