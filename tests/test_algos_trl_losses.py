"""TRL 1.16's further loss types (cispo, sapo, vespo, bnpo, luspo, two-sided clip, top-entropy mask)
and verl's dual-clip, against small examples worked by hand in the comments."""

import math

import pytest
import torch

from foveal.train import algos

T = torch.tensor


def _logp_with_ratios(ratios, old=0.0):
    """(logp, old_logp) whose ratio exp(logp - old) is `ratios`, logp requiring grad."""
    old_logp = torch.full((1, len(ratios)), old)
    logp = (old_logp + T([ratios]).log()).requires_grad_(True)
    return logp, old_logp


def test_two_sided_clip_caps_the_ratio_for_negative_advantages():
    logp, old = _logp_with_ratios([0.7, 1.0, 1.5, 3.0])
    mask = torch.ones(1, 4)
    plain = algos.ppo_clip_loss(logp, old, T([-1.0]), mask).loss
    # A = -1: L = max(rho, clip(rho, 0.8, 1.2)) = [0.8, 1.0, 1.5, 3.0]
    assert torch.allclose(plain, T([[0.8, 1.0, 1.5, 3.0]]), atol=1e-6)
    loss, clipped, _ = algos.ppo_clip_loss(logp, old, T([-1.0]), mask, delta=2.0)
    # delta 2: L = max(min(rho, 2), clip(rho)) = [0.8, 1.0, 1.5, 2.0]
    assert torch.allclose(loss, T([[0.8, 1.0, 1.5, 2.0]]), atol=1e-6)
    assert clipped.tolist() == [[True, False, False, True]]
    loss.sum().backward()
    # dL/dlogp = rho where rho is unclipped (d rho / d logp = rho), 0 where clip or delta bind
    assert torch.allclose(logp.grad, T([[0.0, 1.0, 1.5, 0.0]]), atol=1e-6)


def test_two_sided_clip_below_one_plus_clip_high_also_caps_positive_advantages():
    logp, old = _logp_with_ratios([0.7, 1.0, 1.15, 3.0])
    # A = +1, delta 1.1 < 1.2: L = -min(min(rho, 1.1), clip(rho, 0.8, 1.2)) = -[0.7, 1.0, 1.1, 1.1]
    loss, clipped, _ = algos.ppo_clip_loss(logp, old, T([1.0]), torch.ones(1, 4), delta=1.1)
    assert torch.allclose(loss, T([[-0.7, -1.0, -1.1, -1.1]]), atol=1e-6)
    assert clipped.tolist() == [[False, False, True, True]]  # constant 1.1 above delta: no gradient
    # A = -1: L = max(min(rho, 1.1), clip(rho)) = [0.8, 1.0, max(1.1, 1.15) = 1.15, max(1.1, 1.2) = 1.2]
    loss, clipped, _ = algos.ppo_clip_loss(logp, old, T([-1.0]), torch.ones(1, 4), delta=1.1)
    assert torch.allclose(loss, T([[0.8, 1.0, 1.15, 1.2]]), atol=1e-6)
    assert clipped.tolist() == [[True, False, False, True]]  # 1.15 keeps its gradient through clip(rho)


def test_verl_dual_clip_bounds_the_loss_of_negative_advantages():
    logp, old = _logp_with_ratios([0.7, 1.0, 1.5, 4.0])
    mask = torch.ones(1, 4)
    loss, clipped, ratio = algos.ppo_clip_loss(logp, old, T([-2.0]), mask, clip_ratio_c=3.0)
    # verl: pg1 = -A rho = [1.4, 2, 3, 8]; pg2 = -A clip(rho, .8, 1.2) = [1.6, 2, 2.4, 2.4]
    # max(pg1, pg2) = [1.6, 2, 3, 8]; pg3 = -A c = 6; A < 0 -> min(., 6) = [1.6, 2, 3, 6]
    assert torch.allclose(loss, T([[1.6, 2.0, 3.0, 6.0]]), atol=1e-6)
    assert clipped.tolist() == [[True, False, False, True]]
    assert torch.allclose(ratio, T([[0.7, 1.0, 1.5, 4.0]]), atol=1e-6)
    loss.sum().backward()
    # d(-A rho)/dlogp = 2 rho on the unclipped tokens: 2 * 1 and 2 * 1.5; 0 where a bound holds
    assert torch.allclose(logp.grad, T([[0.0, 2.0, 3.0, 0.0]]), atol=1e-6)
    # A > 0 is untouched: -min(rho, clip(rho)) = -[0.7, 1.0, 1.2, 1.2]
    pos = algos.ppo_clip_loss(logp, old, T([2.0]), mask, clip_ratio_c=3.0).loss
    assert torch.allclose(pos, -2 * T([[0.7, 1.0, 1.2, 1.2]]), atol=1e-6)
    with pytest.raises(ValueError, match="clip_ratio_c must be > 1"):
        algos.ppo_clip_loss(logp, old, T([-2.0]), mask, clip_ratio_c=1.0)


