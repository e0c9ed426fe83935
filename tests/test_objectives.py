"""foveal.train.objectives (APO, GRPO-D, EMA-GRPO, GRPO-CARE, ACRE, PAPO) against hand-computed values.

The numbers in the comments were worked by hand (a calculator for exp/log); the per-step context is a
SimpleNamespace with the field names of the trainer's StepContext. GRPO-CARE's answer likelihood and
ACRE's re-answer run on the real embedded tiny model (`load_policy("tiny")`) and its hf backend.
"""

from __future__ import annotations

import copy
import math
import random
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from foveal import tasks
from foveal.errors import FovealError
from foveal.train.objectives import (
    EMAGRPO,
    AdaptiveKL,
    acre,
    acre_reward,
    answer_logprobs,
    answer_span,
    apo_advantage,
    apo_beta,
    care_bonus,
    cosine_beta,
    dads_beta,
    dads_weight,
    grpo_care,
    linear_beta,
    mask_image,
    mask_sample,
    option_index,
    papo_loss,
    papo_token_loss,
    perception_kl,
    reanswer_sample,
    shuffle_options,
    stcr_advantages,
    stcr_reward,
    stcr_weight,
    step_beta,
)

pytestmark = pytest.mark.usefixtures("one_thread")
T = torch.tensor


def close(a, b, tol=1e-5):
    return torch.allclose(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64), atol=tol)


# -- APO ------------------------------------------------------------------------------------------


def test_dads_weight_by_hand():
    # f(p) = 1 - exp(-e p): e*0.25 = 0.679570 -> 1 - 0.506830 = 0.493170; e*0.5 = 1.359141 -> 1 - 0.256880
    # = 0.743120; e*0.75 = 2.038711 -> 1 - 0.130184 = 0.869816; p = 0 and p = 1 give 1.
    assert close(dads_weight(T([0.0, 0.25, 0.5, 0.75, 1.0])), [1.0, 0.493170, 0.743120, 0.869816, 1.0])
    with pytest.raises(ValueError, match="pass rates"):
        dads_weight(T([1.5]))


def test_dads_beta_only_scales_the_correct_completions():
    # group 0 half right: its two correct completions get 0.04 * 0.743120 = 0.0297248, the wrong 0.04;
    # group 1 all right (p = 1): f = 1, so 0.04.
    beta = dads_beta(0.04, T([0.5, 0.5, 0.5, 0.5, 1.0, 1.0]), T([1.0, 0.0, 1.0, 0.0, 1.0, 1.0]))
    assert close(beta, [0.0297248, 0.04, 0.0297248, 0.04, 0.04, 0.04])


