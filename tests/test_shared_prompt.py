"""Shared prompts (`Policy.share_prompts`): each repeated prompt run once, its KV cache serving its
completions, gives the log-probs, entropies and gradients of running every row whole; a model whose
cache cannot be shared takes the plain pass."""

from __future__ import annotations

import copy

import pytest
import torch

import foveal.tasks as gym
from foveal.config import config_from_dict
from foveal.errors import FovealError
from foveal.models.policy import prompt_sharing_unsupported
from foveal.models.tiny import build_tiny_lm, build_tiny_vlm
from foveal.train import train
from foveal.train.rl import share_prompt

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def vlm():
    return build_tiny_vlm(text_layers=2, vision_depth=1)


@pytest.fixture(scope="module")
def lm():
    return build_tiny_lm(text_layers=2)


def rows_and_completions(form: str):
    """Runs of 3, 2, 1 and 2 rows (the last prompt repeats the first, not adjacent to it), completions of
    1 to 8 random tokens."""
    samples = [gym.get("count").generate(seed, 1, form) for seed in range(3)]
    rows = [samples[0]] * 3 + [samples[1]] * 2 + [samples[2]] + [samples[0]] * 2
    gen = torch.Generator().manual_seed(0)
    lengths = [1, 8, 3, 5, 2, 7, 4, 6]
    return rows, [torch.randint(10, 200, (n,), generator=gen).tolist() for n in lengths]


def logprobs_and_grads(policy, batch):
    """(log-probs, entropies, gradient of a weighted sum of both w.r.t. every parameter, the model's
    forward calls' batch sizes)."""
    sizes: list[int] = []
    hook = policy.model.register_forward_hook(
        lambda m, args, kwargs, out: sizes.append(kwargs["input_ids"].shape[0]), with_kwargs=True)
    try:
        logp, entropy = policy.token_logprobs(batch, temperature=0.9)
    finally:
        hook.remove()
    w = torch.linspace(-1, 1, logp.numel()).view_as(logp)
    params = [p for p in policy.model.parameters() if p.requires_grad]
    grads = torch.autograd.grad((logp * w).sum() + 0.1 * entropy.sum(), params, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]  # text: no vision
    return logp.detach(), entropy.detach(), grads, sizes


@pytest.mark.parametrize("model,form", [("vlm", "image"), ("vlm", "text"), ("lm", "text")])
def test_shared_prompt_equals_the_plain_pass(model, form, request):
    policy = request.getfixturevalue(model)
    policy.model.train()
    rows, comps = rows_and_completions(form)
    plain = policy.encode_pairs(rows, comps)
    shared = policy.share_prompts(plain, rows)
    assert shared["prompt_runs"].tolist() == [3, 2, 1, 2]
    lp, ep, gp, plain_sizes = logprobs_and_grads(policy, plain)
    ls, es, gs, shared_sizes = logprobs_and_grads(policy, shared)
    assert plain_sizes == [8] and shared_sizes == [4, 8]  # the prompts ran once each, then the completions
    assert (lp - ls).abs().max() <= 1e-5 and (ep - es).abs().max() <= 1e-5
    assert lp.abs().max() > 1  # real log-probs, not the masked zeros
    assert max((a - b).abs().max().item() for a, b in zip(gp, gs, strict=True)) <= 1e-5
    assert max(g.abs().max().item() for g in gp) > 0.1


def test_no_repeated_prompt_leaves_the_batch_unmarked(lm):
    rows, comps = rows_and_completions("text")
    distinct = [rows[0], rows[3], rows[5]]
    batch = lm.encode_pairs(distinct, comps[:3])
    assert "prompt_runs" not in lm.share_prompts(batch, distinct)


def test_a_sliding_window_cache_takes_the_plain_pass(lm):
    """Sliding-window layers drop old positions from the cache: the prompt is not shared, the
    log-probs are the plain pass's, and `rl.share_prompt: true` is refused."""
    config = copy.deepcopy(lm.model.config)
    config.use_sliding_window, config.sliding_window = True, 4
    config.layer_types = ["sliding_attention"] * config.num_hidden_layers
    policy = copy.copy(lm)
    policy.model = type(lm.model)(config).eval()
    assert "DynamicSlidingWindowLayer" in prompt_sharing_unsupported(policy.model)
    assert prompt_sharing_unsupported(lm.model) is None
    rows, comps = rows_and_completions("text")
    plain = policy.encode_pairs(rows, comps)
    shared = policy.share_prompts(plain, rows)
    assert share_prompt("auto", policy.model) is False and share_prompt("auto", lm.model) is True
    assert share_prompt(False, lm.model) is False
    with pytest.raises(FovealError, match="rl.share_prompt is true.*DynamicSlidingWindowLayer"):
        share_prompt(True, policy.model)
    lp, _, _, plain_sizes = logprobs_and_grads(policy, plain)
    ls, _, _, shared_sizes = logprobs_and_grads(policy, shared)
    assert plain_sizes == shared_sizes == [8] and torch.equal(lp, ls)


def test_share_prompt_option_is_validated(tiny, tmp_path):
    base = {"data": {"gym": {"tasks": ["count"]}}, "rl": {"steps": 1}}
    assert config_from_dict(base).rl.share_prompt == "auto"
    assert config_from_dict(base, overrides=["rl.share_prompt=false"]).rl.share_prompt is False
    with pytest.raises(FovealError, match="share_prompt"):
        config_from_dict(base, overrides=["rl.share_prompt=sometimes"])
    tree = {**base, "model": {"path": str(tiny), "gradient_checkpointing": True}}
    with pytest.raises(FovealError, match="rl.share_prompt is true.*gradient checkpointing"):
        train(config_from_dict(tree, overrides=["rl.share_prompt=true"]), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before anything is written


def test_gradient_checkpointing_takes_the_plain_pass(lm):
    """Checkpointed layers run without their cache when training: sharing is refused, not silently wrong."""
    policy = copy.copy(lm)
    policy.model = copy.deepcopy(lm.model).train()
    policy.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    assert "gradient checkpointing" in prompt_sharing_unsupported(policy.model)
    rows, comps = rows_and_completions("text")
    plain = policy.encode_pairs(rows, comps)
    lp, _, gp, _ = logprobs_and_grads(policy, plain)
    ls, _, gs, sizes = logprobs_and_grads(policy, policy.share_prompts(plain, rows))
    assert sizes == [8] and torch.equal(lp, ls)
    assert all(torch.equal(a, b) for a, b in zip(gp, gs, strict=True))


def test_the_default_is_left_out_of_a_recorded_config_and_a_choice_is_kept():
    """config.yaml and experiment plans read as before prompt sharing existed unless it was set."""
    import yaml

    from foveal.config import config_from_dict, dump_config

    tree = {"data": {"gym": {"tasks": ["count"], "levels": [1]}}, "rl": {"steps": 1}}
    auto = config_from_dict(tree)
    assert "share_prompt" not in yaml.safe_load(dump_config(auto))["rl"]
    assert config_from_dict(yaml.safe_load(dump_config(auto))) == auto
    off = config_from_dict(tree, overrides=["rl.share_prompt=false"])
    assert yaml.safe_load(dump_config(off))["rl"]["share_prompt"] is False