def test_cispo_clips_the_weight_and_keeps_every_gradient():
    # logp = -1 everywhere, ratios 0.5, 1, 2 (old = logp - log rho); cap 1 + clip_high = 1.5
    logp = torch.full((1, 3), -1.0, requires_grad=True)
    old = -1.0 - T([[0.5, 1.0, 2.0]]).log()
    loss, clipped, ratio = algos.POLICY_LOSSES["cispo"](logp, old, T([2.0]), torch.ones(1, 3), clip_high=0.5)
    # weight = min(rho, 1.5) = [0.5, 1, 1.5]; L = -w * A * logp = -w * 2 * (-1) = [1, 2, 3]
    assert torch.allclose(loss, T([[1.0, 2.0, 3.0]]), atol=1e-6)
    assert clipped.tolist() == [[False, False, True]]
    loss.sum().backward()
    # dL/dlogp = -w * A = [-1, -2, -3]: the capped token still has a gradient
    assert torch.allclose(logp.grad, T([[-1.0, -2.0, -3.0]]), atol=1e-6)


def test_sapo_gate_is_the_policy_gradient_on_policy_and_fades_off_policy():
    logp, old = _logp_with_ratios([1.0, 2.0])
    loss, clipped, _ = algos.POLICY_LOSSES["sapo"](logp, old, T([1.0]), torch.ones(1, 2))
    # tau = 1 (A > 0): L = -4 sigmoid(rho - 1) * A; sigmoid(0) = 0.5, sigmoid(1) = 1 / (1 + e^-1)
    s1 = 1 / (1 + math.exp(-1))
    assert torch.allclose(loss, T([[-2.0, -4 * s1]]), atol=1e-6)
    assert not clipped.any()
    loss.sum().backward()
    # dL/dlogp = -4 s (1 - s) rho A: -4 * 0.25 * 1 = -1 at rho = 1; -4 s1 (1 - s1) * 2 at rho = 2
    assert torch.allclose(logp.grad, T([[-1.0, -8 * s1 * (1 - s1)]]), atol=1e-6)
    # A < 0 uses temperature_neg = 1.05: L = -(4 / 1.05) * 0.5 * (-1) = 2 / 1.05
    neg = algos.sapo_loss(logp.detach()[:, :1], old[:, :1], T([-1.0]), torch.ones(1, 1)).loss
    assert neg.item() == pytest.approx(2 / 1.05, abs=1e-6)


def test_vespo_gamma_weight_of_the_sequence_ratio():
    # two real tokens with log-ratios 0.5 and ln 2 - 0.5 (sum ln 2, so w = 2) and a padded third
    logp = T([[-1.0, -2.0, 7.0]], requires_grad=True)
    old = logp.detach() - T([[0.5, math.log(2) - 0.5, 9.0]])
    mask = T([[1.0, 1.0, 0.0]])
    loss, clipped, ratio = algos.POLICY_LOSSES["vespo"](logp, old, T([1.0]), mask)
    # A >= 0: k 2, lambda 3: phi = e^3 * 2^2 * e^(-3 * 2) = 4 e^-3; L_t = -phi * A * logp_t
    phi = 4 * math.exp(-3)
    assert torch.allclose(loss[:, :2], T([[phi, 2 * phi]]), atol=1e-6)
    assert torch.allclose(ratio[:, :2], T([[math.exp(0.5), 2 / math.exp(0.5)]]), atol=1e-6)
    loss[:, :2].sum().backward()
    assert torch.allclose(logp.grad[:, :2], T([[-phi, -phi]]), atol=1e-6)  # phi is a constant weight
    # A < 0: k 3, lambda 2: phi = e^2 * 2^3 * e^-4 = 8 e^-2; L_t = -phi * (-1) * logp_t
    neg = algos.vespo_loss(logp.detach(), old, T([-1.0]), mask).loss
    assert torch.allclose(neg[:, :2], -8 * math.exp(-2) * T([[1.0, 2.0]]), atol=1e-6)
    # on-policy (w = 1): phi = e^lambda * 1 * e^-lambda = 1 for either sign
    on = algos.vespo_loss(logp.detach(), logp.detach(), T([-1.0]), mask).loss
    assert torch.allclose(on[:, :2], T([[-1.0, -2.0]]), atol=1e-6)


