"""`Sample`: one verifiable problem, the contract between every part of foveal.

A sample's `prompt` holds one `<image>` placeholder per entry of `images` (several
frames for video tasks). `text_twin` states the same problem fully in words, solvable
with no image. `solution` is a short worked trace ending in the answer, for SFT.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

IMAGE_TOKEN = "<image>"
ANSWER_TYPES = ("number", "choice", "text", "box", "grid", "sequence", "math", "interval")
FORMS = ("image", "text", "mixed")
SKILLS = ("counting", "spatial", "arithmetic", "logic", "temporal", "grounding", "planning", "perception")


@dataclass(frozen=True)
class Sample:
    """One problem. Frozen: derive variants with `dataclasses.replace` or `Sample.as_form`.

    Fields:
        id: stable identifier, `{task}/L{level}/s{seed}` (plus `/{form}` for non-image forms).
        task, level, seed: what generated it; the same triple always gives the same sample.
        prompt: the question, with one `<image>` per image.
        images: PIL images (RGB), in prompt order.
        answer: the canonical answer string, verifiable as `answer_type`.
        answer_type: one of ANSWER_TYPES.
        choices: option texts for `choice` questions (answer is a letter A, B, ...), else None.
        text_twin: the problem stated fully in text, no images needed.
        solution: a short worked reasoning ending in the answer.
        meta: the generator's parameters (JSON-serialisable).
        form: which presentation this is: "image" (all information in the images),
            "text" (the twin as the prompt, no images) or "mixed".
        tags: skill tags (see SKILLS) for grouping evaluations and mixtures.
        problem_key: the problem's identity (what fixes picture and twin; see `foveal.split`):
            the same for every form and every seed that draws this problem; "" when unknown
            (e.g. an external benchmark).
    """

    id: str
    task: str
    level: int
    seed: int
    prompt: str
    images: tuple[Image.Image, ...]
    answer: str
    answer_type: str
    choices: tuple[str, ...] | None = None
    text_twin: str = ""
    solution: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    form: str = "image"
    tags: tuple[str, ...] = ()
    problem_key: str = ""

    def __post_init__(self) -> None:
        if self.answer_type not in ANSWER_TYPES:
            raise ValueError(f"sample {self.id}: answer_type {self.answer_type!r} not in {ANSWER_TYPES}")
        if self.form not in FORMS:
            raise ValueError(f"sample {self.id}: form {self.form!r} not in {FORMS}")
        n = self.prompt.count(IMAGE_TOKEN)
        if n != len(self.images):
            raise ValueError(
                f"sample {self.id}: prompt has {n} {IMAGE_TOKEN} placeholders but {len(self.images)} images"
            )
        if not isinstance(self.images, tuple):
            object.__setattr__(self, "images", tuple(self.images))
        if self.choices is not None and not isinstance(self.choices, tuple):
            object.__setattr__(self, "choices", tuple(self.choices))
        if not isinstance(self.tags, tuple):
            object.__setattr__(self, "tags", tuple(self.tags))

    def as_text(self) -> Sample:
        """The text form: the twin becomes the prompt and the images are dropped."""
        if self.form == "text":
            return self
        base_id = self.id.rsplit("/", 1)[0] if self.form != "image" else self.id
        if IMAGE_TOKEN in self.text_twin:  # the one invariant the new field values could break
            raise ValueError(f"sample {self.id}: the text twin contains {IMAGE_TOKEN} but the text form has no images")
        # A field-dict copy: what `replace` returns, without re-running __init__ (~6x faster).
        text = object.__new__(type(self))
        text.__dict__.update(self.__dict__, id=f"{base_id}/text", prompt=self.text_twin, images=(), form="text")
        return text

    def to_record(self, with_images: bool = True) -> dict[str, Any]:
        """A JSON-serialisable dict; images as base64 PNG when `with_images`."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["images"] = [png_b64(im) for im in self.images] if with_images else []
        d["choices"] = list(self.choices) if self.choices is not None else None
        d["tags"] = list(self.tags)
        return d

    @classmethod
    def from_record(cls, d: dict[str, Any], images: list[Image.Image] | None = None) -> Sample:
        """Inverse of `to_record`. `images` overrides the record's (e.g. loaded from files)."""
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        if images is None:
            images = [b64_image(s) for s in d.get("images") or []]
        fields["images"] = tuple(images)
        fields["choices"] = tuple(d["choices"]) if d.get("choices") is not None else None
        fields["tags"] = tuple(d.get("tags") or ())
        fields["meta"] = dict(d.get("meta") or {})
        return cls(**fields)


def png_bytes(image: Image.Image) -> bytes:
    """Deterministic PNG encoding (no timestamps or text chunks; fixed compression).

    zlib level 1: 2-3x faster than level 6 on the gym's flat-colour pictures, files ~1.4x larger
    (still a few KB), same pixels.
    """
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False, compress_level=1)
    return buf.getvalue()


def png_b64(image: Image.Image) -> str:
    return base64.b64encode(png_bytes(image)).decode("ascii")


def b64_image(data: str) -> Image.Image:
    im = Image.open(io.BytesIO(base64.b64decode(data)))
    im.load()
    return im.convert("RGB")
