"""Benchmark loaders: files a user has on disk → `Sample`s the harness can evaluate.

    samples = load_benchmark("~/data/MathVista/testmini.parquet")     # layout detected
    samples = load_data("runs/data")                                   # a `foveal gen` dataset too

Layouts (records from .json (a list, or a dict keyed by id), .jsonl or .parquet; a directory
means every such file in it and in its `data/` folder, in name order):

  mathvista  MathVista testmini: pid, question, image, choices, answer, question_type
             (multi_choice | free_form), answer_type (integer | float | text | list), precision,
             unit, metadata. Choice questions get their options listed as `A. ...` lines and the
             gold option's letter as answer; integer/float → number, list → sequence, text → text.
             `precision` is kept in meta; the harness rounds float predictions to it before
             comparing, as MathVista's scorer does.
  mathverse  MathVerse: sample_index, problem_index, problem_version, question, image, answer,
             question_type (multi-choice | free-form). Multi-choice answers are letters and the
             options are parsed from the question's `Choices:` lines; free-form → math. The
             level is the problem version, ordered as information moves from text to image:
             1 Text Only, 2 Text Dominant, 3 Text Lite, 4 Vision Intensive, 5 Vision Dominant,
             6 Vision Only (so accuracy-vs-level shows the cost of reading the picture).
  generic    question and answer (required); optional id, task (default: the file's name),
             level (default 1), answer_type (default: choice if choices, else number if the
             answer parses as one, else text), choices, image or images, text_twin, solution.
             A question with no `<image>` placeholder gets one per image in front of it.
  foveal     a dataset written by `foveal gen` (read by `foveal.tasks.export.load_samples`).

Images are paths relative to the data file, or {"bytes": ..., "path": ...} dicts as parquet
files from the HF hub store them. Every problem in the data is reported with its file, row
and field.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from foveal.errors import FovealError
from foveal.eval.shuffle import letters
from foveal.sample import ANSWER_TYPES, IMAGE_TOKEN, Sample

LAYOUTS = ("auto", "foveal", "mathvista", "mathverse", "generic")
DATA_SUFFIXES = (".json", ".jsonl", ".parquet")
MATHVERSE_LEVELS = ("Text Only", "Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant", "Vision Only")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?\d+/\d+$")


def data_files(path: Path) -> list[Path]:
    """The record files a path names: itself, or the data files in a directory (and its data/)."""
    if path.is_file():
        if path.suffix not in DATA_SUFFIXES:
            raise FovealError(f"{path}: expected a {', '.join(DATA_SUFFIXES)} file")
        return [path]
    if not path.is_dir():
        raise FovealError(f"{path}: no such file or directory")
    files = sorted(p for d in (path, path / "data") if d.is_dir() for p in d.iterdir()
                   if p.suffix in DATA_SUFFIXES and p.is_file() and not p.name.startswith("."))
    if not files:
        raise FovealError(f"{path}: no {', '.join(DATA_SUFFIXES)} files in it (or in {path / 'data'})")
    return files


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number from 1, record) for every record of one file."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows = pq.read_table(path).to_pylist()
        elif path.suffix == ".jsonl":
            rows = []
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise FovealError(f"{path}: line {i} is not valid JSON ({e.msg})") from None
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # MathVista's testmini.json: {pid: record}
                rows = [{"pid": k, **v} if isinstance(v, dict) else v for k, v in data.items()]
            elif isinstance(data, list):
                rows = data
            else:
                raise FovealError(f"{path}: expected a JSON list of records or a dict of records")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FovealError(f"{path}: cannot read records ({e})") from None
    except Exception as e:  # pyarrow's errors
        if isinstance(e, FovealError):
            raise
        raise FovealError(f"{path}: cannot read records ({type(e).__name__}: {e})") from None
    for i, r in enumerate(rows, 1):
        if not isinstance(r, dict):
            raise FovealError(f"{path}: row {i} is not a record (got {type(r).__name__})")
        yield i, r


def detect(record: dict[str, Any]) -> str:
    """The layout of a record, from its field names."""
    if "problem_version" in record:
        return "mathverse"
    if "pid" in record and "question_type" in record:
        return "mathvista"
    if {"seed", "text_twin", "answer_type", "prompt"} <= set(record):
        return "foveal"
    return "generic"


class Row:
    """One record with its location, for error messages that name file, row and field."""

    def __init__(self, path: Path, index: int, record: dict[str, Any]) -> None:
        self.path, self.index, self.record = path, index, record

    def where(self, field: str | None = None) -> str:
        return f"{self.path}: row {self.index}" + (f", field {field!r}" if field else "")

    def require(self, field: str) -> Any:
        v = self.record.get(field)
        if v is None or (isinstance(v, str) and not v.strip() and field != "question"):
            raise FovealError(f"{self.where(field)}: missing (fields present: {', '.join(sorted(self.record))})")
        return v

    def image(self, value: Any, field: str) -> Image.Image:
        """Decode an image given as a path (relative to the file) or a {'bytes', 'path'} dict."""
        try:
            if isinstance(value, dict):
                if value.get("bytes"):
                    if not isinstance(value["bytes"], (bytes, bytearray)):
                        raise FovealError(f"{self.where(field)}: 'bytes' holds {type(value['bytes']).__name__}, "
                                          f"expected the encoded image's bytes")
                    return load_image(io.BytesIO(value["bytes"]))
                value = value.get("path")
            if isinstance(value, (bytes, bytearray)):
                return load_image(io.BytesIO(value))
            if not isinstance(value, str) or not value:
                raise FovealError(f"{self.where(field)}: expected an image path or {{'bytes': ...}}, got {value!r}")
            p = Path(os.path.expanduser(value))
            p = p if p.is_absolute() else self.path.parent / p
            if not p.exists():
                raise FovealError(f"{self.where(field)}: image file {p} does not exist")
            return load_image(p)
        except FovealError:
            raise
        except (OSError, ValueError) as e:
            raise FovealError(f"{self.where(field)}: cannot decode image ({e})") from None


def load_image(src: Any) -> Image.Image:
    im = Image.open(src)
    im.load()
    return im.convert("RGB")


def option_block(choices: list[str]) -> str:
    return "\n".join(f"{letter}. {c}" for letter, c in zip(letters(len(choices)), choices, strict=True))


def mathvista(row: Row) -> Sample:
    r = row.record
    pid = str(row.require("pid"))
    question = str(row.require("question")).strip()
    answer = str(row.require("answer")).strip()
    qtype = row.require("question_type")
    image = row.image(r.get("decoded_image") or row.require("image"), "image")
    meta = {k: r[k] for k in ("pid", "question_type", "answer_type", "precision", "unit", "metadata")
            if r.get(k) is not None}
    choices = None
    if qtype == "multi_choice":
        choices = [str(c) for c in (r.get("choices") or [])]
        if answer not in choices:
            raise FovealError(f"{row.where('answer')}: {answer!r} is not one of its choices {choices}")
        answer, answer_type = letters(len(choices))[choices.index(answer)], "choice"
        hint = f"{option_block(choices)}\nAnswer with the option's letter."
    elif qtype == "free_form":
        kind = row.require("answer_type")
        answer_type = {"integer": "number", "float": "number", "list": "sequence", "text": "text"}.get(kind)
        if answer_type is None:
            raise FovealError(f"{row.where('answer_type')}: {kind!r} is not one of integer, float, list, text")
        precision = r.get("precision")
        hint = {"integer": "Answer with an integer.",
                "float": f"Answer with a number with {int(precision)} decimal place(s)." if precision is not None
                else "Answer with a number.",
                "list": "Answer with a list, e.g. [1, 2, 3].", "text": "Answer with a word or short phrase."}[kind]
    else:
        raise FovealError(f"{row.where('question_type')}: {qtype!r} is not multi_choice or free_form")
    unit = f" (unit: {r['unit']})" if r.get("unit") else ""
    return Sample(id=f"mathvista/{pid}", task="mathvista", level=1, seed=row.index, prompt=f"{IMAGE_TOKEN}\n{question}{unit}\n{hint}",
                  images=(image,), answer=answer, answer_type=answer_type,
                  choices=tuple(choices) if choices else None, meta=meta, tags=("math",))


def mathverse(row: Row) -> Sample:
    r = row.record
    idx = str(row.require("sample_index"))
    answer = str(row.require("answer")).strip()
    version = row.require("problem_version")
    if version not in MATHVERSE_LEVELS:
        raise FovealError(f"{row.where('problem_version')}: {version!r} is not one of {', '.join(MATHVERSE_LEVELS)}")
    question = str(r.get("question") or "").strip() or str(r.get("query_wo") or "").strip() \
        or "Answer the question shown in the image."
    qtype = row.require("question_type")
    img_field = r.get("image")
    images = (row.image(img_field, "image"),) if img_field else ()
    if qtype == "multi-choice":
        answer_type = "choice"
        answer = answer.strip("()").strip()[:1].upper()
        choices = parse_choices(question)
        hint = "Answer with the option's letter."
    elif qtype == "free-form":
        answer_type, choices, hint = "math", None, "Give the final answer only."
    else:
        raise FovealError(f"{row.where('question_type')}: {qtype!r} is not multi-choice or free-form")
    prompt = (IMAGE_TOKEN + "\n" if images else "") + f"{question}\n{hint}"
    meta = {k: r[k] for k in ("sample_index", "problem_index", "problem_version", "question_type", "metadata")
            if r.get(k) is not None}
    return Sample(id=f"mathverse/{idx}", task="mathverse", level=MATHVERSE_LEVELS.index(version) + 1, seed=row.index,
                  prompt=prompt, images=images, answer=answer, answer_type=answer_type, choices=choices, meta=meta,
                  form="image" if images else "text", text_twin=prompt if not images else "", tags=("math",))


def parse_choices(question: str) -> tuple[str, ...] | None:
    """The option texts of `Choices:\\nA: ...\\nB: ...` (or `A. ...`, `(A) ...`) lines, A first."""
    tail = question.split("Choices:", 1)[1] if "Choices:" in question else question
    found = re.findall(r"^\s*\(?([A-H])[\.:\)]\)?\s*(.+?)\s*$", tail, re.M)
    opts = [text for _, text in found]
    if not found or [letter for letter, _ in found] != letters(len(found)):
        return None
    return tuple(opts)


def generic(row: Row, task: str) -> Sample:
    r = row.record
    question = str(row.require("question"))
    answer = str(row.require("answer")).strip()
    raw_images = r.get("images") if r.get("images") is not None else ([r["image"]] if r.get("image") else [])
    if not isinstance(raw_images, list):
        raise FovealError(f"{row.where('images')}: expected a list of image paths")
    images = tuple(row.image(v, "images" if "images" in r else "image") for v in raw_images)
    choices = r.get("choices")
    if choices is not None and (not isinstance(choices, list) or not choices):
        raise FovealError(f"{row.where('choices')}: expected a non-empty list of option texts")
    choices = [str(c) for c in choices] if choices else None
    answer_type = r.get("answer_type") or ("choice" if choices else "number" if NUMBER.match(answer) else "text")
    if answer_type not in ANSWER_TYPES:
        raise FovealError(f"{row.where('answer_type')}: {answer_type!r} is not one of {', '.join(ANSWER_TYPES)}")
    if answer_type == "choice" and choices:
        if answer in choices and answer.upper() not in letters(len(choices)):
            answer = letters(len(choices))[choices.index(answer)]
        if answer.upper() not in letters(len(choices)):
            raise FovealError(f"{row.where('answer')}: {answer!r} is neither an option letter "
                              f"({', '.join(letters(len(choices)))}) nor one of the choices")
        answer = answer.upper()
        if not all(re.search(rf"^\s*\(?{letter}[.):]", question, re.M) for letter in letters(len(choices))):
            question = f"{question.rstrip()}\n{option_block(choices)}"
    n = question.count(IMAGE_TOKEN)
    if n == 0 and images:
        question = " ".join([IMAGE_TOKEN] * len(images)) + "\n" + question
    elif n != len(images):
        raise FovealError(f"{row.where('question')}: has {n} {IMAGE_TOKEN} placeholders but {len(images)} images")
    try:
        level = int(r.get("level") or 1)
    except (TypeError, ValueError):
        raise FovealError(f"{row.where('level')}: expected an integer, got {r.get('level')!r}") from None
    task = str(r.get("task") or task)
    return Sample(id=str(r.get("id") or f"{task}/{row.index}"), task=task, level=level, seed=row.index,
                  prompt=question, images=images, answer=answer, answer_type=answer_type,
                  choices=tuple(choices) if choices else None, text_twin=str(r.get("text_twin") or ""),
                  solution=str(r.get("solution") or ""), meta=dict(r.get("meta") or {}),
                  form="image" if images else "text")


def load_benchmark(path: str | os.PathLike, layout: str = "auto", limit: int | None = None) -> list[Sample]:
    """The Samples of benchmark file(s) at `path` in `layout` ("auto" detects it per file)."""
    if layout not in LAYOUTS or layout == "foveal":
        raise FovealError(f"layout {layout!r}: expected one of {', '.join(x for x in LAYOUTS if x != 'foveal')}")
    out: list[Sample] = []
    for f in data_files(Path(path).expanduser()):
        kind = layout
        for i, rec in read_records(f):
            row = Row(f, i, rec)
            if kind == "auto":
                kind = detect(rec)
                if kind == "foveal":
                    raise FovealError(f"{f} looks like a `foveal gen` dataset: pass its directory to load_data")
            try:
                s = mathvista(row) if kind == "mathvista" else mathverse(row) if kind == "mathverse" \
                    else generic(row, f.stem)
            except FovealError:
                raise
            except ValueError as e:  # Sample's own invariants
                raise FovealError(f"{row.where()}: {e}") from None
            out.append(s)
            if limit is not None and len(out) >= limit:
                return out
    return out


def load_data(path: str | os.PathLike, layout: str = "auto", limit: int | None = None) -> list[Sample]:
    """What `foveal eval --data` reads: a `foveal gen` dataset, or a benchmark (see module doc)."""
    p = Path(path).expanduser()
    if layout not in LAYOUTS:
        raise FovealError(f"--layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    if not p.exists():
        raise FovealError(f"--data {p}: no such file or directory")
    if layout == "foveal" or (layout == "auto" and is_foveal_dataset(p)):
        from foveal.tasks.export import load_samples

        samples = load_samples(p)
        return samples[:limit] if limit is not None else samples
    return load_benchmark(p, layout, limit)


def is_foveal_dataset(path: Path) -> bool:
    """True for a directory written by `foveal gen` (any of its formats: it has a manifest)."""
    from foveal.tasks.export import MANIFEST

    return path.is_dir() and (path / MANIFEST).exists()
