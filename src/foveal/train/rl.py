"""The RL loop of the GRPO family. One step, top to bottom:

    1. draw P prompts (gym live or a dataset), sample G completions each with the rollout backend;
       with DAPO dynamic sampling, drop groups whose G rewards are all equal and draw new prompts
       to refill the batch (at most `max_refill_rounds` extra rounds, then top up with dropped ones)
    2. score: r_i = sum_k w_k reward_k(completion_i, sample_i)      (the recipe's `rewards`)
       and, with beta > 0 and kl_mode "reward", r_i -= beta * sum_t KL_t
    3. advantages A = ADVANTAGES[advantage](r, group ids)            (`foveal.train.algos`)
    4. old log-probs: with mu = 1 the policy has not moved yet, so old = logp.detach() (ratio 1,
       gradient of the plain policy gradient); with mu > 1 they are recomputed once before the
       first update (or taken from the backend when `old_logprobs: backend`)
    5. mu passes; each pass is one optimizer step accumulating gradients over micro-batches of
       `loss = AGGREGATIONS[aggregation](POLICY_LOSSES[loss](...) + beta * KL, mask)`, the counts
       in the aggregation being those of the whole batch, so accumulation is exact
    6. log one row: reward mean/std per reward function, accuracy, format rate, completion length,
       clip fraction, KL, entropy, grad norm, learning rate, samples/s, filtered-group fraction

The stage object holds the optimizer, the scheduler and (when beta > 0) the frozen reference model;
`foveal.train.run.train` drives it and checkpoints it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from foveal.errors import FovealError
from foveal.rollout import Completion, Sampling, get_backend
from foveal.sample import Sample
from foveal.train import algos


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
    generated_groups: int  # groups generated this step, dropped ones included
    filtered_groups: int  # groups dropped by dynamic sampling
    rounds: int  # generation rounds (1 + refills)


@dataclass
class Prepared:
    """A step's batch ready for the update: micro-batches, advantages, frozen log-probs, counts."""

    mbs: list  # [(slice, encoded pair batch, loss mask [b, Tc])]
    rewards: torch.Tensor  # [N], after a KL reward penalty if any
    advantages: torch.Tensor  # [N]
    old: list[torch.Tensor] | None  # per micro-batch old log-probs (None: logp.detach())
    ref: list[torch.Tensor] | None  # per micro-batch reference log-probs (beta > 0)
    num_seqs: float  # sequences in the whole step (all processes / world)
    num_tokens: float  # loss tokens in the whole step (all processes / world)


def load_rewards(specs) -> list[tuple[str, float, object]]:
    """[(name, weight, fn)] from the recipe's reward specs, through `foveal.rewards.get_reward`."""
    from foveal.rewards import get_reward

    out = []
    for i, spec in enumerate(specs):
        try:
            fn = get_reward(spec.name, **spec.args)
        except FovealError as e:
            raise FovealError(f"rewards[{i}]: {e}") from None
        except (TypeError, ValueError) as e:
            raise FovealError(f"rewards[{i}] ({spec.name}): bad args: {e}") from None
        out.append((spec.name, spec.weight, fn))
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


def cut_at_multimodal(token_ids: list[int], forbidden: set[int]) -> tuple[list[int], bool]:
    """(the ids before the first forbidden id, whether a cut happened)."""
    for j, t in enumerate(token_ids):
        if t in forbidden:
            return token_ids[:j], True
    return token_ids, False