def test_top_entropy_mask_keeps_the_top_quantile_of_real_tokens():
    entropy = T([[0.1, 0.5, 0.9, 9.0], [0.3, 0.7, 0.0, 0.0]])
    mask = T([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    # real entropies sorted: 0.1 0.3 0.5 0.7 0.9; the 0.6 quantile sits at index 0.6 * 4 = 2.4:
    # 0.5 + 0.4 * (0.7 - 0.5) = 0.58, so 0.9 and 0.7 are kept (the padded 9.0 never is)
    keep = algos.top_entropy_mask(entropy, mask, 0.4)
    assert keep.tolist() == [[False, False, True, False], [False, True, False, False]]
    assert torch.equal(algos.top_entropy_mask(entropy, mask, 1.0), mask.bool())
    assert algos.top_entropy_mask(entropy, mask, 0.0).tolist() == [[False, False, True, False], [False] * 4]
    with pytest.raises(ValueError, match="quantile must lie in"):
        algos.top_entropy_mask(entropy, mask, 1.5)


def test_bnpo_and_luspo_aggregations():
    loss = T([[1.0, 1.0, 0.0, 0.0], [4.0, 4.0, 4.0, 4.0]])
    mask = T([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    # seq-mean-token-sum: (2 + 16) / 2 sequences
    assert algos.AGGREGATIONS["seq-mean-token-sum"](loss, mask).item() == pytest.approx(9.0)
    bnpo = algos.AGGREGATIONS["bnpo"]
    # one micro-batch: the token mean 18 / 6 = 3 (= token-mean)
    assert bnpo(loss, mask, num_seqs=2).item() == pytest.approx(3.0)
    # one sequence per micro-batch: (2 / 2) * 1/2 + (16 / 4) * 1/2 = 2.5 (= seq-mean-token-mean)
    parts = sum(bnpo(loss[i : i + 1], mask[i : i + 1], num_seqs=2) for i in range(2))
    assert parts.item() == pytest.approx(2.5)


def test_every_trl_loss_type_has_its_registered_parts():
    for name in ("ppo_clip", "gspo", "cispo", "sapo", "vespo"):
        assert name in algos.POLICY_LOSSES
    for name in ("seq-mean-token-mean", "seq-mean-token-sum-norm", "token-mean", "bnpo", "seq-mean-token-sum"):
        assert name in algos.AGGREGATIONS


@pytest.fixture(scope="module")
def distinct_chars_reward():
    """A reward that varies between random completions, so the advantages are not all 0."""
    from foveal.rewards import REWARDS, register_reward

    register_reward("test_trl_losses_distinct")(lambda completions, samples: [len(set(c)) / max(len(c), 1) for c in completions])
    yield
    del REWARDS["test_trl_losses_distinct"]


@pytest.mark.usefixtures("distinct_chars_reward")
@pytest.mark.parametrize(("loss", "aggregation"), [("cispo", "bnpo"), ("sapo", "seq-mean-token-sum"), ("vespo", "token-mean")])
def test_the_new_losses_train_by_name_in_the_rl_loop(tiny_dir, tmp_path, loss, aggregation):
    from safetensors.torch import load_file

    from foveal.config import config_from_dict
    from foveal.io import read_jsonl
    from foveal.train import train

    tree = {
        "model": {"path": str(tiny_dir)},
        "data": {"gym": {"tasks": ["count"], "levels": [1]}},
        "sampling": {"max_new_tokens": 8},
        "log": {"progress": False},
        "rewards": [{"name": "test_trl_losses_distinct"}],
        "rl": {"steps": 1, "prompts_per_step": 2, "group_size": 2, "micro_batch_size": 2, "mu": 2,
               "loss": loss, "aggregation": aggregation, "beta": 0.04, "optim": {"lr": 1e-2}},
    }
    run = train(config_from_dict(tree), out=tmp_path / "run")
    row = read_jsonl(run / "train.jsonl")[-1]
    assert math.isfinite(row["loss"]) and row["grad_norm"] > 0
    before, after = load_file(str(tiny_dir / "model.safetensors")), load_file(str(run / "rl" / "model.safetensors"))
    assert any(not torch.equal(before[k], after[k]) for k in before)
