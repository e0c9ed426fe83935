"""What running each prompt once per group would save in the RL step's log-prob passes (a measurement
for issue 18's speed item, not yet foveal's code path).

    .venv/bin/python benchmarks/bench_shared_prompt.py [--prompts 4] [--group 4] [--max-new 32] [--repeats 5]

In a GRPO step every prompt appears G times (one row per completion), and on the tiny VLM the prompt
(system prompt, question, image tokens) is ~3/4 of each row: the reference pass, the policy's forward
and its backward run the same prompt G times. Sharing it: run the P distinct prompts once with the
KV cache on (gradients flow through the cache), repeat the cache G times, run the completions on it:

    logits[:, 0]  = prompt pass's last position          (predicts the first completion token)
    logits[:, 1:] = completion pass over the cached prompt

This script does that for the embedded Qwen2-VL (its 3-D rotary positions computed once for the full rows
with `get_rope_index`, each prompt's image patches picked out of `pixel_values`), checks it against
`Policy.token_logprobs` (log-probs and every gradient) and prints the time of both, no-grad (the reference
pass) and forward + backward (the policy's update). A general version belongs in `Policy.token_logprobs`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch


def shared_prompt_logprobs(model, batch: dict, group: int, temperature: float = 1.0) -> torch.Tensor:
    """Per-token log-probs [N, Tc] of the completions in `batch` (rows i*G .. i*G+G-1 share prompt i),
    each prompt run once. Qwen2-VL only (mrope positions, one image per prompt)."""
    comp = batch["completion_ids"]
    n, tc = comp.shape
    ids, am, mm, grid = batch["input_ids"], batch["attention_mask"], batch["mm_token_type_ids"], batch["image_grid_thw"]
    width = ids.shape[1] - tc
    pos, _ = model.model.get_rope_index(ids, mm_token_type_ids=mm, image_grid_thw=grid, attention_mask=am)
    first_rows = torch.arange(0, n, group)
    patches = grid.prod(-1)
    offsets = torch.cat([patches.new_zeros(1), patches.cumsum(0)]).tolist()
    pixels = torch.cat([batch["pixel_values"][offsets[i] : offsets[i + 1]] for i in first_rows.tolist()])
    head = model(input_ids=ids[first_rows, :width], attention_mask=am[first_rows, :width],
                 mm_token_type_ids=mm[first_rows, :width], pixel_values=pixels, image_grid_thw=grid[first_rows],
                 position_ids=pos[:, first_rows, :width], use_cache=True, logits_to_keep=1)
    cache = head.past_key_values
    cache.batch_repeat_interleave(group)
    tail = model(input_ids=comp, attention_mask=am, mm_token_type_ids=mm[:, width:], position_ids=pos[:, :, width:],
                 cache=cache, use_cache=False)
    logits = torch.cat([head.logits[:, -1:].repeat_interleave(group, 0), tail.logits[:, :-1]], 1).float() / temperature
    logp = torch.gather(logits, -1, comp.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, -1)
    return logp * batch["completion_mask"][:, -tc:].to(logp.dtype)


def mean_time(fn, repeats: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--group", type=int, default=4)
    ap.add_argument("--max-new", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import foveal.tasks as gym
    from foveal.models import build_tiny_vlm, load_policy
    from foveal.rollout import Sampling, get_backend
    from foveal.train.rl import cut_at_multimodal, multimodal_token_ids

    with tempfile.TemporaryDirectory() as d:
        build_tiny_vlm(Path(d) / "tiny", seed=0)
        policy = load_policy(str(Path(d) / "tiny"), dtype="float32")
    samples = [gym.get("count").generate(seed, 1, "image") for seed in range(args.prompts)]
    groups = get_backend("hf", policy=policy).generate(samples, args.group, Sampling(1.0, 1.0, args.max_new, seed=0))
    rows = [s for s in samples for _ in range(args.group)]
    forbidden = multimodal_token_ids(policy)  # as the RL stage does: a sampled image token ends the completion
    comps = [cut_at_multimodal(list(c.token_ids), forbidden)[0] for g in groups for c in g.completions]
    batch = policy.encode_pairs(rows, [c or [policy.tokenizer.eos_token_id] for c in comps])
    model = policy.model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    tc = batch["completion_ids"].shape[1]
    print(f"tiny VLM, {args.prompts} prompts x {args.group} completions: rows of {batch['input_ids'].shape[1]} tokens, "
          f"{batch['input_ids'].shape[1] - tc} of them prompt; torch {torch.__version__}, {torch.get_num_threads()} threads")

    def per_row():
        return policy.token_logprobs(batch)[0]

    def shared():
        return shared_prompt_logprobs(model, batch, args.group)

    weights = torch.linspace(-1, 1, batch["completion_ids"].numel()).view_as(batch["completion_ids"])
    a, b = per_row(), shared()
    ga = torch.autograd.grad((a * weights).sum(), params)
    gb = torch.autograd.grad((b * weights).sum(), params)
    print(f"max |shared - per-row| log-prob {(a - b).abs().max().item():.1e}, gradient "
          f"{max((x - y).abs().max().item() for x, y in zip(ga, gb, strict=True)):.1e} "
          f"(largest gradient entry {max(x.abs().max().item() for x in ga):.1e})")
    with torch.no_grad():
        t_row, t_sh = mean_time(per_row, args.repeats), mean_time(shared, args.repeats)
    print(f"no-grad pass (reference)  per-row {t_row:.3f} s  shared {t_sh:.3f} s  ratio {t_sh / t_row:.2f}")
    t_row = mean_time(lambda: per_row().sum().backward(), args.repeats)
    t_sh = mean_time(lambda: shared().sum().backward(), args.repeats)
    print(f"forward + backward        per-row {t_row:.3f} s  shared {t_sh:.3f} s  ratio {t_sh / t_row:.2f}")


if __name__ == "__main__":
    main()
