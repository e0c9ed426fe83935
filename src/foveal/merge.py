"""Weight merging over saved models: task vectors, layer swapping, layer-wise interpolation.

    from foveal.merge import merge_add, merge_layers, merge_interpolate
    merge_add("runs/sft2", plus="runs/grpo", minus="runs/sft", alpha=1.0, out="runs/sft2+rv")
    merge_layers("runs/a", donor="runs/b", layers="0,2-3", out="runs/a-with-b-layers")
    merge_interpolate("runs/a", "runs/b", alpha="linear:0.2:0.8", out="runs/frank")

Each works on transformers `save_pretrained` directories (config.json + *.safetensors), whatever
the architecture, tensor by tensor: a tensor is read from each input with `safetensors.safe_open`,
combined in float64, cast back to the base's stored dtype and written into the output shard of
the same name (one shard in memory at a time). The output keeps the base's shard layout and
carries every non-weight file of the base (config, generation config, processor, tokenizer, chat
template, shard index), so it loads with the plain transformers Auto classes and `load_policy`.
A `merge.json` beside the weights records what was merged and how.

The three operations (θ: a tensor; A, B, BASE, FT, REF: models):

    add          θ = θ_BASE + α · (θ_FT − θ_REF)           task / reasoning vectors (α < 0 subtracts);
                                                            the vector optionally thinned first (TIES' trim
                                                            or DARE's drop-and-rescale, `sparsify`)
    layers       θ = θ_B  for tensors of the listed decoder layers, θ_A elsewhere (layer swapping)
    interpolate  θ = (1 − α_l) · θ_A + α_l · θ_B             α_l per decoder layer l (FRANK-style fusion);
                                                            tensors outside the decoder layers use α_rest

Exactness: in float64 a float32 (or bf16/fp16) tensor's values and their differences are exact,
so `add` with α = 1, FT = B, REF = BASE returns B bit for bit, and `interpolate` at α = 0 / 1
returns A / B. Non-float tensors (integer buffers) are taken from the base (A) unchanged.

Decoder layers are found in tensor names (`decoder_layer`): the number after `layers.`, `h.` or
`blocks.` (llama/Qwen `model.layers.N.`, Qwen2-VL `model.language_model.layers.N.`, GPT-2
`transformer.h.N.`, LLaVA `language_model.model.layers.N.`), except inside a vision tower or
projector (`visual.`, `vision_tower.`, `vision_model.`, `multi_modal_projector.`, ...): a VLM's
vision blocks are not decoder layers, so `layers` and per-layer schedules leave them to α_rest / A.

All input is checked before anything is written: every directory exists and holds safetensors,
all models have the same tensor names, shapes and dtypes (the first mismatch is named), α is
finite (in [0, 1] for interpolate), the layer spec lies in range. The output directory is built
under a temporary name and renamed into place.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foveal.errors import FovealError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf")
VISION_PARTS = frozenset({"visual", "vision", "vision_tower", "vision_model", "vision_encoder", "image_encoder",
                          "vision_embed_tokens", "mm_projector", "multi_modal_projector", "audio_tower"})
LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks)\.(\d+)(?:\.|$)")
SCHEDULE = re.compile(r"^linear:([^:]+):([^:]+)$")
METHODS = ("none", "ties", "dare")


# -- pure tensor arithmetic ------------------------------------------------------------------

def add_vector(base, plus, minus, alpha: float, method: str = "none", density: float = 1.0, seed: int = 0,
               name: str = ""):
    """θ_base + α · sparsify(θ_plus − θ_minus), computed in float64, cast back to θ_base's dtype."""
    import torch

    if not base.is_floating_point():
        return base
    delta = sparsify(plus.to(torch.float64) - minus.to(torch.float64), method, density, seed, name)
    return (base.to(torch.float64) + alpha * delta).to(base.dtype)


