"""Writing datasets to disk and reading them back as `Sample`s.

Four layouts, each a directory with a `manifest.json` (what generated it, in which format):

- `hf`: a Hugging Face `datasets` dataset saved with `save_to_disk` (open it with
  `datasets.load_from_disk(dir)`; images are a list of the `Image` feature), plus the same
  rows as `data.parquet`. `meta` is a JSON string, since its fields differ by task.
- `jsonl`: `samples.jsonl` (one `Sample.to_record` per line) with images as PNG files
  under `images/`, referenced by relative path.
- `verl`: `train.parquet` in verl's RL layout: `data_source`, `prompt` (chat messages; the
  user turn is the sample's prompt followed by the R1 format instruction), `images`,
  `ability`, `reward_model` {"style": "rule", "ground_truth": answer} and `extra_info`
  (index, id, answer, answer_type, level, question and the rest of the sample).
- `trl`: a `datasets` dataset (`save_to_disk`) in TRL's conversational vision layout, so
  `GRPOTrainer(train_dataset=load_from_disk(dir), reward_funcs=[to_trl(accuracy), ...])` trains on
  it unchanged: `prompt` is chat messages, a system turn with the R1 format instruction and a user
  turn whose content is the sample's prompt split at each `<image>` into parts
  `{"type": "image"}` / `{"type": "text", "text": ...}`; `images` holds the pictures in placeholder
  order (a video sample's frames, one placeholder each); `answer`, `answer_type`, `choices` feed the
  rewards; `question` (the prompt with its `<image>` placeholders) and the other sample fields are kept.

`load_samples(dir)` reads any of them back; samples round-trip exactly (images pixel-identical).
Every write goes through `atomic_dir`: a failed run leaves no directory behind.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from foveal.errors import FovealError
from foveal.io import atomic_dir, atomic_write_json, read_jsonl
from foveal.prompts import R1_SYSTEM_PROMPT
from foveal.sample import IMAGE_TOKEN, Sample, png_bytes
from foveal.split import split_of

FORMATS = ("hf", "jsonl", "verl", "trl")
MANIFEST = "manifest.json"
SAMPLE_KEYS = ("id", "task", "level", "seed", "prompt", "answer", "answer_type", "choices", "text_twin",
               "solution", "form", "tags", "problem_key")


def _features(fmt: str):
    from datasets import Features, List, Value
    from datasets import Image as HFImage

    if fmt == "verl":
        extra = {k: Value("string") for k in ("id", "task", "answer", "answer_type", "question", "text_twin",
                                              "solution", "meta", "form", "split", "problem_key")}
        extra.update(index=Value("int64"), level=Value("int32"), seed=Value("int64"),
                     choices=List(Value("string")), tags=List(Value("string")))
        return Features({
            "data_source": Value("string"),
            "prompt": List({"role": Value("string"), "content": Value("string")}),
            "images": List(HFImage()),
            "ability": Value("string"),
            "reward_model": {"style": Value("string"), "ground_truth": Value("string")},
            "extra_info": extra,
        })
    cols = {k: Value("string") for k in SAMPLE_KEYS}
    cols.update(level=Value("int32"), seed=Value("int64"), images=List(HFImage()), meta=Value("string"),
                choices=List(Value("string")), tags=List(Value("string")))
    if fmt == "trl":
        part = {"type": Value("string"), "text": Value("string")}
        del cols["prompt"]
        cols.update(prompt=List({"role": Value("string"), "content": List(part)}), question=Value("string"))
    return Features(cols)


def _hf_row(s: Sample) -> dict[str, Any]:
    row = {k: getattr(s, k) for k in SAMPLE_KEYS}
    row.update(choices=list(s.choices) if s.choices is not None else None, tags=list(s.tags),
               meta=json.dumps(s.meta, sort_keys=True), images=[{"bytes": png_bytes(im), "path": None}
                                                               for im in s.images])
    return row


def _trl_row(s: Sample) -> dict[str, Any]:
    """An hf row whose `prompt` is TRL's conversational messages; the original prompt moves to `question`."""
    parts: list[dict[str, Any]] = []
    for i, piece in enumerate(s.prompt.split(IMAGE_TOKEN)):
        if i > 0:
            parts.append({"type": "image", "text": None})
        if piece.strip():
            parts.append({"type": "text", "text": piece.strip()})
    system = {"role": "system", "content": [{"type": "text", "text": R1_SYSTEM_PROMPT}]}
    return {**_hf_row(s), "question": s.prompt, "prompt": [system, {"role": "user", "content": parts}]}


def _verl_row(s: Sample, index: int) -> dict[str, Any]:
    return {
        "data_source": f"foveal/{s.task}",
        "prompt": [{"role": "user", "content": f"{s.prompt}\n{R1_SYSTEM_PROMPT}"}],
        "images": [{"bytes": png_bytes(im), "path": None} for im in s.images] or None,  # None: text-only row
        "ability": s.tags[0] if s.tags else "reasoning",
        "reward_model": {"style": "rule", "ground_truth": s.answer},
        "extra_info": {"split": split_of(s.problem_key) if s.problem_key else "train", "index": index, "id": s.id, "task": s.task, "answer": s.answer,
                       "answer_type": s.answer_type, "question": s.prompt, "level": s.level, "seed": s.seed,
                       "choices": list(s.choices) if s.choices is not None else None, "text_twin": s.text_twin,
                       "solution": s.solution, "meta": json.dumps(s.meta, sort_keys=True), "form": s.form,
                       "tags": list(s.tags), "problem_key": s.problem_key},
    }


