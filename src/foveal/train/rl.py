"""The RL loop of the GRPO family. One step, top to bottom:

    1. draw P prompts (gym live or a dataset), sample G completions each with the rollout backend;
       with DAPO dynamic sampling, drop groups whose G correctness scores are all equal (the reward
       with role `correctness`; the total reward when no reward has it) and draw new prompts to
       refill the batch (at most `max_refill_rounds` extra rounds, then top up with dropped ones)
    2. score: r_i = sum_k w_k reward_k(completion_i, sample_i)      (the recipe's `rewards`)
       and, with kl_mode "reward", r_i -= beta_i * sum_t KL_t
    3. advantages A = ADVANTAGES[advantage](r, group ids)            (`foveal.train.algos`)
    4. old log-probs: with mu = 1 the policy has not moved yet, so old = logp.detach() (ratio 1,
       gradient of the plain policy gradient); with mu > 1 they are recomputed once before the
       first update (or taken from the backend when `old_logprobs: backend`)
       A loss registered with `view=True` (PAPO) also gets the log-probs and entropies of a second
       forward on its views of the prompts (`loss.view(sample, rng)`), computed here, without gradient
    5. mu passes; each pass is one optimizer step accumulating gradients over micro-batches of
       `loss = AGGREGATIONS[aggregation](POLICY_LOSSES[loss](...) * keep + beta_i * KL, mask)`, the
       counts in the aggregation being those of the whole batch, so accumulation is exact (`keep`:
       the top-entropy token mask when rl.top_entropy_quantile < 1, else all ones); then the
       reference model moves if the recipe has a `ref_update` (EMA, TRL's periodic sync)
    6. log one row: reward mean/std per reward function, accuracy (the correctness-role reward),
       format rate (the format-role reward), completion length, clip fraction, KL, entropy, grad
       norm, learning rate, samples/s, filtered-group fraction
    7. a curriculum sampler (`data.sampler` with an `update` hook: staged, band, sec) gets the step's
       context over every process's completions, advantages included, and logs its draws

Every log-prob pass (steps 2, 4, 5) runs each prompt of a micro-batch once and its G completions on
the prompt's KV cache (`rl.share_prompt`, `Policy.share_prompts`): the same numbers as running every
row whole, up to float rounding, in about half the time when prompts are most of each row.

Every function is chosen by the recipe (`{name, args}`) and built once from its registry; none is
special-cased here. Functions that declare a keyword `ctx` get the step's `StepContext`
(`foveal.train.context`); a loss that declares `entropy` gets the per-token entropy (detached),
`entropy_grad` the same with its gradient. The stage builds its own reference model (when beta
can be non-zero, or a `ref_update` moves one) and checkpoints, beside the weights, the state of
every stateful entry, a moving reference and a curriculum sampler (`state_dict`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import torch

from foveal.errors import FovealError
from foveal.rewards.functions import CORRECTNESS, FORMAT
from foveal.rollout import Completion, Sampling, get_backend
from foveal.sample import Sample
from foveal.train import algos
from foveal.train.context import StepContext, is_stateful, wants
from foveal.train.reference import REF_UPDATES, reference_model


class RewardTerm(NamedTuple):
    """One recipe reward: its name, weight, configured function and role (`correctness`, ...)."""

    name: str
    weight: float
    fn: Any
    role: str | None


@dataclass
class ScoredGroup:
    """One prompt's G completions, scored."""

    sample: Sample
    completions: list[Completion]  # [G], cut before any multimodal token
    rewards: torch.Tensor  # [G] weighted total
    per_fn: dict[str, torch.Tensor]  # reward name -> [G] raw scores
    correct: torch.Tensor | None  # [G] the correctness-role reward's scores (None: no such reward)

    def uninformative(self) -> bool:
        """DAPO's filter: every completion equally correct (or, with no correctness reward, equally rewarded)."""
        x = self.correct if self.correct is not None else self.rewards
        return bool((x == x[0]).all())


class MicroBatch(NamedTuple):
    """Rows `rows` of the step's completions, encoded once for all passes, with their loss mask."""

    rows: slice
    batch: dict
    mask: torch.Tensor  # [b, Tc]


