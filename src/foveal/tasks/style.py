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
from PIL import Image, ImageChops, ImageDraw, ImageFilter


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
        noise: standard deviation of a grey Gaussian speckle on 15% of pixels, in 0-255 units (0 = none).
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
    Style("noisy", font="DejaVuSans.ttf", noise=14.0),
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


PATTERN = 1024  # side of the fixed noise and grain patterns: every picture up to this size takes a window


@cache
def _pattern(kind: str, amount: float) -> tuple[Image.Image | None, Image.Image | None, Image.Image | None]:
    """Fixed PATTERN×PATTERN patterns, drawn once per (kind, amount) from a fixed seed, as the
    (positive, negative) parts of an RGB offset d — Gaussian speckle of standard deviation `amount`
    on 15% of pixels, or grain (−amount on 4% of pixels); all channels alike — plus 255 − positive
    (what `_add` needs to saturate cheaply). A part that is zero everywhere is None."""
    rng = np.random.default_rng(0x5EED)
    if kind == "noise":  # luminance speckle: cheap to encode (a PNG of full-frame colour noise is ~4x slower)
        d = np.repeat(np.round(rng.normal(0.0, amount, (PATTERN, PATTERN, 1)))
                      * (rng.random((PATTERN, PATTERN, 1)) < 0.15), 3, axis=2)
    else:
        d = np.repeat(-amount * (rng.random((PATTERN, PATTERN, 1)) < 0.04), 3, axis=2)
    pos, neg = d.clip(0, 255), (-d).clip(0, 255)
    rgb = lambda a: Image.fromarray(a.astype(np.uint8), "RGB")  # noqa: E731
    return (rgb(pos), rgb(neg), rgb(255 - pos)) if pos.any() else (None, rgb(neg), None)


def _add(im: Image.Image, pattern: tuple, rng: np.random.Generator) -> Image.Image:
    """`im` plus a window of `pattern` at a random offset, saturating: clip(clip(im + pos) − neg).

    With 0 ≤ p and a + p ≤ 255 ⇔ a ≤ 255 − p, the saturating sums are min/max and wrap-around
    operations, which Pillow does ~10x faster than its scaled `add`/`subtract`:
        clip(a + p) = min(a, 255 − p) + p,    clip(a − n) = max(a, n) − n.
    """
    w, h = im.size
    if w > PATTERN or h > PATTERN:  # larger than the pattern: tile it
        pattern = tuple(p if p is None else _tiled(p, w, h) for p in pattern)
    pos, neg, room = pattern
    pw, ph = neg.size
    x, y = int(rng.integers(0, pw - w + 1)), int(rng.integers(0, ph - h + 1))
    box = (x, y, x + w, y + h)
    if pos is not None:
        im = ImageChops.add_modulo(ImageChops.darker(im, room.crop(box)), pos.crop(box))
    window = neg.crop(box)
    return ImageChops.subtract_modulo(ImageChops.lighter(im, window), window)


def _tiled(p: Image.Image, w: int, h: int) -> Image.Image:
    out = Image.new("RGB", (-(-w // PATTERN) * PATTERN, -(-h // PATTERN) * PATTERN))
    for ty in range(0, out.height, PATTERN):
        for tx in range(0, out.width, PATTERN):
            out.paste(p, (tx, ty))
    return out


def finish(im: Image.Image, style: Style, seed: int) -> Image.Image:
    """The style's pixel finish on a drawn picture: grain, blur, then noise (a new image; `plain`
    returns `im` itself). Deterministic in `seed`: grain and noise are windows, at seeded offsets,
    of fixed patterns (`_pattern`), so finishing costs an addition, not a fresh random draw."""
    if style.texture != "grain" and not style.blur and not style.noise:
        return im
    rng = np.random.default_rng(seed) if style.texture == "grain" or style.noise else None
    if style.texture == "grain":
        im = _add(im, _pattern("grain", 10.0), rng)
    if style.blur:
        im = im.filter(ImageFilter.BoxBlur(style.blur))
    if style.noise:
        im = _add(im, _pattern("noise", style.noise), rng)
    return im