def write_dataset(samples: Iterable[Sample], out: str | Path, fmt: str, manifest: dict[str, Any],
                  overwrite: bool = False, on_sample: Callable[[Sample], None] | None = None) -> dict[str, Any]:
    """Write `samples` to directory `out` in format `fmt`, atomically; return the manifest written.

    `manifest` (tasks, n, levels, seed, forms, ...) is saved with `format`, `version` and `count`
    added. `on_sample` is called once per sample consumed (for progress bars).
    """
    if fmt not in FORMATS:
        raise FovealError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    from foveal import __version__

    out = Path(out)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        count = 0
        if fmt == "jsonl":
            (tmp / "images").mkdir()
            with open(tmp / "samples.jsonl", "w", encoding="utf-8") as f:
                for s in samples:
                    rec = s.to_record(with_images=False)
                    rec["images"] = []
                    for k, im in enumerate(s.images):
                        rel = f"images/{count:07d}_{k}.png"
                        (tmp / rel).write_bytes(png_bytes(im))
                        rec["images"].append(rel)
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    count += 1
                    if on_sample:
                        on_sample(s)
        else:
            rows = []
            for s in samples:
                rows.append(_verl_row(s, count) if fmt == "verl" else _trl_row(s) if fmt == "trl" else _hf_row(s))
                count += 1
                if on_sample:
                    on_sample(s)
            _write_rows(rows, tmp, fmt)
        if count == 0:
            raise FovealError(f"no samples to write to {out}")
        full = {**manifest, "format": fmt, "version": __version__, "count": count}
        atomic_write_json(tmp / MANIFEST, full)
    return full


def _write_rows(rows: list[dict[str, Any]], tmp: Path, fmt: str) -> None:
    """hf: save_to_disk + data.parquet; trl: save_to_disk; verl: train.parquet. datasets' bars are silenced."""
    import datasets
    from datasets import Dataset

    quiet = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        ds = Dataset.from_list(rows, features=_features(fmt))
        if fmt in ("hf", "trl"):
            ds.save_to_disk(str(tmp))
        if fmt == "hf":
            ds.to_parquet(str(tmp / "data.parquet"))
        else:
            ds.to_parquet(str(tmp / "train.parquet"))
    finally:
        if not quiet:
            datasets.enable_progress_bars()


def _image(value: Any) -> Image.Image:
    """A PIL RGB image from a datasets Image value (decoded PIL or {'bytes', 'path'})."""
    if isinstance(value, Image.Image):
        im = value
    else:
        im = Image.open(io.BytesIO(value["bytes"]))
    im.load()
    return im.convert("RGB")


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a dataset directory written by `foveal gen`; FovealError if there is none."""
    path = Path(path)
    m = path / MANIFEST
    if not path.is_dir():
        raise FovealError(f"{path}: not a directory (expected a dataset written by `foveal gen`)")
    if not m.exists():
        raise FovealError(f"{path}: not a foveal dataset (no {MANIFEST}; write one with `foveal gen`)")
    try:
        manifest = json.loads(m.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FovealError(f"{m}: not valid JSON ({e})") from e
    if manifest.get("format") not in FORMATS:
        raise FovealError(f"{m}: field 'format' is {manifest.get('format')!r}, expected one of {FORMATS}")
    return manifest


def load_samples(path: str | Path) -> list[Sample]:
    """Every sample of a dataset directory written by `foveal gen` (hf, jsonl, verl or trl), in order."""
    path = Path(path)
    fmt = read_manifest(path)["format"]
    try:
        if fmt == "jsonl":
            out = []
            for rec in read_jsonl(path / "samples.jsonl"):
                out.append(Sample.from_record(rec, images=[_image({"bytes": (path / p).read_bytes()})
                                                           for p in rec["images"]]))
            return out
        import pyarrow.parquet as pq

        if fmt in ("hf", "trl"):
            from datasets import load_from_disk

            rows = load_from_disk(str(path)).to_list()
            return [_from_hf_row({**r, "prompt": r["question"]} if fmt == "trl" else r) for r in rows]
        return [_from_verl_row(r) for r in pq.read_table(path / "train.parquet").to_pylist()]
    except (OSError, KeyError, ValueError) as e:
        if isinstance(e, FovealError):
            raise
        raise FovealError(f"{path}: cannot read the {fmt} dataset ({type(e).__name__}: {e})") from e


def _from_hf_row(r: dict[str, Any]) -> Sample:
    fields = {k: r[k] for k in SAMPLE_KEYS if k in r}  # datasets written before problem_key have none
    fields.update(meta=json.loads(r["meta"]), images=[_image(v) for v in r["images"] or []])
    return Sample.from_record(fields, images=fields.pop("images"))


def _from_verl_row(r: dict[str, Any]) -> Sample:
    x = r["extra_info"]
    fields = {k: x[k] for k in SAMPLE_KEYS if k in x}
    fields.update(prompt=x["question"], meta=json.loads(x["meta"]))
    return Sample.from_record(fields, images=[_image(v) for v in r["images"] or []])