@dataclass
class Rollouts:
    """One step's scored completions, flattened: item i is completion i % G of prompt i // G."""

    samples: list[Sample]  # [N] the prompt of each completion
    token_ids: list[list[int]]  # [N]
    texts: list[str]  # [N]
    backend_logprobs: list[list[float] | None]  # [N]
    truncated: list[bool]  # [N] finish_reason == "length"
    group_ids: torch.Tensor  # [N]
    rewards: torch.Tensor  # [N] weighted total
    per_fn: dict[str, torch.Tensor]  # name -> [N] raw scores
    correct: torch.Tensor | None  # [N] correctness-role scores (None: no such reward)
    generated_groups: int  # groups generated this step, dropped ones included
    filtered_groups: int  # groups dropped by dynamic sampling
    rounds: int  # generation rounds (1 + refills)


@dataclass
class Prepared:
    """A step's batch ready for the update: micro-batches, advantages, frozen log-probs, counts."""

    mbs: list[MicroBatch]
    rewards: torch.Tensor  # [N], after a KL reward penalty if any
    advantages: torch.Tensor  # [N]
    beta: torch.Tensor | None  # [N] per-sample KL coefficient (None: no KL term)
    old: list[torch.Tensor] | None  # per micro-batch old log-probs (None: logp.detach())
    ref: list[torch.Tensor] | None  # per micro-batch reference log-probs (beta active)
    view: list[tuple[torch.Tensor, torch.Tensor]] | None  # per micro-batch (logp, entropy) on the loss's views
    num_seqs: float  # sequences in the whole step (all processes / world)
    num_tokens: float  # loss tokens in the whole step (all processes / world)
    ctx: StepContext


def load_rewards(specs) -> list[RewardTerm]:
    """[RewardTerm] from the recipe's reward specs, through `foveal.rewards.get_reward`."""
    from foveal.rewards import get_reward, reward_role

    out = []
    for i, spec in enumerate(specs):
        try:
            fn = get_reward(spec.name, **spec.args)
        except FovealError as e:
            raise FovealError(f"rewards[{i}]: {e}") from None
        except (TypeError, ValueError) as e:
            raise FovealError(f"rewards[{i}] ({spec.name}): bad args: {e}") from None
        out.append(RewardTerm(spec.name, spec.weight, fn, spec.role or reward_role(spec.name)))
    return out


def by_role(terms: list[RewardTerm]) -> dict[str, str]:
    """{role: name of the first reward with that role}."""
    out: dict[str, str] = {}
    for t in terms:
        if t.role is not None:
            out.setdefault(t.role, t.name)
    return out


def multimodal_token_ids(policy) -> set[int]:
    """Ids that mark images in a VLM's input (image/video placeholders, vision start/end).

    A sampled completion may contain one (an untrained model samples any token); fed back for
    teacher forcing it would be read as an image slot, so `cut_at_multimodal` ends it there.
    """
    cfg = policy.model.config
    names = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id", "image_token_index")
    ids = {getattr(cfg, n, None) for n in names} | {getattr(policy.processor, n, None) for n in names}
    return {i for i in ids if isinstance(i, int)}


def share_prompt(option: str | bool, model) -> bool:
    """Whether log-prob passes run each micro-batch's repeated prompts once (`rl.share_prompt`): auto
    where the model's cache allows it (`prompt_sharing_unsupported`), true only there."""
    from foveal.models.policy import prompt_sharing_unsupported

    if option is False:
        return False
    why = prompt_sharing_unsupported(model)
    if why is not None and option is True:
        raise FovealError(f"rl.share_prompt is true but the model cannot share a prompt's cache: {why}")
    return why is None


def cut_at_multimodal(token_ids: list[int], forbidden: set[int]) -> tuple[list[int], bool]:
    """(the ids before the first forbidden id, whether a cut happened)."""
    for j, t in enumerate(token_ids):
        if t in forbidden:
            return token_ids[:j], True
    return token_ids, False


