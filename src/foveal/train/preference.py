"""Preference losses on verified pairs: DPO and REDI, the pair builder, the pair file and the `pref` stage.

A pair is one prompt x with a right trace y+ and a wrong one y- (right and wrong under the task's
verifier: the recipe's correctness reward). Every loss sees sequence log-probabilities, sums over
the completion tokens (prompt and padding excluded), as TRL's DPOTrainer does:

    log pi(y|x) = sum_t log pi(y_t | x, y_<t)        [B] per pair, for y+ and y-;  |y| its token count

    dpo   L = -log sigmoid(beta * [(log pi(y+|x) - log pi_ref(y+|x)) - (log pi(y-|x) - log pi_ref(y-|x))])
    redi  L = -log pi(y+|x) / |y+|  +  alpha * log pi(y-|x) / |y-|           (reference-free)

and the step's loss is the mean over its pairs. `PREFERENCE_LOSSES` registers them by name
(`foveal algos` lists them under `preference_losses`); a recipe picks one with
`pref.loss: {name: dpo, args: {beta: 0.1}}`.

Pairs come from `build_pairs` (k verified samples of one prompt -> at most `pairs_per_prompt`
disjoint (right, wrong) pairs) and travel in a JSONL file, one pair per line (`write_pairs`,
`read_pairs`):

    {"prompt": <Sample.to_record(): the problem, images as base64 PNG>,
     "chosen": "<think>...</think><answer>4</answer>", "rejected": "...<answer>5</answer>",
     "chosen_score": 1.0, "rejected_score": 0.0, "meta": {...}}

`prompt`, `chosen` and `rejected` are required; the scores (the verifier's) and `meta` (free-form:
round, source, ...) are optional; any other key is an error. A completion is trained as its text
followed by the eos token, as an SFT target is (`Policy.tokenize_target`).

`PrefStage` is the run's third stage (`sft` -> `rl` -> `pref`): each step takes `pref.batch_size`
pairs, from `pref.pairs` (a file, walked in a seeded order per epoch) or generated from the policy
(`pref.generate`: k samples per gym prompt, verified by the correctness reward, paired), and takes
one optimizer step. DPO's reference is a frozen copy of the policy at the stage's start.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from foveal.errors import FovealError
from foveal.registry import Registry
from foveal.sample import Sample

PREFERENCE_LOSSES = Registry("preference loss")


class PrefLoss(NamedTuple):
    """What a preference loss returns, each [B]: the per-pair loss and the implicit rewards of the
    chosen and rejected traces (detached; logged as rewards/chosen, rewards/rejected, margin, accuracy)."""

    loss: Tensor
    chosen_reward: Tensor
    rejected_reward: Tensor


@PREFERENCE_LOSSES.register("dpo", needs_ref=True)
def dpo_loss(chosen: Tensor, rejected: Tensor, chosen_len: Tensor, rejected_len: Tensor,
             ref_chosen: Tensor, ref_rejected: Tensor, beta: float = 0.1) -> PrefLoss:
    """DPO (Rafailov et al. 2023, eq. 7), TRL's `loss_type="sigmoid"`: -log sigmoid(beta * delta log-ratio).

        delta = (log pi(y+|x) - log pi_ref(y+|x)) - (log pi(y-|x) - log pi_ref(y-|x))
        L     = -log sigmoid(beta * delta)                         [B]
        rewards: beta * (log pi(y|x) - log pi_ref(y|x)), as TRL logs them

    `chosen`, `rejected`, `ref_chosen`, `ref_rejected`: [B] sequence log-prob sums over completion
    tokens (the reference's without gradient). The lengths are unused (sums, not means, as in TRL's
    DPOTrainer 1.16, `_compute_loss`). beta defaults to TRL's DPOConfig.beta, 0.1.
    """
    if beta <= 0:
        raise ValueError(f"dpo: beta must be > 0, got {beta}")
    chosen_ratio = chosen - ref_chosen
    rejected_ratio = rejected - ref_rejected
    loss = -F.logsigmoid(beta * (chosen_ratio - rejected_ratio))
    return PrefLoss(loss, beta * chosen_ratio.detach(), beta * rejected_ratio.detach())


@PREFERENCE_LOSSES.register("redi")
def redi_loss(chosen: Tensor, rejected: Tensor, chosen_len: Tensor, rejected_len: Tensor, alpha: float = 0.8) -> PrefLoss:
    """REDI (Xu et al. 2025, "Harnessing Negative Signals", eq. 5): reference-free, negatives down-weighted by alpha.

        L = -log pi(y+|x) / |y+|  +  alpha * log pi(y-|x) / |y-|          [B]
        rewards: the length-normalised log-likelihoods log pi(y|x) / |y|

    `chosen`, `rejected`: [B] sequence log-prob sums; `chosen_len`, `rejected_len`: [B] token
    counts (clamped to >= 1). alpha in [0, 1]: 0 is SFT on the positives, 1 the symmetric objective
    (the paper's eq. 4); the paper recommends 0.8 (its code: `loss_type="reinforce"`,
    `reinforce_rejected_coef=0.8`), the down-weighting that keeps training stable.
    """
    if not 0 <= alpha <= 1:
        raise ValueError(f"redi: alpha must lie in [0, 1], got {alpha}")
    pos = chosen / chosen_len.clamp(min=1)
    neg = rejected / rejected_len.clamp(min=1)
    return PrefLoss(-pos + alpha * neg, pos.detach(), neg.detach())


def sequence_logps(token_logp: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """(sum over completion tokens of log pi [B], token counts [B]) from per-token log-probs [B, T]
    and the completion mask [B, T] (1 on completion tokens)."""
    mask = mask.to(token_logp.dtype)
    return (token_logp * mask).sum(-1), mask.sum(-1)


# -- pairs ---------------------------------------------------------------------------------------

PAIR_KEYS = ("prompt", "chosen", "rejected", "chosen_score", "rejected_score", "meta")


@dataclass(frozen=True)
class Pair:
    """One prompt with a right (`chosen`) and a wrong (`rejected`) completion text."""

    prompt: Sample
    chosen: str
    rejected: str
    chosen_score: float | None = None
    rejected_score: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """The pair's JSONL record (the prompt with its images as base64 PNG)."""
        rec: dict[str, Any] = {"prompt": self.prompt.to_record(), "chosen": self.chosen, "rejected": self.rejected}
        for k in ("chosen_score", "rejected_score"):
            if getattr(self, k) is not None:
                rec[k] = getattr(self, k)
        if self.meta:
            rec["meta"] = self.meta
        return rec


