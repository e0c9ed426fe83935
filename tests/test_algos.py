"""The RL algorithm functions against small hand-computed examples."""

import math

import pytest
import torch

from foveal.train import algos

T = torch.tensor


def test_grpo_group_of_four_known_advantages():
    r = T([1.0, 0.0, 0.0, 1.0])
    g = T([0, 0, 0, 0])
    # mean 0.5, Bessel std sqrt(1/3) = 0.57735
    a = algos.ADVANTAGES["grpo"](r, g)
    want = 0.5 / (math.sqrt(1 / 3) + 1e-4)
    assert torch.allclose(a, T([want, -want, -want, want]), atol=1e-6)


def test_grpo_groups_are_independent_and_equal_rewards_give_zero():
    r = T([1.0, 1.0, 1.0, 2.0, 4.0, 0.0])
    g = T([7, 7, 7, 3, 3, 3])
    a = algos.ADVANTAGES["grpo"](r, g)
    assert torch.equal(a[:3], torch.zeros(3))
    # group {2, 4, 0}: mean 2, std 2
    assert torch.allclose(a[3:], T([0.0, 2 / (2 + 1e-4), -2 / (2 + 1e-4)]), atol=1e-6)


def test_grpo_batch_scale_uses_global_std():
    r = T([0.0, 2.0, 1.0, 3.0])
    g = T([0, 0, 1, 1])
    a = algos.grpo_advantages(r, g, scale="batch")
    assert torch.allclose(a, T([-1.0, 1.0, -1.0, 1.0]) / (r.std() + 1e-4))


def test_drgrpo_is_centred_but_not_scaled():
    r = T([3.0, 1.0, 10.0, 20.0])
    g = T([0, 0, 1, 1])
    assert torch.allclose(algos.ADVANTAGES["drgrpo"](r, g), T([1.0, -1.0, -5.0, 5.0]))


def test_rloo_leave_one_out_baseline():
    r = T([1.0, 2.0, 6.0])
    g = T([0, 0, 0])
    # baselines: (2+6)/2=4, (1+6)/2=3.5, (1+2)/2=1.5
    assert torch.allclose(algos.ADVANTAGES["rloo"](r, g), T([-3.0, -1.5, 4.5]))


def test_reinforce_batch_baseline_ignores_groups():
    r = T([1.0, 2.0, 3.0, 6.0])
    g = T([0, 0, 1, 1])
    assert torch.allclose(algos.ADVANTAGES["reinforce"](r, g), T([-2.0, -1.0, 0.0, 3.0]))


def test_ppo_clip_boundaries_are_asymmetric():
    lo, hi = 0.2, 0.28
    ratios = T([[0.7, 0.8, 1.0, 1.28, 1.5]])
    logp = ratios.log()
    old = torch.zeros_like(logp)
    mask = torch.ones_like(logp)
    pos, clip_pos, rho = algos.POLICY_LOSSES["ppo_clip"](logp, old, T([1.0]), mask, lo, hi)
    assert torch.allclose(rho, ratios)
    # A > 0: min(rho, clip(rho)) -> clipped above 1.28 only
    assert torch.allclose(pos, -T([[0.7, 0.8, 1.0, 1.28, 1.28]]), atol=1e-6)
    assert clip_pos.tolist() == [[False, False, False, False, True]]
    neg, clip_neg, _ = algos.POLICY_LOSSES["ppo_clip"](logp, old, T([-1.0]), mask, lo, hi)
    # A < 0: -min(-rho, -clip(rho)) = max(rho, clip(rho)) -> clipped below 0.8 only
    assert torch.allclose(neg, T([[0.8, 0.8, 1.0, 1.28, 1.5]]), atol=1e-6)
    assert clip_neg.tolist() == [[True, False, False, False, False]]


def test_ppo_clip_gradient_vanishes_where_clipped():
    logp = T([[math.log(1.5), math.log(1.1)]], requires_grad=True)
    loss = algos.ppo_clip_loss(logp, torch.zeros(1, 2), T([2.0]), torch.ones(1, 2)).loss
    loss.sum().backward()
    assert logp.grad[0, 0] == 0.0
    assert torch.allclose(logp.grad[0, 1], T(-2.0 * 1.1))  # d(-rho*A)/dlogp = -rho*A


