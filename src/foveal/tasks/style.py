"""Visual styles: named, discrete looks that every family's pictures can be drawn in.

A style changes how a problem looks, never what it is: the background (colour and a faint
texture), the ink that lines and labels are drawn in, the palette (each named colour keeps its
name and hue; a style may mute it toward the background), line widths, the font, and a mild
pixel-level finish (noise, blur). Geometry never changes, so boxes, points and pixel counts in a
family's answer stay exact under every style.

The drawing primitives in `foveal.tasks.draw` read the style in force (`current()`); `Task`
sets it while a sample is made (`using`) and applies `finish` to every picture afterwards.
`plain` draws exactly what foveal drew before styles existed (white, black ink, Pillow's
bundled font, no finish), byte for byte.

Fonts are those matplotlib ships (DejaVu), found without importing matplotlib; where they are
missing every style falls back to Pillow's bundled font. The readability floor
(`draw.MIN_FONT_PX`) holds in every style: a style may change a font's face, never shrink it.
"""

from __future__ import annotations

import contextvars
import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


@dataclass(frozen=True)
class Style:
    """One named look.

    Attributes:
        background: canvas colour (RGB).
        ink: colour of lines, outlines, grids and labels drawn "in black" under `plain`.
        outline: outline colour of filled shapes.
        font: a DejaVu font file name (matplotlib's mpl-data/fonts/ttf), or None for Pillow's own.
        line_scale: factor on line widths (rounded, never below 1).
        mute: how far each palette colour is mixed toward the background, in [0, 0.3].
        texture: "none", "grid" (faint lines every 16 px) or "grain" (speckled paper).
        noise: standard deviation of per-pixel Gaussian noise, in 0-255 units (0 = none).
        blur: box blur radius in pixels (0 = none).
    """

    name: str
    background: tuple[int, int, int] = (255, 255, 255)
    ink: tuple[int, int, int] = (0, 0, 0)
    outline: tuple[int, int, int] = (40, 40, 40)
    font: str | None = None
    line_scale: float = 1.0
    mute: float = 0.0
    texture: str = "none"
    noise: float = 0.0
    blur: float = 0.0


STYLES: dict[str, Style] = {s.name: s for s in (
    Style("plain"),
    Style("paper", background=(250, 244, 228), ink=(45, 35, 25), outline=(60, 45, 30), font="DejaVuSerif.ttf",
          mute=0.12, texture="grain"),
    Style("blueprint", background=(226, 236, 250), ink=(20, 40, 110), outline=(20, 40, 110),
          font="DejaVuSansMono.ttf", texture="grid"),
    Style("noisy", font="DejaVuSans.ttf", noise=9.0),
    Style("soft", background=(242, 242, 242), ink=(30, 30, 30), outline=(70, 70, 70), font="DejaVuSans.ttf",
          blur=0.6),
    Style("bold", ink=(0, 0, 0), outline=(0, 0, 0), font="DejaVuSans-Bold.ttf", line_scale=2.0),
)}
CANONICAL = "plain"  # the style problem keys and answers are defined under

_CURRENT: contextvars.ContextVar[Style] = contextvars.ContextVar("foveal_style", default=STYLES[CANONICAL])


def get(name: str) -> Style:
    from foveal.errors import FovealError

    if name not in STYLES:
        raise FovealError(f"unknown style {name!r}: expected one of {', '.join(STYLES)}")
    return STYLES[name]


def current() -> Style:
    """The style pictures are being drawn in (`plain` outside `using`)."""
    return _CURRENT.get()


@contextmanager
def using(name: str) -> Iterator[Style]:
    """Draw in style `name` inside the block."""
    token = _CURRENT.set(get(name))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


@cache
def font_path(file: str) -> str | None:
    """Path of one of matplotlib's bundled fonts, or None when matplotlib is not installed."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "mpl-data", "fonts", "ttf", file)
    return path if os.path.exists(path) else None


def tint(rgb: tuple[int, int, int], style: Style | None = None) -> tuple[int, int, int]:
    """A palette colour as `style` draws it: mixed toward the background by `style.mute`,

        c' = round((1 − m)·c + m·background)
    """
    s = style or current()
    if not s.mute:
        return rgb
    return tuple(round((1 - s.mute) * c + s.mute * b) for c, b in zip(rgb, s.background, strict=True))


def texture(im: Image.Image, style: Style) -> None:
    """Paint the style's background texture onto a fresh canvas, in place (faint: 14 levels darker)."""
    if style.texture == "grid":
        w, h = im.size
        line = tuple(max(0, c - 14) for c in style.background)
        d = ImageDraw.Draw(im)
        for y in range(0, h, 16):
            d.line([(0, y), (w - 1, y)], fill=line)
        for x in range(0, w, 16):
            d.line([(x, 0), (x, h - 1)], fill=line)


@cache
def _pattern(kind: str, amount: float) -> np.ndarray:
    """A fixed 512×512 pattern, int16, drawn once per (kind, amount) from a fixed seed: Gaussian
    noise of standard deviation `amount` (3 channels), or grain (1 channel, −amount on 4% of pixels)."""
    rng = np.random.default_rng(0x5EED)
    if kind == "noise":
        return np.round(rng.normal(0.0, amount, (512, 512, 3))).astype(np.int16)
    return (-amount * (rng.random((512, 512, 1)) < 0.04)).astype(np.int16)


def _add(im: Image.Image, pattern: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """`im` plus a window of `pattern` at a random offset (tiled for pictures larger than it)."""
    a = np.asarray(im, dtype=np.int16)
    h, w = a.shape[:2]
    reps = (-(-h // 512) + 1, -(-w // 512) + 1, 1)
    big = np.tile(pattern, reps) if h > 256 or w > 256 else pattern
    y, x = rng.integers(0, big.shape[0] - h + 1), rng.integers(0, big.shape[1] - w + 1)
    return Image.fromarray((a + big[y:y + h, x:x + w]).clip(0, 255).astype(np.uint8), "RGB")


def finish(im: Image.Image, style: Style, seed: int) -> Image.Image:
    """The style's pixel finish on a drawn picture: grain, blur, then noise (a new image; `plain`
    returns `im` itself). Deterministic in `seed`: grain and noise are windows, at seeded offsets,
    of fixed patterns (`_pattern`), so finishing costs an addition, not a fresh random draw."""
    if style.texture != "grain" and not style.blur and not style.noise:
        return im
    rng = np.random.default_rng(seed)
    if style.texture == "grain":
        im = _add(im, _pattern("grain", 10.0), rng)
    if style.blur:
        im = im.filter(ImageFilter.BoxBlur(style.blur))
    if style.noise:
        im = _add(im, _pattern("noise", style.noise), rng)
    return im