def build_pairs(sample: Sample, completions: list[str], scores: list[float], *, pairs_per_prompt: int = 1,
                threshold: float = 1.0, gold: str | None = None, meta: dict | None = None) -> list[Pair]:
    """The (right, wrong) pairs of one prompt's verified samples.

    A completion is right when its score >= `threshold` (the correctness reward: 1 right, 0 wrong),
    else wrong. Identical texts count once (first occurrence). The i-th distinct right text is
    paired with the i-th distinct wrong one, so no trace is in two pairs, for
    n = min(#right, #wrong, pairs_per_prompt) pairs, in sampling order. A prompt with no right or
    no wrong sample gives none, unless `gold` (a known-right trace, e.g. the sample's SFT target)
    is given: with no right sample, `gold` is the chosen of up to `pairs_per_prompt` pairs.
    """
    if len(completions) != len(scores):
        raise ValueError(f"build_pairs: {len(completions)} completions but {len(scores)} scores")
    if pairs_per_prompt < 1:
        raise ValueError(f"build_pairs: pairs_per_prompt must be >= 1, got {pairs_per_prompt}")
    right: dict[str, float] = {}
    wrong: dict[str, float] = {}
    for text, s in zip(completions, scores, strict=True):
        if text not in right and text not in wrong:
            (right if s >= threshold else wrong)[text] = float(s)
    meta = dict(meta or {})
    wrong_items = list(wrong.items())[:pairs_per_prompt]
    if not right and gold is not None:
        return [Pair(sample, gold, w, None, ws, {**meta, "chosen": "gold"}) for w, ws in wrong_items]
    return [Pair(sample, r, w, rs, ws, meta) for (r, rs), (w, ws) in zip(right.items(), wrong_items, strict=False)]


def write_pairs(path: str | Path, pairs: list[Pair]) -> Path:
    """Write `pairs` to a JSONL file atomically (one record per line, see the module docstring)."""
    from foveal.io import atomic_write_text

    return atomic_write_text(path, "".join(json.dumps(p.to_record(), ensure_ascii=False) + "\n" for p in pairs))