def sparsify(delta, method: str, density: float, seed: int = 0, name: str = ""):
    """A task vector τ (float64) thinned to a fraction `density` of its entries.

        ties:  keep the ceil(density · n) entries of largest |τ| (ties' trim step; with one task vector
               its sign election and disjoint mean change nothing), zero the rest
        dare:  keep each entry with probability density and rescale, τ' = m ⊙ τ / density,
               m ~ Bernoulli(density) drawn from `seed` and the tensor's `name` (E[τ'] = τ)
        none:  τ unchanged (also both methods at density 1)
    """
    import zlib

    import torch

    if method == "none" or density >= 1:
        return delta
    if method == "ties":
        keep = math.ceil(density * delta.numel())
        if keep == 0:
            return torch.zeros_like(delta)
        threshold = delta.abs().flatten().kthvalue(delta.numel() - keep + 1).values
        return torch.where(delta.abs() >= threshold, delta, torch.zeros_like(delta))
    gen = torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(name.encode())) % 2**63)
    mask = torch.rand(delta.shape, generator=gen, dtype=torch.float64) < density
    return torch.where(mask, delta / density, torch.zeros_like(delta))


def interpolate(a, b, alpha: float):
    """(1 − α) · θ_a + α · θ_b, computed in float64, cast back to θ_a's dtype (exact at α = 0 and 1)."""
    import torch

    if not a.is_floating_point():
        return a
    if alpha == 0:
        return a
    if alpha == 1:
        return b.to(a.dtype)
    return ((1 - alpha) * a.to(torch.float64) + alpha * b.to(torch.float64)).to(a.dtype)


# -- names: decoder layers, layer specs, schedules ---------------------------------------------

def decoder_layer(name: str) -> int | None:
    """The decoder-layer index in a tensor name, or None (embeddings, final norm, vision tower, ...)."""
    parts = name.split(".")
    if any(p in VISION_PARTS for p in parts):
        return None
    m = LAYER.search(name)
    return int(m.group(1)) if m else None


def count_layers(names) -> int:
    """The number of decoder layers: 1 + the largest index in the names (0 when there are none)."""
    found = [i for i in map(decoder_layer, names) if i is not None]
    return max(found) + 1 if found else 0


