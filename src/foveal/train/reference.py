"""The reference model of the KL term: built by the RL stage, frozen or moved towards the policy.

    ref = reference_model(session, resuming)       # a frozen copy of the policy at the stage's start
    REF_UPDATES.build("sync", {"alpha": 0.6, "every": 512})(policy_model, ref, step)

Updates (the recipe's `rl.ref_update`, default none: frozen):

    sync  TRL's `sync_ref_model`: after every `every`-th optimizer step (step % every == 0, steps
          counted from 1), for every parameter  ref <- alpha * policy + (1 - alpha) * ref
          (TRL's `ref_model_mixup_alpha`, default 0.6, and `ref_model_sync_steps`, default 512;
          SyncRefModelCallback mixes parameters only, buffers stay)
    ema   the same mix after every step with a small alpha (default 0.01): an exponential moving
          average of the policy (GRPO-CARE's slowly updated reference)
"""

from __future__ import annotations

import copy

import torch

from foveal.registry import Registry

REF_UPDATES = Registry("reference update", reserved=("ctx",))


@torch.no_grad()
def mix_into(ref: torch.nn.Module, policy: torch.nn.Module, alpha: float) -> None:
    """In place, for each parameter, matched by name: ref <- alpha * policy + (1 - alpha) * ref.

    alpha 1 copies the policy; GRPO-CARE's EMA with decay d is alpha = 1 - d. Buffers stay (as in
    TRL's SyncRefModelCallback). ValueError if alpha is outside [0, 1] or the two models' parameter
    names differ."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"mix_into: alpha must lie in [0, 1], got {alpha}")
    refs, pols = dict(ref.named_parameters()), dict(policy.named_parameters())
    if refs.keys() != pols.keys():
        raise ValueError(f"mix_into: the models' parameters differ: {sorted(refs.keys() ^ pols.keys())[:5]}")
    for name, r in refs.items():
        r.mul_(1 - alpha).add_(pols[name].detach().to(r.dtype), alpha=alpha)


@REF_UPDATES.register("sync")
def sync_ref(policy: torch.nn.Module, ref: torch.nn.Module, step: int, alpha: float = 0.6, every: int = 512) -> None:
    """TRL's sync_ref_model: ref <- alpha * policy + (1 - alpha) * ref after every `every`-th step."""
    if every < 1 or not 0 <= alpha <= 1:
        raise ValueError(f"sync: need every >= 1 and 0 <= alpha <= 1, got every={every}, alpha={alpha}")
    if step % every == 0:
        mix_into(ref, policy, alpha)


@REF_UPDATES.register("ema")
def ema_ref(policy: torch.nn.Module, ref: torch.nn.Module, step: int, alpha: float = 0.01) -> None:
    """EMA reference: ref <- alpha * policy + (1 - alpha) * ref after every optimizer step."""
    sync_ref(policy, ref, step, alpha=alpha, every=1)


def frozen_copy(accelerator, model: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of the prepared `model`, unwrapped from DDP and from accelerate's mixed-precision
    forward wrapper (a model reloaded from disk has none, so a fresh and a resumed run score alike;
    `Session.logprobs` runs any model but the policy under the accelerator's autocast instead)."""
    from accelerate.utils import extract_model_from_parallel

    return extract_model_from_parallel(copy.deepcopy(accelerator.unwrap_model(model)), keep_fp32_wrapper=False)


def reference_model(session, resuming: bool) -> torch.nn.Module:
    """A frozen copy of the policy as it is at the start of the RL stage.

    Resuming mid-stage, the policy has moved, so the start is reloaded: the SFT stage's output if
    the run had one, else the recipe's model (a moving reference is restored from the checkpoint).
    """
    cfg = session.cfg
    if resuming:
        from foveal.models import load_policy

        start = str(session.run_dir / "sft") if cfg.sft.steps else cfg.model.path
        ref = load_policy(start, dtype=cfg.model.dtype, device=str(session.accelerator.device), seed=cfg.init_seed).model
    else:
        ref = frozen_copy(session.accelerator, session.model)
    return ref.eval().requires_grad_(False)