def score(terms: list[RewardTerm], texts: list[str], samples: list[Sample], lengths: list[int],
          ctx: StepContext | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted total reward [N] and each function's raw scores (`lengths`: completion token counts;
    `ctx` reaches the reward functions that declare it)."""
    from foveal.rewards import call_reward

    per_fn = {
        t.name: torch.tensor(call_reward(t.fn, texts, samples, lengths=lengths, ctx=ctx), dtype=torch.float32)
        for t in terms
    }
    total = sum(t.weight * per_fn[t.name] for t in terms)
    return total, per_fn


def by_task_means(tasks: list[str], values: torch.Tensor) -> dict[str, float]:
    """{task: mean of values[i] over the i with tasks[i] == task}, tasks in sorted order."""
    return {t: float(values[[i for i, x in enumerate(tasks) if x == t]].mean()) for t in sorted(set(tasks))}


def _maybe(fn, name: str, value) -> dict:
    """{name: value} when `fn` declares keyword `name`, else {}."""
    return {name: value} if wants(fn, name) else {}


class RLStage:
    """The RL stage of a run: `step(i)` = rollouts, rewards, advantages, mu optimizer updates."""

    name = "rl"

    def __init__(self, session, source, ref_model=None) -> None:
        self.s = session
        self.cfg = cfg = session.cfg.rl
        self.source = source
        if cfg.prompts_per_step % session.world:
            raise FovealError(f"rl.prompts_per_step {cfg.prompts_per_step} must divide by the {session.world} processes")
        algos.check_rl_config(cfg)
        self.optimizer, self.scheduler = session.make_optimizer(cfg.optim, cfg.steps * cfg.mu)
        self.reward_terms = load_rewards(session.cfg.rewards)
        self.roles = by_role(self.reward_terms)
        self.backend = get_backend(session.cfg.sampling.backend, policy=session.policy)
        self.entries = {
            "advantage": algos.ADVANTAGES.build(cfg.advantage.name, cfg.advantage.args, "rl.advantage.args"),
            "loss": algos.POLICY_LOSSES.build(cfg.loss.name, cfg.loss.args, "rl.loss.args"),
            "aggregation": algos.AGGREGATIONS.build(cfg.aggregation.name, cfg.aggregation.args, "rl.aggregation.args"),
            "kl": algos.KL.build(cfg.kl.name, cfg.kl.args, "rl.kl.args"),
            "beta": algos.BETA_SCHEDULES.build(cfg.beta.name, cfg.beta.args, "rl.beta.args"),
        }
        if cfg.ref_update is not None:
            self.entries["ref_update"] = REF_UPDATES.build(cfg.ref_update.name, cfg.ref_update.args, "rl.ref_update.args")
        loss = self.entries["loss"]
        self.view = loss.view if algos.POLICY_LOSSES.flag(cfg.loss.name, "view") else None  # PAPO's masked pictures
        self.use_kl = algos.beta_active(cfg.beta)
        needs_ref = self.use_kl or cfg.ref_update is not None  # a moving reference may serve rewards (GRPO-CARE)
        if needs_ref and ref_model is None:
            ref_model = reference_model(session, resuming=session.resuming_stage == self.name)
        self.ref_model = ref_model if needs_ref else None
        self.forbidden = multimodal_token_ids(session.policy) if session.policy.is_vlm else set()
        self.share_prompt = share_prompt(cfg.share_prompt, session.model)
        self.current_step = 0

    # -- state kept across a resume (besides weights, optimizer, scheduler, RNG, data cursor) ----
    def state_dict(self) -> dict:
        """The state of every stateful entry, and the reference model's weights when it moves."""
        out: dict[str, Any] = {"entries": {k: e.state_dict() for k, e in self.entries.items() if is_stateful(e)}}
        if self.ref_model is not None and "ref_update" in self.entries:
            out["ref_model"] = self.ref_model.state_dict()
        if (sampler := self.source.sampler_state()) is not None:
            out["sampler"] = sampler
        return out

    def load_state_dict(self, state: dict) -> None:
        for k, e in self.entries.items():
            if is_stateful(e) and k in state.get("entries", {}):
                e.load_state_dict(state["entries"][k])
        if self.ref_model is not None and "ref_model" in state:
            self.ref_model.load_state_dict(state["ref_model"])
        if "sampler" in state:
            self.source.load_sampler_state(state["sampler"])

    # -- 1-2. rollouts and rewards -------------------------------------------------------
    def rollout(self, step: int) -> Rollouts:
        cfg, s, G = self.cfg, self.s, self.cfg.group_size
        sc = s.cfg.sampling
        want = cfg.prompts_per_step // s.world
        kept: list[ScoredGroup] = []
        dropped: list[ScoredGroup] = []
        generated, rounds = 0, 0
        while (need := s.global_max(want - len(kept))) > 0:  # every process draws the same count
            prompts = s.shard(self.source.draw(need * s.world, step=step, stage=self.name))
            seed = (s.cfg.seed * 1_000_003 + step * 1_009 + rounds) * s.world + s.rank  # each process its own
            sampling = Sampling(sc.temperature, sc.top_p, sc.max_new_tokens, seed=seed)
            groups = self.backend.generate(prompts, G, sampling)
            rounds += 1
            for sample, group in zip(prompts, groups, strict=False):
                scored = self.score_group(sample, group)
                generated += 1
                (dropped if cfg.dynamic_sampling and scored.uninformative() else kept).append(scored)
            if not cfg.dynamic_sampling or rounds > cfg.max_refill_rounds:
                break
        filtered = len(dropped)
        kept = kept[:want]  # another process's deficit may have drawn more than this one needed
        kept += dropped[: want - len(kept)]  # out of refill rounds: top up with groups that carry no correctness signal
        return self.assemble(kept, generated, filtered, rounds)

    def score_group(self, sample: Sample, group) -> ScoredGroup:
        """One prompt's group, scored by the recipe's rewards.

        Completions are first cut before any sampled image/video token (`cut_at_multimodal`), so the
        rewards score exactly the tokens that will be trained on. Rewards that declare `ctx` get a
        context of this group alone (N = G).
        """
        comps = [self.cut(c) for c in group.completions]
        texts = [c.text for c in comps]
        lengths = [len(c.token_ids) for c in comps]
        samples = [sample] * len(texts)
        ctx = self.context(samples, texts, torch.tensor(lengths, dtype=torch.float32),
                           torch.zeros(len(texts), dtype=torch.long), [list(c.token_ids) for c in comps])
        total, per_fn = score(self.reward_terms, texts, samples, lengths, ctx)
        correct = per_fn.get(self.roles.get(CORRECTNESS, ""))
        return ScoredGroup(sample, comps, total, per_fn, correct)

    def context(self, samples, texts, lengths, group_ids, token_ids) -> StepContext:
        return StepContext(
            step=self.current_step, tasks=[x.task for x in samples], levels=[x.level for x in samples],
            samples=samples, texts=texts, lengths=lengths, group_ids=group_ids, token_ids=token_ids,
            backend=self.backend, policy=self.s.policy, ref_model=self.ref_model, forms=[x.form for x in samples],
        )

    def cut(self, c: Completion) -> Completion:
        tokens, was_cut = cut_at_multimodal(list(c.token_ids), self.forbidden)
        if not was_cut:
            return c
        text = self.s.policy.tokenizer.decode(tokens, skip_special_tokens=True)
        logprobs = c.logprobs[: len(tokens)] if c.logprobs is not None else None
        return Completion(text=text, token_ids=tokens, logprobs=logprobs, finish_reason="length")

    def assemble(self, kept: list[ScoredGroup], generated: int, filtered: int, rounds: int) -> Rollouts:
        """Flatten scored groups into `Rollouts` (group id = position in `kept`)."""
        s = self.s
        samples, ids, texts, lps, trunc, gids = [], [], [], [], [], []
        for g, group in enumerate(kept):
            for c in group.completions:
                samples.append(group.sample)
                ids.append(list(c.token_ids) or [s.policy.tokenizer.eos_token_id])
                texts.append(c.text)
                lps.append(c.logprobs)
                trunc.append(c.truncated)
                gids.append(g)
        has_correct = bool(kept) and kept[0].correct is not None
        return Rollouts(
            samples=samples,
            token_ids=ids,
            texts=texts,
            backend_logprobs=lps,
            truncated=trunc,
            group_ids=torch.tensor(gids),
            rewards=torch.cat([g.rewards for g in kept]),
            per_fn={t.name: torch.cat([g.per_fn[t.name] for g in kept]) for t in self.reward_terms},
            correct=torch.cat([g.correct for g in kept]) if has_correct else None,
            generated_groups=generated,
            filtered_groups=filtered,
            rounds=rounds,
        )

    # -- 3-5. the update ---------------------------------------------------------------------
    def micro_batches(self, ro: Rollouts) -> list[MicroBatch]:
        """The step's completions in micro-batches, encoded once for all passes."""
        out = []
        mb = self.cfg.micro_batch_size
        for lo in range(0, len(ro.samples), mb):
            sl = slice(lo, lo + mb)
            batch = self.s.policy.encode_pairs(ro.samples[sl], ro.token_ids[sl])
            if self.share_prompt:
                batch = self.s.policy.share_prompts(batch, ro.samples[sl])
            tc = batch["completion_ids"].shape[1]
            mask = batch["completion_mask"][:, -tc:].float()
            if self.cfg.mask_truncated:
                keep = torch.tensor([not t for t in ro.truncated[sl]], dtype=mask.dtype, device=mask.device)
                mask = mask * keep[:, None]
            out.append(MicroBatch(sl, batch, mask))
        return out

    @torch.no_grad()
    def frozen_logprobs(self, mbs: list[MicroBatch], model) -> list[torch.Tensor]:
        """Per micro-batch log-probs under `model` (the reference, or the policy before the update)."""
        out = []
        model.eval()
        for mb in mbs:
            logp, _ = self.s.logprobs(mb.batch, self.s.cfg.sampling.temperature, model=model)
            out.append(logp.detach())
        return out

    @torch.no_grad()
    def view_logprobs(self, ro: Rollouts, mbs: list[MicroBatch]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per micro-batch (log-probs, entropies) [b, Tc] of the same completions with each prompt
        replaced by the loss's view of it, under the policy before the update. A prompt's view is
        drawn with random.Random(f"{seed}/{step}/{sample id}"): the G completions of a prompt share it,
        and a rerun or a resumed run draws it again."""
        s = self.s
        s.model.eval()
        out = []
        for mb in mbs:
            views = [self.view(x, random.Random(f"{s.cfg.seed}/{self.current_step}/{x.id}")) for x in ro.samples[mb.rows]]
            batch = s.policy.encode_pairs(views, ro.token_ids[mb.rows])
            if self.share_prompt:
                batch = s.policy.share_prompts(batch, views)
            logp, entropy = s.logprobs(batch, s.cfg.sampling.temperature)
            out.append((logp.detach(), entropy.detach()))
        return out

    def backend_old_logprobs(self, ro: Rollouts, mbs: list[MicroBatch]) -> list[torch.Tensor]:
        out = []
        for mb in mbs:
            rows = ro.backend_logprobs[mb.rows]
            if any(r is None for r in rows):
                raise FovealError("rl.old_logprobs is 'backend' but the rollout backend returned no logprobs")
            t = torch.zeros(mb.mask.shape, dtype=torch.float32, device=mb.mask.device)
            for i, r in enumerate(rows):
                t[i, : len(r)] = torch.tensor(r, dtype=torch.float32)
            out.append(t)
        return out

    def step_context(self, ro: Rollouts) -> StepContext:
        """The context of the step's N completions, scores included."""
        lengths = torch.tensor([len(t) for t in ro.token_ids], dtype=torch.float32)
        ctx = self.context(ro.samples, ro.texts, lengths, ro.group_ids, ro.token_ids)
        return ctx.with_scores(ro.rewards, ro.per_fn, ro.correct)

    def betas(self, ctx: StepContext) -> torch.Tensor:
        """The per-sample KL coefficients [N] of this step (the recipe's beta schedule)."""
        fn = self.entries["beta"]
        beta = fn(ctx.step, ctx.n, **_maybe(fn, "ctx", ctx))
        return torch.as_tensor(beta, dtype=torch.float32).expand(ctx.n).clone()

    def prepare(self, ro: Rollouts) -> Prepared:
        """Everything the update needs and that does not change across the mu passes."""
        cfg, s = self.cfg, self.s
        mbs = self.micro_batches(ro)
        ctx = self.step_context(ro)
        rewards = ro.rewards
        ref, beta = None, None
        if self.use_kl:
            beta = self.betas(ctx)
            ref = self.frozen_logprobs(mbs, self.ref_model)
        if self.use_kl and cfg.kl_mode == "reward":
            cur = self.frozen_logprobs(mbs, s.model)
            kl = self.entries["kl"]
            extra = _maybe(kl, "ctx", ctx)
            penalty = [-(beta[mb.rows].to(c.device) * (kl(c, r, **extra) * mb.mask).sum(-1)).cpu()
                       for c, r, mb in zip(cur, ref, mbs, strict=True)]
            rewards = rewards + torch.cat(penalty)
            ctx.rewards = rewards
        adv = self.global_advantages(rewards, ro.group_ids, ctx)
        old = None
        if cfg.old_logprobs == "backend":
            old = self.backend_old_logprobs(ro, mbs)
        elif cfg.mu > 1 or cfg.old_logprobs == "recompute":
            old = self.frozen_logprobs(mbs, s.model)
        view = self.view_logprobs(ro, mbs) if self.view is not None else None
        num_seqs = s.global_sum(len(ro.samples)) / s.world
        num_tokens = s.global_sum(sum(float(mb.mask.sum()) for mb in mbs)) / s.world
        return Prepared(mbs, rewards, adv, beta, old, ref, view, num_seqs, num_tokens, ctx)

    def global_advantages(self, rewards: torch.Tensor, group_ids: torch.Tensor, ctx: StepContext) -> torch.Tensor:
        """This process's advantages, computed over the rewards of all processes.

        Batch statistics (`scale: batch`, `reinforce`'s baseline) must see the whole step, or N
        processes would compute N different normalisations. Every process holds the same number of
        completions, so its rows are the rank-th equal slice of the gathered batch.
        """
        s, fn = self.s, self.entries["advantage"]
        if s.world == 1:
            return fn(rewards, group_ids, **_maybe(fn, "ctx", ctx))
        n, groups = len(rewards), int(group_ids.max()) + 1
        all_rewards = s.gather(rewards)
        all_ids = s.gather(group_ids + s.rank * groups).long()  # distinct group ids across processes
        extra = _maybe(fn, "ctx", self.gathered(ctx, all_rewards, all_ids))
        return fn(all_rewards, all_ids, **extra)[s.rank * n : (s.rank + 1) * n]

    def gathered(self, ctx: StepContext, rewards: torch.Tensor, group_ids: torch.Tensor) -> StepContext:
        """The context of every process's completions (in rank order; `samples` left out)."""
        s = self.s
        correct = s.gather(ctx.correct)
        out = StepContext(
            step=ctx.step, tasks=s.gather_list(ctx.tasks), levels=s.gather_list(ctx.levels), samples=None,
            texts=s.gather_list(ctx.texts), lengths=s.gather(ctx.lengths), group_ids=group_ids,
            token_ids=s.gather_list(ctx.token_ids), backend=ctx.backend, policy=ctx.policy, ref_model=ctx.ref_model,
            forms=s.gather_list(ctx.forms) if ctx.forms is not None else None,
        )
        return out.with_scores(rewards, {k: s.gather(v) for k, v in (ctx.per_fn or {}).items()}, correct)

    def backward_pass(self, b: Prepared, stats: dict, weight: float = 1.0) -> None:
        """One pass over the micro-batches: loss, backward (gradients accumulate; no optimizer step)."""
        cfg, s = self.cfg, self.s
        loss_fn, aggregate, kl_fn = self.entries["loss"], self.entries["aggregation"], self.entries["kl"]
        s.model.train()
        for k, mb in enumerate(b.mbs):
            mask = mb.mask
            with s.sync(last=k == len(b.mbs) - 1):
                logp, entropy = s.logprobs(mb.batch, s.cfg.sampling.temperature)
                a = b.advantages[mb.rows].to(logp.device, logp.dtype)
                old_lp = b.old[k] if b.old is not None else logp.detach()
                extra = {**_maybe(loss_fn, "ctx", b.ctx), **_maybe(loss_fn, "entropy", entropy.detach()),
                         **_maybe(loss_fn, "entropy_grad", entropy)}
                if b.view is not None:
                    extra.update(view_logp=b.view[k][0], view_entropy=b.view[k][1])
                per_tok, clipped, ratio = loss_fn(logp, old_lp, a, mask, **extra)
                keep = mask
                if cfg.top_entropy_quantile < 1:  # only the highest-entropy tokens learn (TRL's top_entropy_quantile)
                    keep = mask * algos.top_entropy_mask(entropy.detach(), mask, cfg.top_entropy_quantile)
                    per_tok = per_tok * keep
                if b.ref is not None:
                    kl = kl_fn(logp, b.ref[k], **_maybe(kl_fn, "ctx", b.ctx))
                    if cfg.kl_mode == "loss":
                        beta = b.beta[mb.rows].to(logp.device, logp.dtype)[:, None]
                        per_tok = per_tok + beta * (algos.kl_with_ratio(kl, ratio) if cfg.kl_ratio_correction else kl)
                    stats["kl"] += weight * float((kl.detach() * mask).sum()) / b.num_tokens
                loss = aggregate(per_tok, mask, num_seqs=b.num_seqs, num_tokens=b.num_tokens,
                                 max_len=s.cfg.sampling.max_new_tokens, **_maybe(aggregate, "ctx", b.ctx))
                if cfg.entropy_coef:  # the bonus over the tokens that learn
                    loss = loss - cfg.entropy_coef * (entropy * keep).sum() / b.num_tokens
                s.accelerator.backward(loss)
            stats["loss"] += weight * loss.item()
            stats["clipped"] += weight * float((clipped.float() * mask).sum()) / b.num_tokens
            stats["entropy"] += weight * float((entropy.detach() * mask).sum()) / b.num_tokens

    def step(self, step: int) -> dict:
        self.current_step = step
        t0 = time.perf_counter()
        ro = self.rollout(step)
        t_gen = time.perf_counter() - t0
        prepared, stats = self.update(ro)
        fed = self.feed_sampler(prepared) if self.source.wants_feedback else {}
        dt = time.perf_counter() - t0
        return {**self.log_row(ro, prepared, stats, dt, t_gen), **fed}

    def feed_sampler(self, b: Prepared) -> dict:
        """7. The curriculum sampler learns from the step: every process feeds its copy the context of
        every process's completions with their advantages, so the copies stay equal; returns its log."""
        s, ctx = self.s, b.ctx
        if s.world > 1:
            groups = int(ctx.group_ids.max()) + 1
            ctx = self.gathered(ctx, s.gather(b.rewards), s.gather(ctx.group_ids + s.rank * groups).long())
        return self.source.update(replace(ctx, advantages=s.gather(b.advantages)))

    def update(self, ro: Rollouts) -> tuple[Prepared, dict]:
        """Steps 3-5 on given rollouts: advantages, mu optimizer steps, the reference's move; returns
        the batch and stats."""
        cfg, s = self.cfg, self.s
        prepared = self.prepare(ro)
        stats = {"clipped": 0.0, "kl": 0.0, "entropy": 0.0, "loss": 0.0, "grad_norm": 0.0}
        for _ in range(cfg.mu):
            self.backward_pass(prepared, stats, weight=1 / cfg.mu)
            stats["grad_norm"] += s.clip_and_step(self.optimizer, self.scheduler, cfg.optim.max_grad_norm) / cfg.mu
        beta = self.entries["beta"]
        if self.use_kl and callable(getattr(beta, "observe", None)):
            beta.observe(s.global_sum(stats["kl"]) / s.world)  # adaptive schedules see the step's KL
        if self.ref_model is not None and "ref_update" in self.entries:
            self.entries["ref_update"](s.accelerator.unwrap_model(s.model), self.ref_model, self.current_step + 1)
        return prepared, stats

    def log_row(self, ro: Rollouts, b: Prepared, stats: dict, dt: float, t_gen: float) -> dict:
        s = self.s
        lengths = torch.tensor([len(t) for t in ro.token_ids], dtype=torch.float32)
        row = {
            "reward_mean": s.global_mean(b.rewards),
            "reward_std": s.global_std(b.rewards),
        }
        for name, r in ro.per_fn.items():
            row[f"reward/{name}/mean"] = s.global_mean(r)
            row[f"reward/{name}/std"] = s.global_std(r)
        if ro.correct is not None:
            row["accuracy"] = s.global_mean(ro.correct)
            tasks = s.gather_list([x.task for x in ro.samples])
            if len(set(tasks)) > 1:  # a task mix: each task's own training accuracy
                for task, acc in by_task_means(tasks, s.gather(ro.correct)).items():
                    row[f"accuracy/{task}"] = acc
        fmt = self.roles.get(FORMAT)
        if fmt is not None:
            row["format_rate"] = s.global_mean((ro.per_fn[fmt] > 0).float())
        row.update(
            completion_len=s.global_mean(lengths),
            truncated_frac=s.global_mean(torch.tensor(ro.truncated, dtype=torch.float32)),
            clip_frac=stats["clipped"],
            kl=stats["kl"] if self.use_kl else None,
            beta=s.global_mean(b.beta) if b.beta is not None else None,
            entropy=stats["entropy"],
            loss=stats["loss"],
            grad_norm=stats["grad_norm"],
            lr=self.scheduler.get_last_lr()[0],
            samples_per_s=len(ro.samples) * s.world / dt,
            filtered_frac=ro.filtered_groups / max(ro.generated_groups, 1),
            gen_rounds=ro.rounds,
            gen_time_s=t_gen,
            step_time_s=dt,
        )
        return row
