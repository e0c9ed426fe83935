"""The vllm backend. Without vLLM (every CPU machine): the clear install error. With vLLM and CUDA:
the tiny VLM generates with images, its sampled-token log-probs match a teacher-forced forward
pass of the same weights, and `load_weights` swaps in another model's weights in memory."""

from __future__ import annotations

import importlib.util

import pytest

from foveal import tasks
from foveal.errors import FovealError
from foveal.rollout import get_backend
from foveal.rollout.base import Sampling

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here")
def test_without_vllm_the_error_says_how_to_install(tmp_path):
    with pytest.raises(FovealError, match=r"pip install 'foveal\[vllm\]'"):
        get_backend("vllm", model_path=str(tmp_path))


gpu = pytest.mark.skipif(not (HAS_VLLM and has_cuda()), reason="needs vLLM and a CUDA device")


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    """Two tiny VLMs with the same architecture and different weights (seeds 0 and 1)."""
    from foveal.models import build_tiny_vlm

    root = tmp_path_factory.mktemp("vllm")
    return [build_tiny_vlm(root / f"tiny{s}", seed=s).name for s in (0, 1)]


def teacher_forced(model_dir, groups, samples):
    """Policy.token_logprobs of each completion under the weights in `model_dir` (float32, CUDA)."""
    from foveal.models import load_policy

    policy = load_policy(model_dir, device="cuda", dtype="float32")
    out = []
    for g, s in zip(groups, samples, strict=True):
        ids = [c.token_ids for c in g.completions]
        batch = policy.encode_pairs([s] * len(ids), ids)
        logp, _ = policy.token_logprobs(batch)
        out.append([logp[i, : len(t)].tolist() for i, t in enumerate(ids)])
    return out


@pytest.mark.gpu
@gpu
def test_vllm_generates_with_images_logprobs_and_weight_reload(tiny_dirs):
    from foveal.models import load_policy
    from foveal.rollout.vllm import VLLMBackend

    samples = [tasks.get("count").generate(s, 1) for s in range(4)]
    backend = VLLMBackend(
        tiny_dirs[0], gpu_memory_utilization=0.15, max_model_len=1024, enforce_eager=True, dtype="float32"
    )
    sampling = Sampling(temperature=1.0, max_new_tokens=16, seed=0)
    groups = backend.generate(samples, n=4, sampling=sampling)
    assert [g.prompt_id for g in groups] == [s.id for s in samples]
    image_pad = backend.formatter.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for g in groups:
        assert len(g.completions) == 4 and g.prompt_token_ids.count(image_pad) > 0
        for c in g.completions:
            assert 0 < len(c.token_ids) == len(c.logprobs) and c.finish_reason in ("stop", "length")
    # the same seed gives the same samples
    again = backend.generate(samples, n=4, sampling=sampling)
    assert [[c.token_ids for c in g.completions] for g in again] == [
        [c.token_ids for c in g.completions] for g in groups
    ]

    ref0 = teacher_forced(tiny_dirs[0], groups, samples)
    for g, ref in zip(groups, ref0, strict=True):
        for c, r in zip(g.completions, ref, strict=True):
            assert c.logprobs == pytest.approx(r, abs=2e-3)

    # weight sync: seed-1 weights in memory -> log-probs follow the new weights
    new = load_policy(tiny_dirs[1], device="cuda", dtype="float32").model.state_dict()
    assert backend.load_weights(new) > 0
    swapped = backend.generate(samples, n=4, sampling=sampling)
    ref1 = teacher_forced(tiny_dirs[1], swapped, samples)
    for g, ref in zip(swapped, ref1, strict=True):
        for c, r in zip(g.completions, ref, strict=True):
            assert c.logprobs == pytest.approx(r, abs=2e-3)
    old_under_new = teacher_forced(tiny_dirs[1], groups, samples)
    assert any(
        abs(a - b) > 1e-2
        for g, ref in zip(groups, old_under_new, strict=True)
        for c, r in zip(g.completions, ref, strict=True)
        for a, b in zip(c.logprobs, r, strict=True)
    ), "seed 0 and seed 1 weights score alike, so the reload check above would prove nothing"