def parse_layers(spec: str, n_layers: int) -> list[int]:
    """`"0,2-3"` -> [0, 2, 3]: comma-separated indices and inclusive ranges, each in [0, n_layers)."""
    picked: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise FovealError(f"--layers {spec!r}: expected layer indices and ranges like 0,2-3, got {part!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo > hi:
            raise FovealError(f"--layers {spec!r}: range {part} runs backwards")
        if hi >= n_layers:
            raise FovealError(f"--layers {spec!r}: layer {hi} out of range (the model has {n_layers} decoder "
                              f"layers, 0-{n_layers - 1})")
        picked.update(range(lo, hi + 1))
    return sorted(picked)


def _unit(value: str, what: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise FovealError(f"{what}: expected a number in [0, 1], got {value!r}") from None
    if not (math.isfinite(x) and 0 <= x <= 1):
        raise FovealError(f"{what}: expected a number in [0, 1], got {value!r}")
    return x


def parse_schedule(spec: str, n_layers: int) -> list[float]:
    """α per decoder layer from `spec`: one number (every layer), `linear:a:b` (a at layer 0 to b at
    the last, evenly spaced), or a comma list with one number per layer. Each α in [0, 1]."""
    what = f"--alpha {spec!r}"
    spec = spec.strip()
    if m := SCHEDULE.match(spec):
        a, b = _unit(m.group(1), what), _unit(m.group(2), what)
        ts = [i / (n_layers - 1) if n_layers > 1 else 0.0 for i in range(n_layers)]
        return [round((1 - t) * a + t * b, 12) for t in ts]
    if "," in spec:
        values = [_unit(v.strip(), what) for v in spec.split(",")]
        if len(values) != n_layers:
            raise FovealError(f"{what}: {len(values)} values for {n_layers} decoder layers (give one per layer)")
        return values
    return [_unit(spec, what)] * n_layers


# -- reading models --------------------------------------------------------------------------

@dataclass(frozen=True)
class TensorInfo:
    file: str
    shape: tuple[int, ...]
    dtype: str


def weight_files(model_dir: Path, option: str) -> list[Path]:
    """The *.safetensors files of a model directory; FovealError naming `option` if there are none."""
    if not model_dir.exists():
        raise FovealError(f"{option} {model_dir}: no such model directory")
    if not model_dir.is_dir():
        raise FovealError(f"{option} {model_dir}: is a file, not a model directory")
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise FovealError(f"{option} {model_dir}: holds no *.safetensors weights "
                          "(expected a transformers save_pretrained directory)")
    return files


def tensor_index(model_dir: str | os.PathLike, option: str = "model") -> dict[str, TensorInfo]:
    """name -> (file, shape, dtype) of every tensor in a model directory, read from the headers only."""
    from safetensors import SafetensorError, safe_open

    model_dir = Path(model_dir)
    index: dict[str, TensorInfo] = {}
    for f in weight_files(model_dir, option):
        try:
            with safe_open(f, framework="pt") as st:
                infos = {name: TensorInfo(f.name, tuple(st.get_slice(name).get_shape()), st.get_slice(name).get_dtype())
                         for name in st.keys()}
        except (OSError, SafetensorError) as e:
            raise FovealError(f"{option} {f}: not a readable safetensors file ({e})") from None
        for name in infos.keys() & index.keys():
            raise FovealError(f"{option} {model_dir}: tensor {name} is in both {index[name].file} and {f.name}")
        index.update(infos)
    return index


def check_same_tensors(indexes: dict[str, dict[str, TensorInfo]]) -> None:
    """FovealError naming the first tensor (in sorted order) whose presence, shape or dtype differs
    between the models (`indexes`: option -> tensor index; the first is the reference)."""
    (ref_opt, ref), *others = indexes.items()
    for opt, idx in others:
        for name in sorted(set(ref) | set(idx)):
            if name not in idx:
                raise FovealError(f"{opt}: has no tensor {name} (which {ref_opt} has): the models differ in "
                                  "architecture")
            if name not in ref:
                raise FovealError(f"{opt}: has a tensor {name} that {ref_opt} lacks: the models differ in "
                                  "architecture")
            a, b = ref[name], idx[name]
            if a.shape != b.shape:
                raise FovealError(f"{opt}: tensor {name} has shape {list(b.shape)}, {ref_opt} has {list(a.shape)}")
            if a.dtype != b.dtype:
                raise FovealError(f"{opt}: tensor {name} is {b.dtype}, {ref_opt} has {a.dtype} (save both in one "
                                  "dtype)")


def _check_inputs(models: dict[str, str | os.PathLike], out: Path, overwrite: bool) -> dict[str, dict]:
    """Every model's tensor index, after checking directories, tensors and the output path."""
    from foveal.options import check_out_dir, is_empty_dir

    indexes = {opt: tensor_index(Path(d), opt) for opt, d in models.items()}
    check_same_tensors(indexes)
    resolved = {Path(d).resolve() for d in models.values()}
    if out.resolve() in resolved:
        raise FovealError(f"--out {out}: is one of the input models (write the merge elsewhere)")
    check_out_dir(out, overwrite or is_empty_dir(out))
    return indexes


# -- writing the merge -----------------------------------------------------------------------

Combine = Callable[[str, dict[str, Any]], Any]  # (tensor name, option -> tensor) -> merged tensor


def write_merge(models: dict[str, str | os.PathLike], out: str | os.PathLike, combine: Combine,
                recipe: dict[str, Any], overwrite: bool = False, indexes: dict | None = None) -> Path:
    """Merge `models` (option -> directory; the first is the base) into `out`, tensor by tensor.

    For every tensor of the base, in the base's shard files, `combine(name, {option: tensor})` gives
    the output tensor. Non-weight files of the base are copied; `recipe` goes to out/merge.json.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import save_file

    from foveal.io import atomic_dir, atomic_write_json
    from foveal.options import is_empty_dir

    out = Path(out)
    indexes = indexes or _check_inputs(models, out, overwrite)
    base_opt, base_dir = next(iter(models.items()))
    base_dir = Path(base_dir)
    shards: dict[str, list[str]] = {}
    for name, info in indexes[base_opt].items():
        shards.setdefault(info.file, []).append(name)
    handles: dict[tuple[str, str], Any] = {}

    def tensor(opt: str, name: str):
        key = (opt, indexes[opt][name].file)
        try:
            if key not in handles:
                handles[key] = safe_open(Path(models[opt]) / key[1], framework="pt")
            return handles[key].get_tensor(name)
        except (OSError, SafetensorError) as e:  # a header that reads but data that does not (truncated file)
            raise FovealError(f"{opt} {Path(models[opt]) / key[1]}: cannot read tensor {name} ({e})") from None

    with atomic_dir(out, overwrite=overwrite or is_empty_dir(out)) as tmp:
        for file, names in sorted(shards.items()):
            with safe_open(base_dir / file, framework="pt") as st:
                metadata = st.metadata() or {"format": "pt"}
            merged = {}
            for name in sorted(names):
                merged[name] = combine(name, {opt: tensor(opt, name) for opt in models}).contiguous()
            save_file(merged, str(tmp / file), metadata=metadata)
        handles.clear()
        for f in sorted(base_dir.iterdir()):
            if f.is_file() and not f.name.endswith(WEIGHT_SUFFIXES) and f.name != "merge.json":
                shutil.copy2(f, tmp / f.name)
        atomic_write_json(tmp / "merge.json", {**recipe, "inputs": {o: str(d) for o, d in models.items()}})
    return out


def _finite(alpha: float, option: str = "--alpha") -> float:
    if not math.isfinite(alpha):
        raise FovealError(f"{option} {alpha}: expected a finite number")
    return float(alpha)


def merge_add(base: str | os.PathLike, plus: str | os.PathLike, minus: str | os.PathLike, alpha: float,
              out: str | os.PathLike, overwrite: bool = False, method: str = "none", density: float = 1.0,
              seed: int = 0) -> dict[str, Any]:
    """BASE + α · (PLUS − MINUS) for every tensor (see the module docstring), the vector optionally
    thinned by `method` ties or dare to `density` (`sparsify`). Returns the recipe."""
    alpha = _finite(alpha)
    if method not in METHODS:
        raise FovealError(f"--method {method!r}: expected one of {', '.join(METHODS)}")
    if not (math.isfinite(density) and 0 < density <= 1):
        raise FovealError(f"--density {density}: expected a fraction in (0, 1]")
    recipe = {"op": "add", "alpha": alpha, "formula": "base + alpha * (plus - minus)"}
    if method != "none":
        recipe.update(method=method, density=density, **({"seed": seed} if method == "dare" else {}))
        recipe["formula"] = f"base + alpha * {method}(plus - minus, density)"
    write_merge({"--base": base, "--plus": plus, "--minus": minus}, out,
                lambda name, t: add_vector(t["--base"], t["--plus"], t["--minus"], alpha, method, density, seed, name),
                recipe, overwrite)
    return recipe


def merge_layers(base: str | os.PathLike, donor: str | os.PathLike, layers: str, out: str | os.PathLike,
                 overwrite: bool = False) -> dict[str, Any]:
    """The base with the decoder layers in `layers` (e.g. "0,2-3") taken from `donor`. Returns the recipe."""
    out = Path(out)
    models = {"--base": base, "--donor": donor}
    indexes = _check_inputs(models, out, overwrite)
    n = count_layers(indexes["--base"])
    if n == 0:
        raise FovealError(f"--base {base}: no decoder layers found in its tensor names")
    picked = set(parse_layers(layers, n))
    taken = sorted(name for name in indexes["--base"] if decoder_layer(name) in picked)
    recipe = {"op": "layers", "layers": sorted(picked), "n_layers": n, "tensors_from_donor": len(taken),
              "tensors": len(indexes["--base"])}
    write_merge(models, out, lambda name, t: t["--donor"] if decoder_layer(name) in picked else t["--base"],
                recipe, overwrite, indexes)
    return recipe


def merge_interpolate(a: str | os.PathLike, b: str | os.PathLike, alpha: str | float, out: str | os.PathLike,
                      rest: float | None = None, overwrite: bool = False) -> dict[str, Any]:
    """(1 − α_l) · A + α_l · B per decoder layer l; `alpha` a number or a schedule (`parse_schedule`).

    rest: α for tensors outside the decoder layers (embeddings, final norm, vision tower); default α
    itself when `alpha` is one number, else 0 (A's). Returns the recipe.
    """
    out = Path(out)
    models = {"--a": a, "--b": b}
    indexes = _check_inputs(models, out, overwrite)
    n = count_layers(indexes["--a"])
    spec = str(alpha)
    schedule = parse_schedule(spec, max(n, 1))
    single = not (SCHEDULE.match(spec.strip()) or "," in spec)
    if rest is None:
        rest = schedule[0] if single else 0.0
    rest = _unit(str(rest), "--rest")

    def alpha_of(name: str) -> float:
        layer = decoder_layer(name)
        return schedule[layer] if layer is not None and layer < len(schedule) else rest

    recipe = {"op": "interpolate", "alpha": schedule[0] if single else schedule, "rest": rest, "n_layers": n,
              "formula": "(1 - alpha) * a + alpha * b"}
    write_merge(models, out, lambda name, t: interpolate(t["--a"], t["--b"], alpha_of(name)), recipe, overwrite,
                indexes)
    return recipe
