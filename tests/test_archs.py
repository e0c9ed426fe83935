"""The embedded architectures (`tiny-deep`, `tiny-llava`, `tiny-idefics3`): built by name, <= 3 M
parameters, saved and reloaded with plain transformers Auto classes, generating from an image prompt
with log-probs equal to the teacher-forced ones, and trained one SFT step by `foveal train`."""

from __future__ import annotations

import pytest
import torch

from foveal import tasks
from foveal.config import config_from_dict
from foveal.errors import FovealError
from foveal.models import load_policy
from foveal.models.tiny import ARCHS
from foveal.rollout import Sampling, get_backend
from foveal.train import train

pytestmark = pytest.mark.usefixtures("one_thread")
NEW = [name for name in ARCHS if name != "tiny"]
# a parameter of each model's vision tower (its first patch embedding)
VISION_KEY = {
    "tiny-deep": "model.visual.patch_embed.proj.weight",
    "tiny-llava": "model.vision_tower.embeddings.patch_embedding.weight",
    "tiny-idefics3": "model.vision_model.embeddings.patch_embedding.weight",
}


@pytest.fixture(scope="module")
def samples():
    """Two image prompts of different shapes (a square scene, a wide number line)."""
    return [tasks.get("spatial").generate(3, 1), tasks.get("number_line").generate(3, 1)]


@pytest.mark.parametrize("name", NEW)
def test_builds_saves_reloads_and_generates(name, samples, tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    policy = load_policy(name, seed=1)
    assert policy.is_vlm and 0.5e6 < policy.num_parameters() <= 3e6
    assert not torch.equal(policy.model.state_dict()[VISION_KEY[name]],
                           load_policy(name, seed=2).model.state_dict()[VISION_KEY[name]])
    policy.save(tmp_path / "m")
    model = AutoModelForImageTextToText.from_pretrained(tmp_path / "m")
    processor = AutoProcessor.from_pretrained(tmp_path / "m")
    assert type(model) is type(policy.model) and type(processor) is type(policy.processor)
    saved = model.state_dict()
    assert all(torch.equal(v, saved[k]) for k, v in policy.model.state_dict().items())

    reloaded = load_policy(tmp_path / "m", system_prompt=None)
    policy.system_prompt = None
    a, b = policy.encode_prompts(samples), reloaded.encode_prompts(samples)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    n_image = int((a["input_ids"] == model.config.image_token_id).sum())
    assert n_image >= 2 * 16  # every image expanded to its visual tokens

    backend = get_backend("hf", policy=reloaded, batch_size=4)
    groups = backend.generate(samples, n=2, sampling=Sampling(temperature=1.0, max_new_tokens=5, seed=0))
    comps = [c for g in groups for c in g.completions]
    assert len(comps) == 4 and all(c.token_ids for c in comps)
    pairs = reloaded.encode_pairs([s for s in samples for _ in range(2)], [c.token_ids for c in comps])
    logp, _ = reloaded.token_logprobs(pairs)
    for c, row in zip(comps, logp, strict=True):
        assert torch.allclose(torch.tensor(c.logprobs), row[: len(c.logprobs)], atol=1e-4)


@pytest.mark.parametrize("name", NEW)
def test_one_sft_step_by_name_reaches_the_vision_tower(name, tmp_path):
    tree = {
        "model": {"path": name, "system_prompt": None},
        "data": {"gym": {"tasks": ["spatial"], "levels": [1]}},
        "sft": {"steps": 1, "batch_size": 2, "micro_batch_size": 2, "optim": {"lr": 1e-2, "warmup_steps": 0}},
        "rl": {"steps": 0},
        "log": {"progress": False},
        "seed": 3,
    }
    run = train(config_from_dict(tree), out=tmp_path / "run")
    after = load_policy(run / "sft").model.state_dict()
    before = load_policy(name, seed=3).model.state_dict()
    assert not torch.equal(after[VISION_KEY[name]], before[VISION_KEY[name]])


def test_unknown_model_name_suggests_the_close_one(tmp_path):
    with pytest.raises(FovealError, match=r"unknown model name 'tiny-lava' \(did you mean tiny-llava"):
        load_policy("tiny-lava")
    with pytest.raises(FovealError, match="does not exist"):  # a path still gets the path's error
        load_policy(tmp_path / "tiny-lava")


def test_model_tiny_command_builds_each_arch(tmp_path):
    """`foveal model tiny --arch NAME` writes the same weights as the builder, loadable with plain transformers."""
    import os
    import subprocess
    import sys

    from transformers import AutoConfig

    out = tmp_path / "llava"
    r = subprocess.run([sys.executable, "-m", "foveal.cli", "model", "tiny", "--arch", "tiny-llava", "--seed", "3",
                        "--out", str(out)], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert "LlavaForConditionalGeneration" in r.stdout
    assert AutoConfig.from_pretrained(out).model_type == "llava"
    want = ARCHS["tiny-llava"](seed=3).model.state_dict()
    got = load_policy(str(out)).model.state_dict()
    assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)