def score(reward_fns, texts: list[str], samples: list[Sample], lengths: list[int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted total reward [N] and each function's raw scores (`lengths`: completion token counts)."""
    from foveal.rewards import call_reward

    per_fn = {
        name: torch.tensor(call_reward(fn, texts, samples, lengths=lengths), dtype=torch.float32)
        for name, _, fn in reward_fns
    }
    total = sum(w * per_fn[name] for name, w, _ in reward_fns)
    return total, per_fn


def by_task_means(tasks: list[str], values: torch.Tensor) -> dict[str, float]:
    """{task: mean of values[i] over the i with tasks[i] == task}, tasks in sorted order."""
    return {t: float(values[[i for i, x in enumerate(tasks) if x == t]].mean()) for t in sorted(set(tasks))}


class RLStage:
    """The RL stage of a run: `step(i)` = rollouts, rewards, advantages, mu optimizer updates."""

    name = "rl"

    def __init__(self, session, source, ref_model=None) -> None:
        self.s = session
        self.cfg = session.cfg.rl
        self.source = source
        if self.cfg.prompts_per_step % session.world:
            raise FovealError(f"rl.prompts_per_step {self.cfg.prompts_per_step} must divide by the {session.world} processes")
        self.optimizer, self.scheduler = session.make_optimizer(self.cfg.optim, self.cfg.steps * self.cfg.mu)
        self.reward_fns = load_rewards(session.cfg.rewards)
        self.backend = get_backend(session.cfg.sampling.backend, policy=session.policy)
        self.ref_model = ref_model  # frozen, only when beta > 0
        self.advantage = algos.lookup(algos.ADVANTAGES, self.cfg.advantage, "advantage")
        self.policy_loss = algos.lookup(algos.POLICY_LOSSES, self.cfg.loss, "loss")
        self.aggregate = algos.lookup(algos.AGGREGATIONS, self.cfg.aggregation, "aggregation")
        self.kl = algos.lookup(algos.KL, self.cfg.kl, "kl")
        self.forbidden = multimodal_token_ids(session.policy) if session.policy.is_vlm else set()

    # -- 1-2. rollouts and rewards -------------------------------------------------------
    def rollout(self, step: int) -> Rollouts:
        cfg, s, G = self.cfg, self.s, self.cfg.group_size
        sc = s.cfg.sampling
        want = cfg.prompts_per_step // s.world
        kept: list[tuple] = []
        dropped: list[tuple] = []
        generated, rounds = 0, 0
        while (need := s.global_max(want - len(kept))) > 0:  # every process draws the same count
            prompts = s.shard(self.source.draw(need * s.world))
            seed = (s.cfg.seed * 1_000_003 + step * 1_009 + rounds) * s.world + s.rank  # each process its own
            sampling = Sampling(sc.temperature, sc.top_p, sc.max_new_tokens, seed=seed)
            groups = self.backend.generate(prompts, G, sampling)
            rounds += 1
            for sample, group in zip(prompts, groups, strict=False):
                item = self.score_group(sample, group)
                total = item[2]
                generated += 1
                if cfg.dynamic_sampling and bool((total == total[0]).all()):
                    dropped.append(item)
                else:
                    kept.append(item)
            if not cfg.dynamic_sampling or rounds > cfg.max_refill_rounds:
                break
        filtered = len(dropped)
        kept = kept[:want]  # another process's deficit may have drawn more than this one needed
        kept += dropped[: want - len(kept)]  # out of refill rounds: top up (their advantages are 0)
        return self.assemble(kept, generated, filtered, rounds)

    def score_group(self, sample: Sample, group) -> tuple:
        """(sample, completions, total reward [G], {reward name: [G]}) for one prompt's group.

        Completions are first cut before any sampled image/video token (`cut_at_multimodal`), so the
        rewards score exactly the tokens that will be trained on.
        """
        comps = [self.cut(c) for c in group.completions]
        texts = [c.text for c in comps]
        lengths = [len(c.token_ids) for c in comps]
        total, per_fn = score(self.reward_fns, texts, [sample] * len(texts), lengths)
        return (sample, comps, total, per_fn)

    def cut(self, c: Completion) -> Completion:
        tokens, was_cut = cut_at_multimodal(list(c.token_ids), self.forbidden)
        if not was_cut:
            return c
        text = self.s.policy.tokenizer.decode(tokens, skip_special_tokens=True)
        logprobs = c.logprobs[: len(tokens)] if c.logprobs is not None else None
        return Completion(text=text, token_ids=tokens, logprobs=logprobs, finish_reason="length")

    def assemble(self, kept: list[tuple], generated: int, filtered: int, rounds: int) -> Rollouts:
        """Flatten scored groups into `Rollouts` (group id = position in `kept`)."""
        s = self.s
        samples, ids, texts, lps, trunc, gids, totals = [], [], [], [], [], [], []
        per_fn: dict[str, list] = {name: [] for name, _, _ in self.reward_fns}
        for g, (sample, comps, total, fn_scores) in enumerate(kept):
            for j, c in enumerate(comps):
                samples.append(sample)
                ids.append(list(c.token_ids) or [s.policy.tokenizer.eos_token_id])
                texts.append(c.text)
                lps.append(c.logprobs)
                trunc.append(c.finish_reason == "length")
                gids.append(g)
                totals.append(total[j])
                for name in per_fn:
                    per_fn[name].append(fn_scores[name][j])
        return Rollouts(
            samples=samples,
            token_ids=ids,
            texts=texts,
            backend_logprobs=lps,
            truncated=trunc,
            group_ids=torch.tensor(gids),
            rewards=torch.stack(totals),
            per_fn={k: torch.stack(v) for k, v in per_fn.items()},
            generated_groups=generated,
            filtered_groups=filtered,
            rounds=rounds,
        )

    # -- 3-5. the update ---------------------------------------------------------------------
    def micro_batches(self, ro: Rollouts) -> list[tuple[slice, dict, torch.Tensor]]:
        """(slice, encoded pair batch, loss mask [b, Tc]) per micro-batch, encoded once for all passes."""
        out = []
        mb = self.cfg.micro_batch_size
        for lo in range(0, len(ro.samples), mb):
            sl = slice(lo, lo + mb)
            batch = self.s.policy.encode_pairs(ro.samples[sl], ro.token_ids[sl])
            tc = batch["completion_ids"].shape[1]
            mask = batch["completion_mask"][:, -tc:].float()
            if self.cfg.mask_truncated:
                keep = torch.tensor([not t for t in ro.truncated[sl]], dtype=mask.dtype, device=mask.device)
                mask = mask * keep[:, None]
            out.append((sl, batch, mask))
        return out

    @torch.no_grad()
    def frozen_logprobs(self, mbs, model) -> list[torch.Tensor]:
        """Per micro-batch log-probs under `model` (the reference, or the policy before the update)."""
        out = []
        model.eval()
        for _, batch, _ in mbs:
            logp, _ = self.s.logprobs(batch, self.s.cfg.sampling.temperature, model=model)
            out.append(logp.detach())
        return out

    def backend_old_logprobs(self, ro: Rollouts, mbs) -> list[torch.Tensor]:
        out = []
        for sl, _, mask in mbs:
            rows = ro.backend_logprobs[sl]
            if any(r is None for r in rows):
                raise FovealError("rl.old_logprobs is 'backend' but the rollout backend returned no logprobs")
            t = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
            for i, r in enumerate(rows):
                t[i, : len(r)] = torch.tensor(r, dtype=torch.float32)
            out.append(t)
        return out

    def prepare(self, ro: Rollouts) -> Prepared:
        """Everything the update needs and that does not change across the mu passes."""
        cfg, s = self.cfg, self.s
        mbs = self.micro_batches(ro)
        rewards = ro.rewards
        ref = None
        if cfg.beta > 0:
            ref = self.frozen_logprobs(mbs, self.ref_model)
        if cfg.beta > 0 and cfg.kl_mode == "reward":
            cur = self.frozen_logprobs(mbs, s.model)
            penalty = [algos.kl_reward_penalty(torch.zeros(len(c)), c, r, m, cfg.beta, cfg.kl).cpu() for c, r, (_, _, m) in zip(cur, ref, mbs, strict=False)]
            rewards = rewards + torch.cat(penalty)
        adv = self.global_advantages(rewards, ro.group_ids)
        old = None
        if cfg.old_logprobs == "backend":
            old = self.backend_old_logprobs(ro, mbs)
        elif cfg.mu > 1 or cfg.old_logprobs == "recompute":
            old = self.frozen_logprobs(mbs, s.model)
        num_seqs = s.global_sum(len(ro.samples)) / s.world
        num_tokens = s.global_sum(sum(float(m.sum()) for _, _, m in mbs)) / s.world
        return Prepared(mbs, rewards, adv, old, ref, num_seqs, num_tokens)

    def global_advantages(self, rewards: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
        """This process's advantages, computed over the rewards of all processes.

        Batch statistics (`scale_rewards: batch`, `reinforce`'s baseline) must see the whole step, or N
        processes would compute N different normalisations. Every process holds the same number of
        completions, so its rows are the rank-th equal slice of the gathered batch.
        """
        s, cfg = self.s, self.cfg
        kwargs = {"scale": cfg.scale_rewards} if cfg.advantage == "grpo" else {}
        if s.world == 1:
            return self.advantage(rewards, group_ids, **kwargs)
        n, groups = len(rewards), int(group_ids.max()) + 1
        all_rewards = s.gather(rewards)
        all_ids = s.gather(group_ids + s.rank * groups).long()  # distinct group ids across processes
        return self.advantage(all_rewards, all_ids, **kwargs)[s.rank * n : (s.rank + 1) * n]

    def backward_pass(self, b: Prepared, stats: dict, weight: float = 1.0) -> None:
        """One pass over the micro-batches: loss, backward (gradients accumulate; no optimizer step)."""
        cfg, s = self.cfg, self.s
        s.model.train()
        for k, (sl, batch, mask) in enumerate(b.mbs):
            with s.sync(last=k == len(b.mbs) - 1):
                logp, entropy = s.logprobs(batch, s.cfg.sampling.temperature)
                a = b.advantages[sl].to(logp.device, logp.dtype)
                old_lp = b.old[k] if b.old is not None else logp.detach()
                per_tok, clipped, ratio = self.policy_loss(logp, old_lp, a, mask, cfg.clip_low, cfg.clip_high)
                if b.ref is not None:
                    kl = self.kl(logp, b.ref[k])
                    if cfg.kl_mode == "loss":
                        per_tok = per_tok + cfg.beta * (algos.kl_with_ratio(kl, ratio) if cfg.kl_ratio_correction else kl)
                    stats["kl"] += weight * float((kl.detach() * mask).sum()) / b.num_tokens
                loss = self.aggregate(per_tok, mask, num_seqs=b.num_seqs, num_tokens=b.num_tokens, max_len=s.cfg.sampling.max_new_tokens)
                if cfg.entropy_coef:
                    loss = loss - cfg.entropy_coef * (entropy * mask).sum() / b.num_tokens
                s.accelerator.backward(loss)
            stats["loss"] += weight * loss.item()
            stats["clipped"] += weight * float((clipped.float() * mask).sum()) / b.num_tokens
            stats["entropy"] += weight * float((entropy.detach() * mask).sum()) / b.num_tokens

    def step(self, step: int) -> dict:
        t0 = time.perf_counter()
        ro = self.rollout(step)
        t_gen = time.perf_counter() - t0
        prepared, stats = self.update(ro)
        dt = time.perf_counter() - t0
        return self.log_row(ro, prepared.rewards, stats, dt, t_gen)

    def update(self, ro: Rollouts) -> tuple[Prepared, dict]:
        """Steps 3-5 on given rollouts: advantages, then mu optimizer steps; returns the batch and stats."""
        cfg, s = self.cfg, self.s
        prepared = self.prepare(ro)
        stats = {"clipped": 0.0, "kl": 0.0, "entropy": 0.0, "loss": 0.0, "grad_norm": 0.0}
        for _ in range(cfg.mu):
            self.backward_pass(prepared, stats, weight=1 / cfg.mu)
            stats["grad_norm"] += s.clip_and_step(self.optimizer, self.scheduler, cfg.optim.max_grad_norm) / cfg.mu
        return prepared, stats

    def log_row(self, ro: Rollouts, rewards: torch.Tensor, stats: dict, dt: float, t_gen: float) -> dict:
        s = self.s
        lengths = torch.tensor([len(t) for t in ro.token_ids], dtype=torch.float32)
        row = {
            "reward_mean": s.global_mean(rewards),
            "reward_std": s.global_std(rewards),
        }
        for name, r in ro.per_fn.items():
            row[f"reward/{name}/mean"] = s.global_mean(r)
            row[f"reward/{name}/std"] = s.global_std(r)
        if "accuracy" in ro.per_fn:
            row["accuracy"] = row["reward/accuracy/mean"]
            tasks = s.gather_list([x.task for x in ro.samples])
            if len(set(tasks)) > 1:  # a task mix: each task's own training accuracy
                for task, acc in by_task_means(tasks, s.gather(ro.per_fn["accuracy"])).items():
                    row[f"accuracy/{task}"] = acc
        if "format" in ro.per_fn:
            row["format_rate"] = s.global_mean((ro.per_fn["format"] > 0).float())
        row.update(
            completion_len=s.global_mean(lengths),
            truncated_frac=s.global_mean(torch.tensor(ro.truncated, dtype=torch.float32)),
            clip_frac=stats["clipped"],
            kl=stats["kl"] if self.cfg.beta > 0 else None,
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