def pair_from_record(rec: Any, where: str) -> Pair:
    """A `Pair` from one JSONL record; FovealError naming `where` (file:line) and the bad field."""
    if not isinstance(rec, dict):
        raise FovealError(f"{where}: expected a JSON object with prompt, chosen, rejected, got {type(rec).__name__}")
    missing = [k for k in ("prompt", "chosen", "rejected") if k not in rec]
    unknown = [k for k in rec if k not in PAIR_KEYS]
    if missing or unknown:
        what = "; ".join(x for x in (f"missing {missing}" if missing else "", f"unknown key(s) {unknown}" if unknown else "") if x)
        raise FovealError(f"{where}: {what} (a pair has {', '.join(PAIR_KEYS)})")
    for k in ("chosen", "rejected"):
        if not isinstance(rec[k], str):
            raise FovealError(f"{where}: {k} must be a string (the completion text), got {type(rec[k]).__name__}")
    for k in ("chosen_score", "rejected_score"):
        if rec.get(k) is not None and not isinstance(rec[k], (int, float)):
            raise FovealError(f"{where}: {k} must be a number, got {rec[k]!r}")
    if not isinstance(rec["prompt"], dict):
        raise FovealError(f"{where}: prompt must be a sample record (Sample.to_record()), got {type(rec['prompt']).__name__}")
    try:
        prompt = Sample.from_record(rec["prompt"])
    except (KeyError, TypeError, ValueError, OSError) as e:
        raise FovealError(f"{where}: prompt is not a valid sample record: {e!r}") from None
    meta = rec.get("meta") or {}
    if not isinstance(meta, dict):
        raise FovealError(f"{where}: meta must be an object, got {type(meta).__name__}")
    return Pair(prompt, rec["chosen"], rec["rejected"], rec.get("chosen_score"), rec.get("rejected_score"), meta)


def read_pairs(path: str | Path, train_only: bool = True) -> list[Pair]:
    """The pairs of a JSONL file; FovealError naming the file and line of the first bad record, and,
    with `train_only`, refusing prompts of the val or test split (as `data.dataset` does)."""
    from foveal.split import split_of

    p = Path(path)
    if not p.is_file():
        raise FovealError(f"pref.pairs: {p} does not exist")
    pairs = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise FovealError(f"{p}:{i}: not valid JSON ({e.msg})") from None
        pair = pair_from_record(rec, f"{p}:{i}")
        if train_only and pair.prompt.problem_key and split_of(pair.prompt.problem_key) != "train":
            raise FovealError(f"{p}:{i}: prompt {pair.prompt.id} is a {split_of(pair.prompt.problem_key)}-split problem; "
                              f"training pairs must come from the train split")
        pairs.append(pair)
    if not pairs:
        raise FovealError(f"pref.pairs: {p} holds no pairs")
    return pairs


# -- the stage -----------------------------------------------------------------------------------

def check_pref_loss(name: str, args: dict[str, Any], where: str = "pref.loss.args") -> None:
    """FovealError naming `where` unless preference loss `name` takes options `args` and accepts
    their values: the loss is built and called once on one dummy pair, so a range check inside it
    (dpo's beta > 0, redi's alpha in [0, 1]) fails before a run writes anything."""
    fn = PREFERENCE_LOSSES.build(name, args, where)
    one = torch.zeros(1)
    extra = {"ref_chosen": one, "ref_rejected": one} if PREFERENCE_LOSSES.flag(name, "needs_ref", False) else {}
    try:
        fn(one, one, torch.ones(1), torch.ones(1), **extra)
    except (ValueError, TypeError) as e:
        raise FovealError(f"{where}: {e}") from None


def check_pref_config(cfg, world: int = 1) -> None:
    """Everything the `pref` stage of run config `cfg` can fail on, checked before a run writes
    anything: the loss, its options and their values, the pairs file's every record, the correctness
    reward, and the split of the work over `world` processes."""
    pref = cfg.pref
    check_pref_loss(pref.loss.name, pref.loss.args)
    if pref.batch_size % world:
        raise FovealError(f"pref.batch_size {pref.batch_size} must divide by the {world} processes")
    if pref.generate is not None and world > 1:
        raise FovealError("pref.generate runs on one process (processes could find different numbers of pairs); "
                          "write the pairs to a file and train on pref.pairs under several processes")
    if pref.pairs is not None:
        read_pairs(pref.pairs)
    if pref.generate is not None:
        correctness_reward(cfg.rewards)


