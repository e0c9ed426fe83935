"""The hf rollout backend: log-prob parity with a teacher-forced forward, determinism, stops, order."""

from __future__ import annotations

import base64

import pytest
import torch

from foveal import tasks
from foveal.errors import FovealError
from foveal.models import build_tiny_vlm, completion_mask
from foveal.models.tiny import build_tiny_lm
from foveal.rollout import Sampling, get_backend
from foveal.rollout.hf import HFBackend
from foveal.sample import png_bytes

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = {"text_layers": 2, "vision_depth": 1}


@pytest.fixture(scope="module")
def policy():
    return build_tiny_vlm(seed=5, **SMALL)


def prompts():
    """Mixed lengths on purpose: video frames, two image sizes, a text form, raw messages."""
    count, motion = tasks.get("count"), tasks.get("motion")
    img = count.generate(3, 1)
    url = "data:image/png;base64," + base64.b64encode(png_bytes(img.images[0])).decode()
    msgs = [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": "How many?"},
            ],
        }
    ]
    return [motion.generate(1, 1), img, count.generate(8, 2), count.generate(9, 1).as_text(), msgs]


def assert_parity(policy, prompts, groups):
    """Every completion's backend log-probs equal `token_logprobs` teacher-forced, within 1e-4."""
    flat = [(p, c) for p, g in zip(prompts, groups, strict=True) for c in g.completions]
    batch = policy.encode_pairs([p for p, _ in flat], [c.token_ids for _, c in flat])
    with torch.no_grad():
        logp, _ = policy.token_logprobs(batch)
    mask = completion_mask(batch)
    for i, (_, c) in enumerate(flat):
        assert len(c.logprobs) == len(c.token_ids) == int(mask[i].sum())
        assert torch.allclose(logp[i, : len(c.token_ids)], torch.tensor(c.logprobs), atol=1e-4)


def test_logprobs_match_a_teacher_forced_forward(policy):
    ps = prompts()
    backend = HFBackend(policy, batch_size=4)  # n=2 -> 2 prompts per call -> 3 generate calls
    groups = backend.generate(
        ps, n=2, sampling=Sampling(temperature=1.3, top_p=0.9, max_new_tokens=12, seed=7)
    )
    assert [g.prompt_id for g in groups] == [ps[0].id, ps[1].id, ps[2].id, ps[3].id, "4"]
    assert all(len(g.completions) == 2 for g in groups)
    assert_parity(policy, ps, groups)
    for p, g in zip(ps, groups, strict=True):  # prompt ids are the unpadded encoding of that prompt alone
        assert g.prompt_token_ids == policy.encode_prompts([p])["input_ids"][0].tolist()


def test_deterministic_under_a_seed_and_leaves_global_rng_alone(policy):
    ps, backend = prompts()[:3], HFBackend(policy, batch_size=8)
    sampling = Sampling(temperature=1.0, max_new_tokens=10, seed=11)
    state = torch.get_rng_state()
    a = backend.generate(ps, n=3, sampling=sampling)
    assert torch.equal(state, torch.get_rng_state())
    b = backend.generate(ps, n=3, sampling=sampling)
    c = backend.generate(ps, n=3, sampling=Sampling(temperature=1.0, max_new_tokens=10, seed=12))
    ids = lambda gs: [x.token_ids for g in gs for x in g.completions]  # noqa: E731
    assert ids(a) == ids(b) and ids(a) != ids(c)
    assert len({tuple(x) for x in ids(a)}) > 1  # samples within a group differ


def test_greedy_batched_equals_unbatched_generate(policy):
    ps = prompts()[:4]
    groups = HFBackend(policy, batch_size=8).generate(
        ps, n=1, sampling=Sampling(temperature=0, max_new_tokens=8)
    )
    for p, g in zip(ps, groups, strict=True):
        enc = policy.encode_prompts([p])
        with torch.no_grad():
            out = policy.model.generate(**enc, max_new_tokens=8, do_sample=False)
        assert g.completions[0].token_ids == out[0, enc["input_ids"].shape[1] :].tolist()
        assert g.completions[0].finish_reason == "length"


def test_stop_strings_and_eos_cut_the_completion(policy):
    backend = HFBackend(policy)
    p = prompts()[1]
    sampled = Sampling(temperature=1.0, max_new_tokens=24, seed=3)  # greedy just repeats one token
    full = backend.generate([p], 1, sampled)[0].completions[0]
    words = [policy.tokenizer.decode([t]) for t in full.token_ids]
    j = next(
        j
        for j in range(3, len(words))
        if words[j].strip().isascii()
        and words[j].strip().isalpha()
        and words[j].strip() not in policy.tokenizer.decode(full.token_ids[:j])
    )
    stop = words[j].strip()
    cut = backend.generate([p], 1, Sampling(temperature=1.0, max_new_tokens=24, seed=3, stop=(stop,)))[
        0
    ].completions[0]
    assert cut.finish_reason == "stop" and cut.text.endswith(stop) and cut.text.count(stop) == 1
    assert full.token_ids[: len(cut.token_ids)] == cut.token_ids and len(cut.token_ids) == j + 1
    assert cut.logprobs == full.logprobs[: len(cut.token_ids)]
    eos = full.token_ids[2]
    policy.model.generation_config.eos_token_id = [policy.tokenizer.eos_token_id, eos]
    try:
        ended = backend.generate([p], 1, sampled)[0].completions[0]
    finally:
        policy.model.generation_config.eos_token_id = policy.tokenizer.eos_token_id
    first = full.token_ids.index(eos)
    assert ended.finish_reason == "stop" and ended.token_ids == full.token_ids[: first + 1]


def test_text_only_model_gets_text_twins_with_parity():
    lm = build_tiny_lm(seed=2, text_layers=2)
    ps = prompts()[1:4]
    groups = get_backend("hf", policy=lm, batch_size=3).generate(
        ps, n=2, sampling=Sampling(max_new_tokens=10, seed=1)
    )
    assert_parity(lm, ps, groups)
    assert lm.tokenizer.decode(groups[0].prompt_token_ids).count(ps[0].text_twin) == 1


def test_bad_arguments(policy):
    with pytest.raises(FovealError, match="unknown rollout backend"):
        get_backend("tgi")
    backend = HFBackend(policy)
    with pytest.raises(FovealError, match="n must be"):
        backend.generate(prompts()[:1], 0, Sampling())
    with pytest.raises(FovealError, match="sampling"):
        backend.generate(prompts()[:1], 1, Sampling(top_p=0))