def test_gspo_uses_one_length_normalised_ratio_per_sequence():
    logp = T([[0.1, 0.3, 5.0]])  # last token is padding
    mask = T([[1.0, 1.0, 0.0]])
    loss, clipped, ratio = algos.POLICY_LOSSES["gspo"](logp, torch.zeros_like(logp), T([1.0]), mask, 0.5, 0.5)
    s = math.exp(0.2)  # geometric mean ratio over the two real tokens
    assert torch.allclose(loss, torch.full((1, 3), -s), atol=1e-6)
    assert torch.allclose(ratio, torch.full((1, 3), s), atol=1e-6)
    loss, clipped, _ = algos.gspo_loss(logp, torch.zeros_like(logp), T([1.0]), mask, 3e-4, 4e-4)
    assert torch.allclose(loss, torch.full((1, 3), -(1 + 4e-4)), atol=1e-6) and clipped.all()


def test_kl_estimators():
    logp, ref = T([[0.0, -1.0]]), T([[-1.0, 0.0]])
    assert torch.allclose(algos.KL["k1"](logp, ref), T([[1.0, -1.0]]))
    assert torch.allclose(algos.KL["k2"](logp, ref), T([[0.5, 0.5]]))
    assert torch.allclose(algos.KL["k3"](logp, ref), T([[math.exp(-1) + 1 - 1, math.exp(1) - 1 - 1]]))
    assert torch.equal(algos.KL["k3"](logp, logp), torch.zeros(1, 2))


def test_ratio_corrected_kl_keeps_value_and_adds_score_function_gradient():
    logp = T([[-1.0]], requires_grad=True)
    ref = T([[-2.0]])
    kl = algos.KL["k3"](logp, ref)
    ratio = torch.exp(logp - logp.detach())
    corrected = algos.kl_with_ratio(kl, ratio)
    assert torch.allclose(corrected, kl)
    (g_plain,) = torch.autograd.grad(kl.sum(), logp, retain_graph=True)
    (g_corr,) = torch.autograd.grad(corrected.sum(), logp)
    assert torch.allclose(g_corr - g_plain, kl.detach())  # d(kl * rho)/dlogp = dkl/dlogp + kl


def test_kl_as_reward_penalty_sums_over_real_tokens():
    logp, ref = T([[1.0, 1.0, 9.0]]), T([[0.0, 0.0, 0.0]])
    mask = T([[1.0, 1.0, 0.0]])
    assert torch.allclose(algos.kl_reward_penalty(T([1.0]), logp, ref, mask, beta=0.1), T([0.8]))


def _two_seqs():
    loss = T([[1.0, 1.0, 0.0, 0.0], [4.0, 4.0, 4.0, 4.0]])
    mask = T([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    return loss, mask


def test_aggregations_differ_as_their_equations_say():
    loss, mask = _two_seqs()
    assert algos.AGGREGATIONS["token-mean"](loss, mask).item() == pytest.approx((2 + 16) / 6)
    assert algos.AGGREGATIONS["seq-mean-token-mean"](loss, mask).item() == pytest.approx((1 + 4) / 2)
    assert algos.AGGREGATIONS["seq-mean-token-sum-norm"](loss, mask, max_len=8).item() == pytest.approx(18 / (2 * 8))


def test_aggregations_sum_exactly_over_micro_batches():
    loss, mask = _two_seqs()
    for name, agg in algos.AGGREGATIONS.items():
        if name == "bnpo":  # normalised per micro-batch by definition (tests/test_algos_trl_losses.py)
            continue
        whole = agg(loss, mask, num_seqs=2, num_tokens=6, max_len=4)
        parts = sum(agg(loss[i : i + 1], mask[i : i + 1], num_seqs=2, num_tokens=6, max_len=4) for i in range(2))
        assert torch.allclose(whole, parts), name


def test_registries_reject_duplicates_and_name_options():
    with pytest.raises(ValueError, match="already registered"):
        algos.register_advantage("grpo")(lambda r, g: r)
    with pytest.raises(ValueError, match="expected one of"):
        algos.lookup(algos.ADVANTAGES, "ppo", "advantage")


def test_new_algorithm_is_one_registered_function():
    @algos.register_advantage("test-median")
    def median_baseline(rewards, group_ids):
        return rewards - rewards.median()

    try:
        assert torch.equal(algos.ADVANTAGES["test-median"](T([1.0, 2.0, 9.0]), T([0, 0, 0])), T([-1.0, 0.0, 7.0]))
    finally:
        del algos.ADVANTAGES["test-median"]
