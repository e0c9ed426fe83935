"""Helpers for the multi-frame (video) families (not a family: underscore module).

A video is a tuple of small frames, one image each, with one `<image>` placeholder per frame in
the prompt (see `motion`). Most families here place objects on a g×g grid of cells so the text
twin can state every position exactly as (column, row), 1-based from the top-left.
"""

from __future__ import annotations

from dataclasses import replace

from PIL import Image, ImageDraw

from foveal.sample import IMAGE_TOKEN, Sample
from foveal.tasks import style as S
from foveal.tasks.draw import canvas, rgb, shape

GRID_SHADE = 23  # grid lines are this much darker than the background (232 grey on plain white)


def grid_note(g: int) -> str:
    return f"Positions are (column, row) on a {g}×{g} grid: column 1 is at the left and row 1 at the top."


def at(c: int, r: int) -> str:
    """A 0-based cell as 1-based "(column, row)" text."""
    return f"({c + 1}, {r + 1})"


def grid_frame(size: int, g: int) -> tuple[Image.Image, ImageDraw.ImageDraw, float]:
    """A blank frame with faint lines between the g×g cells; returns (image, draw, cell size)."""
    img = canvas(size)
    d = ImageDraw.Draw(img)
    cell = size / g
    line = tuple(max(0, c - GRID_SHADE) for c in S.current().background)
    for i in range(1, g):
        d.line([(round(i * cell), 0), (round(i * cell), size)], fill=line)
        d.line([(0, round(i * cell)), (size, round(i * cell))], fill=line)
    d.rectangle([0, 0, size - 1, size - 1], outline=(120, 120, 120))
    return img, d, cell


def put(d: ImageDraw.ImageDraw, kind: str, color: str, c: float, r: float, cell: float, scale: float = 0.38) -> None:
    """Draw a shape centred in cell (c, r) (0-based, fractional allowed)."""
    shape(d, kind, (c + 0.5) * cell, (r + 0.5) * cell, max(3.5, scale * cell), rgb(color), outline=S.current().outline)


def frames_text(descriptions: list[str]) -> str:
    """'Frame 1: …. Frame 2: ….' from one description per frame."""
    return " ".join(f"Frame {t + 1}: {s}." for t, s in enumerate(descriptions))


def mixed_video(sample: Sample) -> Sample:
    """The mixed form of a video sample: the first half of the frames told in words, the rest shown.

    Needs `meta["frame_texts"]` (one description per frame, as in the twin), `meta["context"]`
    (what the words rely on: grid convention, rules) and `meta["question_text"]` (the question block).
    """
    m, frames = sample.meta, len(sample.images)
    half = frames // 2
    prompt = (" ".join([IMAGE_TOKEN] * (frames - half))
              + f"\nA short video has {frames} frames. {m['context']} Frames 1-{half} are described in words: "
              f"{frames_text(m['frame_texts'][:half])} The images show frames {half + 1}-{frames}.\n{m['question_text']}")
    return replace(sample, id=f"{sample.id}/mixed", prompt=prompt, images=sample.images[half:], form="mixed")