def correctness_reward(specs):
    """The recipe's reward with role `correctness` (the verifier that splits right from wrong)."""
    from foveal.rewards.functions import CORRECTNESS
    from foveal.train.rl import by_role, load_rewards

    terms = load_rewards(specs)
    name = by_role(terms).get(CORRECTNESS)
    if name is None:
        raise FovealError(f"pref.generate: no reward has role {CORRECTNESS!r} (rewards: {[t.name for t in terms]}); "
                          f"add one, e.g. {{name: accuracy}}")
    return next(t.fn for t in terms if t.name == name)


def stage_start_model(session) -> torch.nn.Module:
    """A frozen copy of the policy as it is at the start of the `pref` stage (DPO's reference).

    Resuming mid-stage, the policy has moved, so the start is reloaded: the output of the last
    earlier stage that ran (rl, else sft), else the recipe's model."""
    cfg = session.cfg
    if session.resuming_stage == PrefStage.name:
        from foveal.models import load_policy

        ran = [name for name in ("rl", "sft") if getattr(cfg, name).steps]
        start = str(session.run_dir / ran[0]) if ran else cfg.model.path
        ref = load_policy(start, dtype=cfg.model.dtype, device=str(session.accelerator.device), seed=cfg.init_seed).model
    else:
        from foveal.train.reference import frozen_copy

        ref = frozen_copy(session.accelerator, session.model)  # Session.logprobs runs it under autocast
    return ref.eval().requires_grad_(False)


