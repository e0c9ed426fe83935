"""Does position survive the vision tower? Linear (ridge) probes from visual tokens to where things are.

    .venv/bin/python scripts/position_probe.py --models tiny,tiny-llava
    .venv/bin/python scripts/position_probe.py --models tiny,runs/learn/models/tiny-spatial/sft --n 600

For each model (an embedded name, untrained, or a trained model directory) the gym's `count` level-1
scenes with exactly one object (64 px; the generator's meta gives the object's centre) go through the
model, and the outputs of every vision layer (the patch embedding, each block) and of the merger /
projector (the tokens the language model sees) are read with forward hooks. Three ridge probes per
layer, each fitted on 60% of the scenes, its penalty chosen on 20% and scored (R^2, mean over x and y)
on the last 20%:

    token   each token's vector -> that token's own (row, col) on the patch grid: do the token
            *values* carry where they are? (Qwen2-VL's tower has position only in rotary attention)
    pooled  the mean of the image's tokens -> the object's (x, y): position readable from an
            order-free summary of the values
    flat    the image's tokens concatenated in order -> the object's (x, y): readable when the slot
            order is known (an upper bound: the language model sees the order only through its own
            position encoding)

The same three probes read the language model's decoder layers (`lm1` ..) at the image tokens'
positions, and a fourth, `last`, reads the prompt's last token (where the answer is generated) ->
the object's (x, y). Prints one row per model and layer. Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

LAMBDAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)


def ridge_fit(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Ridge weights with an unpenalised intercept (x: [N, D] standardised features, y: [N, K]):

        W = (X^T X + lam I)^-1 X^T (y - mean y),   prediction = x W + mean y

    solved in the dual when D > N: W = X^T (X X^T + lam I)^-1 (y - mean y)."""
    yc = y - y.mean(0)
    n, d = x.shape
    if d > n:
        return x.T @ np.linalg.solve(x @ x.T + lam * np.eye(n), yc)
    return np.linalg.solve(x.T @ x + lam * np.eye(d), x.T @ yc)


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination averaged over columns: 1 - sum (y - pred)^2 / sum (y - mean y)^2."""
    ss_res = ((y - pred) ** 2).sum(0)
    ss_tot = ((y - y.mean(0)) ** 2).sum(0)
    return float(np.mean(1 - ss_res / np.maximum(ss_tot, 1e-12)))


def probe(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """Held-out R^2 of a ridge probe x -> y: split by `groups` (an image's rows stay together) 60/20/20,
    standardise on the fit part, choose lambda on the middle part, score the last part."""
    order = np.unique(groups)
    a, b = int(0.6 * len(order)), int(0.8 * len(order))
    fit, val, test = (np.isin(groups, order[s]) for s in (slice(0, a), slice(a, b), slice(b, None)))
    mu, sd = x[fit].mean(0), x[fit].std(0) + 1e-6
    z = (x - mu) / sd
    best = max(LAMBDAS, key=lambda lam: r2(y[val], z[val] @ ridge_fit(z[fit], y[fit], lam) + y[fit].mean(0)))
    keep = fit | val
    mu, sd = x[keep].mean(0), x[keep].std(0) + 1e-6
    z = (x - mu) / sd
    return r2(y[test], z[test] @ ridge_fit(z[keep], y[keep], best) + y[keep].mean(0))


def scenes(n: int, seed: int):
    """`n` distinct count level-1 scenes with one object, and its centre (x, y) as fractions of the side."""
    from foveal import tasks

    task, out, keys, pos = tasks.get("count"), [], set(), []
    for i in range(seed, seed + 40 * n):
        s = task.generate(i, 1)
        objs = s.meta["objects"]
        if len(objs) == 1 and s.problem_key not in keys:
            keys.add(s.problem_key)
            out.append(s)
            pos.append((objs[0]["x"] / s.meta["size"], objs[0]["y"] / s.meta["size"]))
        if len(out) == n:
            return out, np.array(pos)
    sys.exit(f"position_probe: only {len(out)} one-object count scenes in {40 * n} draws")


def layers_of(model):
    """[(layer name, module, token layout)] of a model's vision side; layouts map token order to grid."""
    m = model.model
    if hasattr(m, "visual"):  # Qwen2-VL: blocks keep merge-window order, the merger emits one per window
        v = m.visual
        return ([("patch_embed", v.patch_embed, "window")] + [(f"block{i + 1}", b, "window") for i, b in enumerate(v.blocks)]
                + [("merged", v.merger, "raster")])
    if hasattr(m, "vision_tower"):  # LLaVA / CLIP: CLS then raster patches; the projector drops CLS
        v = m.vision_tower
        return ([("embeddings", v.embeddings, "cls+raster")]
                + [(f"block{i + 1}", b, "cls+raster") for i, b in enumerate(v.encoder.layers)]
                + [("merged", m.multi_modal_projector, "raster")])
    if hasattr(m, "vision_model"):  # Idefics3 / SigLIP: raster patches; pixel shuffle keeps raster order
        v = m.vision_model
        return ([("embeddings", v.embeddings, "raster")]
                + [(f"block{i + 1}", b, "raster") for i, b in enumerate(v.encoder.layers)]
                + [("merged", m.connector, "raster")])
    sys.exit(f"position_probe: no known vision tower in {type(model).__name__}")


def grid_positions(n_tokens: int, layout: str, merge: int = 2) -> np.ndarray:
    """(row, col) / side of each token of one square image, in the order the layer emits them."""
    if layout == "cls+raster":
        n_tokens -= 1
    side = int(round(n_tokens**0.5))
    if layout == "window":  # index = ((hb * (side/m) + wb) * m + hi) * m + wi
        idx = np.arange(n_tokens)
        wi, hi = idx % merge, (idx // merge) % merge
        wb, hb = (idx // merge**2) % (side // merge), idx // (merge**2 * (side // merge))
        rows, cols = hb * merge + hi, wb * merge + wi
    else:
        rows, cols = np.divmod(np.arange(n_tokens), side)
    return np.stack([rows, cols], 1) / max(side - 1, 1)


def decoder_layers(model):
    """The language model's decoder layers (Qwen2-VL and LLaVA: `language_model`, Idefics3: `text_model`)."""
    m = model.model
    lm = getattr(m, "language_model", None) or m.text_model
    return list(lm.layers)


def _output(out):
    return out[0] if isinstance(out, tuple) else getattr(out, "last_hidden_state", out)


def features(policy, samples, batch: int = 32):
    """({layer: [images, tokens, dim]}, {layer: token layout}, {LM layer: [images, dim]}) of the samples.

    Vision layers and the merger are read with forward hooks; each decoder layer `lmK` gives the image
    tokens' hidden states (in order, one image per prompt) and the prompt's last token's ("last")."""
    import torch

    specs = layers_of(policy.model)
    specs += [(f"lm{i + 1}", layer, "lm") for i, layer in enumerate(decoder_layers(policy.model))]
    got: dict[str, list] = {name: [] for name, _, _ in specs}
    hooks = [mod.register_forward_hook(lambda _m, _i, out, name=name: got[name].append(_output(out).detach()))
             for name, mod, _ in specs]
    image_id = getattr(policy.model.config, "image_token_id", None) or policy.model.config.image_token_index
    masks = []
    try:
        with torch.no_grad():
            for i in range(0, len(samples), batch):
                enc = policy.encode_prompts(samples[i: i + batch])
                masks.append(enc["input_ids"] == image_id)
                policy.model(**enc, use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    tokens, last = {}, {}
    for name, _, layout in specs:
        if layout == "lm":  # [B, T, D] per batch: the image positions in order, and the last (left-padded)
            tokens[name] = torch.cat([h[m].reshape(h.shape[0], -1, h.shape[-1]) for h, m in zip(got[name], masks, strict=True)])
            last[name] = torch.cat([h[:, -1] for h in got[name]]).float().numpy()
            tokens[name] = tokens[name].float().numpy()
        else:
            t = torch.cat([x.reshape(-1, x.shape[-1]) for x in got[name]]).float().numpy()
            tokens[name] = t.reshape(len(samples), -1, t.shape[-1])
    layouts = {name: layout for name, _, layout in specs}
    merged = layouts["merged"]
    return tokens, {k: merged if v == "lm" else v for k, v in layouts.items()}, last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="tiny,tiny-llava", help="comma-separated embedded names or model directories")
    ap.add_argument("--n", type=int, default=500, help="one-object scenes")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch

    from foveal.errors import FovealError
    from foveal.models import load_policy

    torch.set_num_threads(1)
    samples, pos = scenes(args.n, args.seed)
    print(f"{len(samples)} one-object count scenes (64 px); held-out R^2 of ridge probes (1 = exact, 0 = none)")
    names = [m for m in args.models.split(",") if m]
    width = max(len(m) for m in names) + 2
    print(f"{'model':<{width}}{'layer':<13}{'tokens':>7}{'token':>8}{'pooled':>8}{'flat':>8}{'last':>8}")
    for name in names:
        try:
            policy = load_policy(name, system_prompt=None, device="cpu")
        except FovealError as e:
            sys.exit(f"position_probe: {e}")
        feats, layouts, last = features(policy, samples)
        for layer, x in feats.items():
            n_img, n_tok, dim = x.shape
            grid = grid_positions(n_tok, layouts[layer])
            tokens = x[:, 1:] if layouts[layer] == "cls+raster" else x
            tok_x = tokens.reshape(-1, dim)
            tok_y = np.tile(grid, (n_img, 1))
            groups = np.repeat(np.arange(n_img), tokens.shape[1])
            img = np.arange(n_img)
            row = [probe(tok_x, tok_y, groups), probe(tokens.mean(1), pos, img), probe(x.reshape(n_img, -1), pos, img)]
            cells = [f"{v:>8.2f}" for v in row] + [f"{probe(last[layer], pos, img):>8.2f}" if layer in last else f"{'-':>8}"]
            print(f"{name:<{width}}{layer:<13}{n_tok:>7}" + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