def test_stcr_weight_by_hand():
    # group 0: correct lengths 10, 20 -> Lbar 15; wrong 15 (excess 0 -> 0) and 25 (excess 10 ->
    # 1 - 1.1^-10 = 1 - 0.385543 = 0.614457). group 1: no correct completion -> 0, 0. group 2: G = 1 -> 0.
    correct = T([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    lengths = T([10.0, 20.0, 15.0, 25.0, 100.0, 5.0, 40.0])
    groups = T([0, 0, 0, 0, 1, 1, 2])
    w = stcr_weight(correct, lengths, groups, base=1.1)
    assert close(w, [0, 0, 0, 0.614457, 0, 0, 0])
    assert close(stcr_reward(correct, lengths, groups, base=1.1, scale=2.0), [0, 0, 0, -1.228914, 0, 0, 0])
    assert close(stcr_advantages(T([1.0, 1.0, -1.0, -1.0, 0, 0, 0]), correct, lengths, groups, base=1.1),
                 [1, 1, -1, -1.614457, 0, 0, 0])
    # the authors' base 1.00001: 1,000 extra tokens -> 1 - exp(-1000 ln 1.00001) = 0.0099501
    assert close(stcr_weight(T([1.0, 0.0]), T([0.0, 1000.0]), T([0, 0])), [0, 0.0099501])
    with pytest.raises(ValueError, match="base"):
        stcr_weight(correct, lengths, groups, base=1.0)
    with pytest.raises(ValueError, match="lengths"):
        stcr_weight(correct, lengths[:3], groups)


def test_apo_entries_read_the_step_context():
    # rewards [1, 1, 0, 0] in one group: mean 0.5, Bessel std sqrt(1/3) = 0.577350, A = +-0.5 / 0.577450
    # = +-0.865875; the last (wrong, 10 tokens longer than the correct mean 15) gets * 1.614457 = -1.397908.
    ctx = SimpleNamespace(correct=T([1.0, 1.0, 0.0, 0.0]), lengths=T([10.0, 20.0, 15.0, 25.0]),
                          group_pass_rate=T([0.5] * 4))
    adv = apo_advantage(T([1.0, 1.0, 0.0, 0.0]), T([0, 0, 0, 0]), base=1.1, ctx=ctx)
    assert close(adv, [0.865875, 0.865875, -0.865875, -1.397908])
    assert close(apo_beta(3, 4, beta=0.1, ctx=ctx), [0.0743120, 0.0743120, 0.1, 0.1])
    # all correct: no advantage, beta unchanged (p = 1)
    ctx_all = SimpleNamespace(correct=T([1.0, 1.0]), lengths=T([3.0, 9.0]), group_pass_rate=T([1.0, 1.0]))
    assert close(apo_advantage(T([1.0, 1.0]), T([7, 7]), ctx=ctx_all), [0, 0])
    assert close(apo_beta(0, 2, beta=0.1, ctx=ctx_all), [0.1, 0.1])
    with pytest.raises(ValueError, match="correct"):
        apo_advantage(T([1.0, 0.0]), T([0, 0]), ctx=SimpleNamespace(correct=None, lengths=T([1.0, 2.0])))
    nan = SimpleNamespace(correct=T([math.nan] * 2), lengths=T([1.0, 2.0]), group_pass_rate=T([math.nan] * 2))
    with pytest.raises(ValueError, match="correctness role"):
        apo_beta(0, 2, ctx=nan)


# -- GRPO-D ---------------------------------------------------------------------------------------


def test_beta_schedules_by_hand():
    assert linear_beta(25, total=100, beta0=0.0, beta_end=0.04) == pytest.approx(0.01)
    assert linear_beta(150, total=100, beta0=0.0, beta_end=0.04) == pytest.approx(0.04)  # held at the end
    assert linear_beta(50, total=100, beta0=0.1, beta_end=0.0) == pytest.approx(0.05)  # decaying works too
    # cosine: 0.04 + (0 - 0.04) * (1 + cos(pi u)) / 2; u = 0.25: (1 + 0.707107) / 2 = 0.853553 -> 0.005858
    assert cosine_beta(0, total=100, beta0=0.0, beta_end=0.04) == pytest.approx(0.0)
    assert cosine_beta(25, total=100, beta0=0.0, beta_end=0.04) == pytest.approx(0.005858, abs=1e-6)
    assert cosine_beta(50, total=100, beta0=0.0, beta_end=0.04) == pytest.approx(0.02)
    assert cosine_beta(100, total=100, beta0=0.0, beta_end=0.04) == pytest.approx(0.04)
    assert step_beta(49, total=100, beta0=0.01, beta_end=0.05, at=0.5) == 0.01
    assert step_beta(50, total=100, beta0=0.01, beta_end=0.05, at=0.5) == 0.05
    with pytest.raises(ValueError, match="total"):
        linear_beta(1, total=0)
    with pytest.raises(ValueError, match="at"):
        step_beta(1, total=10, at=0.0)


def test_adaptive_kl_by_hand_and_state():
    kl = AdaptiveKL(beta0=0.1, target=0.02, horizon=10)
    kl.observe(0.03)  # e = clip(0.03/0.02 - 1, +-0.2) = 0.2 -> 0.1 * (1 + 0.2/10) = 0.102
    assert kl() == pytest.approx(0.102)
    kl.observe(0.019)  # e = -0.05 -> 0.102 * (1 - 0.005) = 0.10149
    assert kl(5, 8) == pytest.approx(0.10149)
    kl.observe(0.0, n=10)  # e = clip(-1) = -0.2, n/horizon = 1 -> 0.10149 * 0.8 = 0.081192
    assert kl() == pytest.approx(0.081192)
    other = AdaptiveKL(beta0=0.5, target=0.02, horizon=10)
    other.load_state_dict(kl.state_dict())
    assert other() == kl() and kl.state_dict() == {"beta": pytest.approx(0.081192)}
    with pytest.raises(ValueError, match="finite"):
        kl.observe(float("nan"))


# -- EMA-GRPO -------------------------------------------------------------------------------------


def test_ema_grpo_two_steps_by_hand():
    ema = EMAGRPO()
    # step 1, task a: [1, 0, 1, 1] -> m1 = m2 = 0.75, sigma = sqrt(0.75 - 0.5625) = 0.4330127;
    # centred [0.25, -0.75, 0.25, 0.25] -> [0.577350, -1.732051, 0.577350, 0.577350].
    # task b: [0.5, 0.5] -> all equal, centred 0 -> 0 (its sigma is min_std 1e-3).
    ctx = SimpleNamespace(tasks=["a"] * 4 + ["b"] * 2)
    adv = ema(T([1.0, 0.0, 1.0, 1.0, 0.5, 0.5]), T([0, 0, 0, 0, 1, 1]), ctx=ctx)
    assert close(adv, [0.577350, -1.732051, 0.577350, 0.577350, 0, 0])
    assert ema.std("b") == pytest.approx(1e-3) and ema.std("never seen") == pytest.approx(1e-3)
    # step 2, task a: [0, 0, 0, 1]: m1 = 0.99 * 0.75 + 0.01 * 0.25 = 0.745, m2 = 0.745 (rewards are 0/1);
    # sigma = sqrt(0.745 - 0.555025) = 0.4358612; centred [-0.25]*3 + [0.75] -> -0.573578, 1.720734.
    adv2 = ema(T([0.0, 0.0, 0.0, 1.0]), T([5, 5, 5, 5]), ctx=SimpleNamespace(tasks=["a"] * 4))
    assert close(adv2, [-0.573578, -0.573578, -0.573578, 1.720734])


def test_ema_grpo_guard_falls_back_to_the_group_std():
    # task a over 6 rewards [1,0,1,1 | 1,0]: m1 = m2 = 4/6, sigma = sqrt(2/3 - 4/9) = 0.471405.
    # group 0 centred [.25, -.75, .25, .25] -> -1.590990 exceeds guard 1.5 -> group population std
    # sqrt(0.1875) = 0.4330127 instead: [0.577350, -1.732051, ...]; group 1 [.5, -.5] -> +-1.060660, kept.
    ema = EMAGRPO(guard=1.5)
    adv = ema(T([1.0, 0.0, 1.0, 1.0, 1.0, 0.0]), T([0, 0, 0, 0, 1, 1]), ctx=SimpleNamespace(tasks=["a"] * 6))
    assert close(adv, [0.577350, -1.732051, 0.577350, 0.577350, 1.060660, -1.060660])


def test_ema_grpo_singletons_state_and_errors():
    ema = EMAGRPO()
    assert close(ema(T([1.0, 0.0]), T([0, 1]), ctx=SimpleNamespace(tasks=["a", "a"])), [0, 0])  # G = 1
    state = ema.state_dict()
    assert state == {"moments": {"a": [0.5, 0.5]}}
    fresh = EMAGRPO()
    fresh.load_state_dict(state)
    r, g, ctx = T([1.0, 0.0, 0.0]), T([0, 0, 0]), SimpleNamespace(tasks=["a"] * 3)
    assert close(fresh(r, g, ctx=ctx), ema(r, g, ctx=ctx))
    with pytest.raises(ValueError, match="tasks"):
        ema(r, g, ctx=SimpleNamespace(tasks=["a"]))
    with pytest.raises(ValueError, match="decay"):
        EMAGRPO(decay=1.0)


# -- GRPO-CARE (pure) -----------------------------------------------------------------------------


def test_care_bonus_by_hand():
    log = math.log
    # group 0: a = [1,1,1,0], mean 0.75 -> accurate [T,T,T,F]; conf [.9, .5, min(.99,.95)=.95, .95];
    #   peers' mean (.9+.5+.95)/3 = 0.783333, minus margin 0.01 -> 0.773333: confident [T,F,T,-] -> [.5,0,.5,0]
    # group 1: all correct, conf [.6,.7], peers .65 - .01 = .64 -> [0, .5]
    # group 2: all wrong -> [0, 0];  group 3: G = 1, correct -> its own peer -> .5
    # group 4: no answer block (-inf -> conf 0) and conf .8: peers .4 - .01 -> [0, .5]
    logp = T([log(.9), log(.5), log(.99), log(.99), log(.6), log(.7), log(.9), log(.9), log(.3), -math.inf, log(.8)])
    groups = T([0, 0, 0, 0, 1, 1, 2, 2, 3, 4, 4])
    correct = T([1.0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1])
    bonus = care_bonus(logp, groups, correct, coef=0.5, upper=0.95, margin=0.01)
    assert close(bonus, [.5, 0, .5, 0, 0, .5, 0, 0, .5, 0, .5])
    with pytest.raises(ValueError, match="group_ids"):
        care_bonus(logp, groups[:2], correct)


def test_grpo_care_ema_reference_is_the_trainers_mixing_by_hand():
    from foveal.train.reference import mix_into

    torch.manual_seed(0)
    ref, pol = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        ref.weight.copy_(T([[1.0, 2.0]]))
        pol.weight.copy_(T([[3.0, -2.0]]))
    mix_into(ref, pol, alpha=1 - 0.9)  # decay 0.9: 0.9 * [1, 2] + 0.1 * [3, -2] = [1.2, 1.6]
    assert close(ref.weight, [[1.2, 1.6]])
    with pytest.raises(ValueError, match="parameters differ"):
        mix_into(ref, torch.nn.Linear(2, 1, bias=False), alpha=0.1)
    with pytest.raises(ValueError, match="alpha"):
        mix_into(ref, pol, alpha=1.5)


# -- PAPO -----------------------------------------------------------------------------------------


def test_papo_loss_by_hand_and_its_sign():
    # token 0: p_real .5, p_masked .25 -> rho .5, KL = .5 - ln .5 - 1 = 0.193147; H .3 + .7 = 1.0
    #          L = -0.1 * 0.193147 + 0.01 * 1.0 = -0.0093147
    # token 1: equal log-probs -> KL 0; H .2 + .2 -> L = 0.004;  token 2 masked out.
    lr = T([[math.log(.5), math.log(.4), 9.0]])
    lm = T([[math.log(.25), math.log(.4), -9.0]], requires_grad=True)
    h_real, h_mask = T([[.3, .2, 5.0]]), T([[.7, .2, 5.0]])
    assert close(perception_kl(lr, lm.detach())[0, :2], [0.193147, 0])
    assert close(papo_token_loss(lr, lm.detach(), h_real, h_mask, gamma=0.1, eta=0.01)[0, :2], [-0.0093147, 0.004])
    loss = papo_loss(lr, lm, T([[1, 1, 0]]), h_real, h_mask, gamma=0.1, eta=0.01)
    assert loss.item() == pytest.approx((-0.0093147 + 0.004) / 2, abs=1e-6)
    loss.backward()
    # dL/dlog p_masked at token 0 = -gamma * (rho - 1) / 2 tokens = -0.1 * (-0.5) / 2 = +0.025: gradient
    # descent lowers p_masked further, i.e. the KL between the views grows (it is maximised).
    assert lm.grad[0, 0].item() == pytest.approx(0.025) and lm.grad[0, 2].item() == 0
    with pytest.raises(ValueError, match="shape"):
        papo_token_loss(lr, lm[:, :2], h_real, h_mask)


def test_mask_image_pil_and_tensor():
    white = Image.new("RGB", (28, 28), (255, 255, 255))
    assert mask_image(white, 0.0, random.Random(0)).tobytes() == white.tobytes()
    assert set(mask_image(white, 1.0, random.Random(0)).getdata()) == {(0, 0, 0)}
    # 4 cells of 14 px, visited row by row; a cell is black when its Random(3) draw is below 0.5
    rng = random.Random(3)
    expect = [rng.random() < 0.5 for _ in range(4)]
    got = mask_image(white, 0.5, random.Random(3), patch=14)
    assert [got.getpixel((x, y)) == (0, 0, 0) for y in (0, 14) for x in (0, 14)] == expect
    x = torch.ones(2, 3, 28, 28)
    m = mask_image(x, 1.0, random.Random(0))
    assert m.sum() == 0 and x.sum() == 2 * 3 * 28 * 28  # the input is left alone
    sample = tasks.get("count").generate(0, 1)
    masked = mask_sample(sample, 1.0, random.Random(0))
    assert masked.id == sample.id and set(masked.images[0].getdata()) == {(0, 0, 0)}
    with pytest.raises(ValueError, match="ratio"):
        mask_image(white, 1.5, random.Random(0))


# -- ACRE (pure) ----------------------------------------------------------------------------------


def choice_sample(seed: int = 0):
    s = tasks.get("spatial").generate(seed, 1)
    assert s.answer_type == "choice" and len(s.choices) >= 2
    return s


def test_shuffle_options_keeps_the_gold_option():
    s = choice_sample()
    shuffled, perm = shuffle_options(s, random.Random(1))
    assert perm != tuple(range(len(s.choices))) and sorted(perm) == list(range(len(s.choices)))
    gold = s.choices[ord(s.answer) - 65]
    assert shuffled.choices[ord(shuffled.answer) - 65] == gold
    assert all(shuffled.choices[i] == s.choices[p] for i, p in enumerate(perm))
    assert shuffle_options(s, random.Random(1))[1] == perm  # the generator decides
    with pytest.raises(FovealError, match="choice"):
        shuffle_options(tasks.get("count").generate(0, 1), random.Random(0))


def test_option_index_and_reanswer_prompt():
    assert option_index("B", ("left", "right")) == 1
    assert option_index("right", ("left", "right")) == 1
    assert option_index("Z", ("left", "right")) is None and option_index(None, ("a", "b")) is None
    s = choice_sample()
    ask, perm = reanswer_sample(s, " the green one is higher ", random.Random(2))
    assert "<think>the green one is higher</think>" in ask.prompt and "<think>the green one is higher</think>" in ask.text_twin
    assert ask.prompt.count("<image>") == len(ask.images) == len(s.images)
    assert ask.choices == tuple(s.choices[p] for p in perm)


def test_acre_reward_table():
    # (correct, agrees): (1,1) both, (1,0) correct_only, (0,1) agree_only, (0,0) neither
    assert close(acre_reward(T([1.0, 1.0, 0.0, 0.0]), T([1, 0, 1, 0])), [1.0, 0.5, 0.0, 0.0])
    assert close(acre_reward(T([1.0, 1.0, 0.0, 0.0]), T([True, False, True, False]), both=2.0, correct_only=1.0,
                             agree_only=0.25, neither=-1.0), [2.0, 1.0, 0.25, -1.0])
    with pytest.raises(ValueError, match="agrees"):
        acre_reward(T([1.0]), T([1, 0]))


# -- on the real tiny model -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    from foveal.models import load_policy

    return load_policy("tiny")


def test_answer_span_on_the_tiny_tokenizer(tiny):
    tok = tiny.tokenizer
    ids = tok("<think>two dots</think><answer>B</answer>", add_special_tokens=False)["input_ids"]
    start, end = answer_span(tok, ids)
    assert tok.decode(ids[start:end]) == "B"
    assert tok.decode(ids[:start]).endswith("<answer>") and tok.decode(ids[end:]).startswith("</answer>")
    for text in ("<think>no answer</think>", "<think>x</think><answer> </answer>", "<answer>B"):
        assert answer_span(tok, tok(text, add_special_tokens=False)["input_ids"]) is None


def test_answer_logprobs_and_grpo_care_on_the_tiny_model(tiny):
    from foveal.train.reference import mix_into

    s0, s1 = choice_sample(0), choice_sample(2)
    texts = [f"<think>look</think><answer>{s0.answer}</answer>", "<think>look</think><answer>Z</answer>",
             "<think>no answer at all</think>", f"<think>the picture</think><answer>{s1.answer}</answer>"]
    samples = [s0, s0, s0, s1]
    ids = [tiny.tokenize_target(t) for t in texts]
    ell = answer_logprobs(tiny, samples, ids)
    # independently: the teacher-forced log-probs of the answer tokens, averaged
    batch = tiny.encode_pairs(samples, ids)
    with torch.no_grad():
        logp, _ = tiny.token_logprobs(batch)
    for i in (0, 1, 3):
        a, b = answer_span(tiny.tokenizer, ids[i])
        assert ell[i].item() == pytest.approx(logp[i, a:b].mean().item(), abs=1e-5)
    assert ell[2].item() == -math.inf and bool((ell[[0, 1, 3]] < 0).all())
    assert torch.allclose(answer_logprobs(tiny, samples, ids, batch_size=1), ell, atol=1e-5)  # padding-free
    # the reference model decides: a perturbed copy scores differently, a synced copy the same
    ref = copy.deepcopy(tiny.model)
    assert torch.equal(answer_logprobs(tiny, samples, ids, model=ref), ell)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.05 * torch.randn_like(p))
    moved = answer_logprobs(tiny, samples, ids, model=ref)
    assert not torch.allclose(moved[[0, 1, 3]], ell[[0, 1, 3]])
    mix_into(ref, tiny.model, alpha=1.0)  # alpha 1 (decay 0): the reference becomes the policy
    assert torch.allclose(answer_logprobs(tiny, samples, ids, model=ref), ell, atol=1e-6, equal_nan=True)
    # the reward: wrong (1) and unanswered (2) completions get nothing; it is care_bonus of the parts
    ctx = SimpleNamespace(policy=tiny, ref_model=ref, group_ids=T([0, 0, 0, 1]), token_ids=ids)
    got = grpo_care(texts, samples, ctx=ctx, coef=0.5)
    assert got == care_bonus(ell, ctx.group_ids, T([1.0, 0.0, 0.0, 1.0]), coef=0.5).tolist()
    assert got[1] == got[2] == 0.0 and got[3] == 0.5  # a correct answer alone in its group is its own peer
    with pytest.raises(ValueError, match="ref_model"):
        grpo_care(texts, samples, ctx=SimpleNamespace(policy=tiny, ref_model=None))


def test_acre_reanswers_through_the_hf_backend(tiny):
    from foveal.rewards import extract_answer
    from foveal.rollout import Sampling
    from foveal.rollout.hf import HFBackend

    backend = HFBackend(tiny, batch_size=8)
    s0, s1, num = choice_sample(0), choice_sample(2), tasks.get("count").generate(1, 1)
    texts = [f"<think>the picture shows it</think><answer>{s0.answer}</answer>",
             f"<think>hmm</think><answer>{s1.answer}</answer>", f"<think>count</think><answer>{num.answer}</answer>"]
    ctx = SimpleNamespace(backend=backend, step=3)
    got = acre(texts, [s0, s1, num], ctx=ctx, max_new_tokens=24, seed=7)
    assert got[2] == 1.0  # not multiple choice: its reward is its accuracy (correct -> `both`)
    # independently: the same re-answer prompts, decoded greedily, then the agreement by hand
    for i, s in ((0, s0), (1, s1)):
        reasoning = texts[i].split("<think>")[1].split("</think>")[0]
        ask, perm = reanswer_sample(s, reasoning, random.Random(f"7/3/{i}"))
        reply = backend.generate([ask], n=1, sampling=Sampling(temperature=0.0, max_new_tokens=24,
                                                               stop=("</answer>",)))[0].completions[0].text
        second = option_index(extract_answer(reply, "answer") or extract_answer(reply, "r1"), ask.choices)
        agrees = second is not None and perm[second] == ord(s.answer) - 65
        assert got[i] == (1.0 if agrees else 0.5)  # the first answer is correct in both
    with pytest.raises(ValueError, match="backend"):
        acre(texts, [s0, s1, num], ctx=SimpleNamespace(backend=None, step=0))