class PrefStage:
    """The preference stage of a run: `step(i)` takes a batch of pairs (file or generated) and one
    optimizer step on the mean of the registered loss over them."""

    name = "pref"

    def __init__(self, session, source) -> None:
        self.s = session
        self.cfg = cfg = session.cfg.pref
        self.source = source
        self.loss_fn = PREFERENCE_LOSSES.build(cfg.loss.name, cfg.loss.args, "pref.loss.args")
        self.needs_ref = bool(PREFERENCE_LOSSES.flag(cfg.loss.name, "needs_ref", False))
        self.optimizer, self.scheduler = session.make_optimizer(cfg.optim, cfg.steps)
        self.pairs = read_pairs(cfg.pairs) if cfg.pairs is not None else None
        self._perm: tuple[int, list[int]] | None = None
        if cfg.generate is not None:
            from foveal.rollout import get_backend

            self.backend = get_backend(session.cfg.sampling.backend, policy=session.policy)
            self.correct_fn = correctness_reward(session.cfg.rewards)
        self.ref_model = stage_start_model(session) if self.needs_ref else None

    # -- pairs ---------------------------------------------------------------------------------
    def file_pairs(self, step: int) -> list[Pair]:
        """Step `step`'s pairs from the file: positions [step * B, (step + 1) * B) of the pairs in a
        seeded order per epoch (a function of the step alone, so a resumed run takes the same ones)."""
        n, b = len(self.pairs), self.cfg.batch_size
        out = []
        for k in range(step * b, (step + 1) * b):
            epoch, i = divmod(k, n)
            if self._perm is None or self._perm[0] != epoch:
                order = list(range(n))
                random.Random(f"{self.s.cfg.seed}:pairs:{epoch}").shuffle(order)
                self._perm = (epoch, order)
            out.append(self.pairs[self._perm[1][i]])
        return self.s.shard(out)

    def generated_pairs(self, step: int) -> tuple[list[Pair], dict]:
        """Up to B pairs from the policy's own samples: rounds of `prompts` prompts x k samples,
        verified by the correctness reward and paired by `build_pairs`, until B pairs or `max_rounds`."""
        from foveal.prompts import sft_target
        from foveal.rewards import call_reward
        from foveal.rollout import Sampling

        s, g, sc = self.s, self.cfg.generate, self.s.cfg.sampling
        pairs: list[Pair] = []
        right, sampled, rounds = 0.0, 0, 0
        while len(pairs) < self.cfg.batch_size and rounds < g.max_rounds:
            prompts = self.source.draw(g.prompts, step=step, stage="pref")
            seed = s.cfg.seed * 1_000_003 + step * 1_009 + rounds
            groups = self.backend.generate(prompts, g.k, Sampling(sc.temperature, sc.top_p, sc.max_new_tokens, seed=seed))
            rounds += 1
            for sample, group in zip(prompts, groups, strict=True):
                texts = [c.text for c in group.completions]
                scores = call_reward(self.correct_fn, texts, [sample] * len(texts),
                                     lengths=[len(c.token_ids) for c in group.completions])
                right += sum(x >= g.threshold for x in scores)
                sampled += len(scores)
                gold = sft_target(sample, s.cfg.answer_format) if g.gold_chosen else None
                pairs += build_pairs(sample, texts, scores, pairs_per_prompt=g.pairs_per_prompt, threshold=g.threshold,
                                     gold=gold, meta={"step": step + 1})
        return pairs[: self.cfg.batch_size], {"sample_accuracy": right / max(sampled, 1), "gen_rounds": rounds}

    # -- the update ----------------------------------------------------------------------------
    def seq_logps(self, batch: dict, model=None) -> tuple[Tensor, Tensor]:
        """(sequence log-prob sums [2b], token counts [2b]) of an encoded micro-batch under `model`
        (default the policy; `Session.logprobs` runs another model under the accelerator's autocast)."""
        logp, _ = self.s.logprobs(batch, model=model)
        return sequence_logps(logp, batch["completion_mask"][:, -logp.shape[1] :])

    def step(self, step: int) -> dict:
        s, cfg = self.s, self.cfg
        t0 = time.perf_counter()
        info: dict[str, Any] = {}
        if self.pairs is not None:
            pairs = self.file_pairs(step)
        else:
            pairs, info = self.generated_pairs(step)
        t_gen = time.perf_counter() - t0
        if not pairs:  # nothing verified right and wrong this step: no update
            return {"pairs": 0, **info, "gen_time_s": t_gen, "step_time_s": time.perf_counter() - t0}
        stats = {"loss": 0.0, "chosen": 0.0, "rejected": 0.0, "correct_order": 0.0, "logp_chosen": 0.0, "logp_rejected": 0.0}
        chunks = list(range(0, len(pairs), cfg.micro_batch_size))
        s.model.train()
        for k, lo in enumerate(chunks):
            mb = pairs[lo : lo + cfg.micro_batch_size]
            ids = [s.policy.tokenize_target(p.chosen) for p in mb] + [s.policy.tokenize_target(p.rejected) for p in mb]
            batch = s.policy.encode_pairs([p.prompt for p in mb] * 2, ids)
            with s.sync(last=k == len(chunks) - 1):
                seq, lengths = self.seq_logps(batch)
                chosen, rejected = seq.chunk(2)
                chosen_len, rejected_len = lengths.chunk(2)
                extra = {}
                if self.needs_ref:
                    with torch.no_grad():
                        ref_seq, _ = self.seq_logps(batch, model=self.ref_model)
                    extra = dict(zip(("ref_chosen", "ref_rejected"), ref_seq.detach().chunk(2), strict=True))
                out = self.loss_fn(chosen, rejected, chosen_len, rejected_len, **extra)
                loss = out.loss.sum() / len(pairs)  # the mean over this process's pairs; DDP averages processes
                s.accelerator.backward(loss)
            stats["loss"] += loss.item()
            stats["chosen"] += float(out.chosen_reward.sum())
            stats["rejected"] += float(out.rejected_reward.sum())
            stats["correct_order"] += float((out.chosen_reward > out.rejected_reward).sum())
            stats["logp_chosen"] += float(chosen.detach().sum())
            stats["logp_rejected"] += float(rejected.detach().sum())
        grad_norm = s.clip_and_step(self.optimizer, self.scheduler, cfg.optim.max_grad_norm)
        dt = time.perf_counter() - t0
        n = s.global_sum(len(pairs))
        mean = {k: s.global_sum(v) / n for k, v in stats.items() if k != "loss"}
        return {
            "loss": s.global_sum(stats["loss"]) / s.world,
            "reward_chosen": mean["chosen"],
            "reward_rejected": mean["rejected"],
            "reward_margin": mean["chosen"] - mean["rejected"],
            "reward_accuracy": mean["correct_order"],
            "logp_chosen": mean["logp_chosen"],
            "logp_rejected": mean["logp_rejected"],
            "pairs": int(n),
            **info,
            "grad_norm": grad_norm,
            "lr": self.scheduler.get_last_lr()[0],
            "gen_time_s": t_gen,
            "step_time_s": dt,
        }
