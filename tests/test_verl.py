"""verl takes foveal's data and rewards unchanged, through verl's own code (verl 0.9.1).

The documented example, recipes/verl/grpo_vlm.yaml, composed with verl's `ppo_trainer` config by
hydra (only the data paths, the model and the patch size swapped for the tiny VLM's):

- it passes verl's `validate_config`, as `main_ppo` runs it before starting any worker;
- `foveal gen --format verl` parquet loads through verl's `RLHFDataset` with the tiny VLM's processor:
  no row is dropped, every `<image>` becomes an image part, and verl's multimodal path
  (`process_multi_modal_info` + `build_multimodal_processor_inputs`, what its agent loop runs before
  generation) gives the model one image placeholder per visual token, pictures not resized;
- recipes/verl/foveal_reward.py (foveal's accuracy + 0.5 x format through `to_verl`) loads through
  verl's custom-reward loader (`load_reward_manager` -> `get_custom_reward_fn`) and scores decoded
  responses in verl's `NaiveRewardManager`.

verl pins transformers < 5.11, so it lives in its own environment: `make test-integration` builds
`.venv-verl` (layered over `.venv`) and runs this file with FOVEAL_REQUIRE_VERL=1, where a missing verl
is a failure rather than a skip.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from pathlib import Path

import pytest

REQUIRED = bool(os.environ.get("FOVEAL_REQUIRE_VERL"))  # set by `make test-integration`: missing verl fails
verl, _ = (importlib.import_module(m) if REQUIRED else pytest.importorskip(m) for m in ("verl", "qwen_vl_utils"))

EXAMPLE = Path(__file__).resolve().parents[1] / "recipes" / "verl"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny VLM, a verl parquet from `foveal gen` (image, video and text rows) and verl's composed config."""
    from hydra import compose, initialize_config_dir

    from foveal.cli import main
    from foveal.models import build_tiny_vlm

    root = tmp_path_factory.mktemp("verl")
    build_tiny_vlm(root / "tiny", seed=0, text_layers=1, text_hidden=64, text_heads=2, text_intermediate=128,
                   vision_depth=1, vision_embed=32)
    with pytest.raises(SystemExit) as done:
        main(["gen", "--tasks", "count,motion", "--n", "3", "--levels", "1", "--forms", "image,text",
              "--format", "verl", "--out", str(root / "data")])
    assert done.value.code in (0, None)
    with initialize_config_dir(config_dir=str(EXAMPLE), version_base=None):
        cfg = compose(config_name="grpo_vlm", overrides=[
            f"data.train_files={root / 'data' / 'train.parquet'}",
            f"data.val_files={root / 'data' / 'train.parquet'}",
            f"actor_rollout_ref.model.path={root / 'tiny'}",
            "data.image_patch_size=8",  # the tiny VLM's patch (Qwen2.5-VL: 14)
            f"reward.custom_reward_function.path={EXAMPLE / 'foveal_reward.py'}",
        ])
    return root, cfg


def test_the_example_config_passes_verls_own_validation(setup):
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    _, cfg = setup
    assert cfg.algorithm.adv_estimator == "grpo" and cfg.actor_rollout_ref.rollout.n == 8
    assert need_reference_policy(cfg) and not need_critic(cfg)  # GRPO with a KL loss: a reference, no critic
    validate_config(config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))


def test_rlhf_dataset_reads_foveal_parquet_with_the_models_processor(setup):
    import pyarrow.parquet as pq
    from transformers import AutoProcessor
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer import build_multimodal_processor_inputs

    from foveal.tasks.export import load_samples

    root, cfg = setup
    processor = AutoProcessor.from_pretrained(root / "tiny")
    samples = load_samples(root / "data")
    ds = RLHFDataset(data_files=cfg.data.train_files, tokenizer=processor.tokenizer, config=cfg.data, processor=processor)
    assert len(ds) == len(samples) == pq.read_table(root / "data" / "train.parquet").num_rows  # none failed to process
    merge = processor.image_processor.merge_size
    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    kinds = set()
    for i, sample in enumerate(samples):
        row = ds[i]
        assert row["extra_info"]["id"] == sample.id and row["reward_model"]["ground_truth"] == sample.answer
        messages = row["raw_prompt"]
        parts = [p for m in messages if isinstance(m["content"], list) for p in m["content"]]
        assert sum(p["type"] == "image" for p in parts) == len(sample.images)  # a video: one part per frame
        images, videos, audios = asyncio.run(RLHFDataset.process_multi_modal_info(
            messages, image_patch_size=processor.image_processor.patch_size, config=cfg.data))
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = build_multimodal_processor_inputs(processor, text=[text], images=images, videos=videos, audio=audios)
        n_pad = int((inputs["input_ids"][0] == image_pad).sum())
        if sample.images:
            own = processor.image_processor(images=list(sample.images), return_tensors="pt")["image_grid_thw"]
            assert inputs["image_grid_thw"].tolist() == own.tolist()  # verl resized nothing away
            assert n_pad == int(own.prod(-1).sum()) // merge**2 > 0
            kinds.add("video" if len(sample.images) > 1 else "image")
        else:
            assert images is None and n_pad == 0 and sample.prompt in text
            kinds.add("text")
    assert kinds == {"image", "video", "text"}


def test_verls_custom_reward_loader_runs_foveals_reward(setup):
    import numpy as np
    import pyarrow.parquet as pq
    import torch
    from transformers import AutoProcessor
    from verl import DataProto
    from verl.trainer.ppo.reward import get_custom_reward_fn, load_reward_manager

    root, cfg = setup
    tokenizer = AutoProcessor.from_pretrained(root / "tiny").tokenizer
    assert get_custom_reward_fn(cfg) is not None
    manager = load_reward_manager(cfg, tokenizer)
    assert type(manager).__name__ == "NaiveRewardManager"
    rows = pq.read_table(root / "data" / "train.parquet").to_pylist()
    scored = []
    for row in rows:
        gold = row["reward_model"]["ground_truth"]
        wrong = ("B" if gold == "A" else "A") if row["extra_info"]["answer_type"] == "choice" else str(int(gold) + 1)
        for answer, want in ((gold, 1.5), (wrong, 0.5)):  # accuracy + 0.5 x format (the R1 layout is right)
            ids = tokenizer(f"<think>counting</think><answer>{answer}</answer>", add_special_tokens=False)["input_ids"]
            prompt = [tokenizer.pad_token_id] * 3
            data = DataProto.from_dict(
                tensors={"prompts": torch.tensor([prompt]), "responses": torch.tensor([ids]),
                         "attention_mask": torch.ones(1, len(prompt) + len(ids), dtype=torch.long)},
                non_tensors={k: np.array([row[k]], dtype=object) for k in ("data_source", "reward_model", "extra_info")},
            )
            out = manager.loop.run_until_complete(manager.run_single(data))
            scored.append((out["reward_score"], want))
    assert scored and all(got == want for got, want in scored), scored
