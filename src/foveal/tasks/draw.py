"""Drawing primitives shared by the gym families (Pillow only, deterministic).

Colours have plain names so prompts and text twins can say "red circle". Text uses a
FreeType font at an explicit pixel size, so renders are identical on every machine with the
same Pillow version.

Everything here draws in the visual style in force (`foveal.tasks.style.current()`): `canvas`
paints its background, `ink()` is the colour for lines and labels, `rgb(name)` a palette colour
as the style shows it, `width(w)` a line width, `font(size)` its face. Families draw through
these instead of literal black and white, so every family can be drawn in every style; under
`plain` they give exactly the old white / black / Pillow-font pictures.
"""

from __future__ import annotations

import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from foveal.tasks import style as S

# Names chosen to be mutually distinguishable at small sizes.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 200, 30),
    "purple": (140, 60, 180),
    "orange": (245, 130, 30),
    "black": (20, 20, 20),
    "gray": (128, 128, 128),
    "cyan": (30, 190, 200),
    "brown": (130, 80, 40),
}
BACKGROUND = (255, 255, 255)
SHAPES = ("circle", "square", "triangle", "diamond", "star", "hexagon")
MIN_FONT_PX = 10  # smallest text size any family may use at its default resolution


def canvas(width: int, height: int | None = None, color: tuple[int, int, int] | None = None) -> Image.Image:
    """A blank picture: the style's background (and texture), or `color` when given."""
    style = S.current()
    size = (width, height if height is not None else width)
    if color is None and style.texture != "none":
        return _textured(style, size).copy()
    return Image.new("RGB", size, color or style.background)


@lru_cache(maxsize=64)
def _textured(style: S.Style, size: tuple[int, int]) -> Image.Image:
    """A blank canvas with the style's texture, drawn once per (style, size) and copied after."""
    im = Image.new("RGB", size, style.background)
    S.texture(im, style)
    return im


def ink() -> tuple[int, int, int]:
    """The colour lines, grids and labels are drawn in (black under `plain`)."""
    return S.current().ink


def rgb(name: str) -> tuple[int, int, int]:
    """Palette colour `name` (a key of COLORS) as the current style shows it."""
    return S.tint(COLORS[name])


def width(w: int) -> int:
    """A line width of `w` pixels under `plain`, scaled by the style (never below 1)."""
    return max(1, round(w * S.current().line_scale))


def font(size: int) -> ImageFont.FreeTypeFont:
    """The style's font at `size` pixels (never below MIN_FONT_PX)."""
    return _font(S.current().font, max(size, MIN_FONT_PX))


@lru_cache(maxsize=256)
def _font(file: str | None, size: int) -> ImageFont.FreeTypeFont:
    path = S.font_path(file) if file else None
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], s: str, size: int = 14,
         fill: tuple[int, int, int] | None = None, anchor: str = "mm") -> None:
    """Draw `s` at `xy` (anchored at its middle by default), in the style's ink unless `fill`."""
    draw.text(xy, s, fill=fill or ink(), font=font(size), anchor=anchor)


def polygon_points(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """Vertices of a regular shape of circumradius `r` centred at (cx, cy)."""
    def ring(n: int, radius: float, phase: float) -> list[tuple[float, float]]:
        return [(cx + radius * math.cos(phase + 2 * math.pi * k / n), cy + radius * math.sin(phase + 2 * math.pi * k / n))
                for k in range(n)]

    if shape == "square":
        return ring(4, r, math.pi / 4)
    if shape == "triangle":
        return ring(3, r, -math.pi / 2)
    if shape == "diamond":
        return ring(4, r, 0.0)
    if shape == "hexagon":
        return ring(6, r, 0.0)
    if shape == "star":
        outer, inner = ring(5, r, -math.pi / 2), ring(5, r * 0.45, -math.pi / 2 + math.pi / 5)
        return [p for pair in zip(outer, inner, strict=True) for p in pair]
    raise ValueError(f"unknown shape {shape!r}")


def shape(draw: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, r: float,
          fill: tuple[int, int, int], outline: tuple[int, int, int] | None = None) -> None:
    """Draw one filled shape (see SHAPES) of circumradius `r` centred at (cx, cy)."""
    w = width(1)
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill, outline=outline, width=w)
    else:
        draw.polygon(polygon_points(kind, cx, cy, r), fill=fill, outline=outline, width=w)


def grid_lines(draw: ImageDraw.ImageDraw, x0: int, y0: int, cell: int, rows: int, cols: int,
               width: int = 1, bold_every: tuple[int, int] | None = None, fill=None) -> None:
    """Lines of a rows×cols board with top-left (x0, y0); thicker every `bold_every` (r, c) cells.
    Drawn in the style's ink unless `fill`."""
    fill = fill or ink()
    for r in range(rows + 1):
        w = width * 3 if bold_every and r % bold_every[0] == 0 else width
        draw.line([(x0, y0 + r * cell), (x0 + cols * cell, y0 + r * cell)], fill=fill, width=w)
    for c in range(cols + 1):
        w = width * 3 if bold_every and c % bold_every[1] == 0 else width
        draw.line([(x0 + c * cell, y0), (x0 + c * cell, y0 + rows * cell)], fill=fill, width=w)


def place_without_overlap(rng, n: int, width: int, height: int, radius: float, margin: float = 2.0,
                          tries: int = 2000) -> list[tuple[float, float]]:
    """`n` centres inside the canvas whose discs of `radius` (+margin) do not overlap.

    Raises RuntimeError if the canvas is too crowded; callers size their levels so it is not.
    """
    pts: list[tuple[float, float]] = []
    lo = radius + margin
    for _ in range(tries):
        if len(pts) == n:
            break
        x, y = rng.uniform(lo, width - lo), rng.uniform(lo, height - lo)
        if all((x - px) ** 2 + (y - py) ** 2 >= (2 * radius + margin) ** 2 for px, py in pts):
            pts.append((x, y))
    if len(pts) < n:
        raise RuntimeError(f"could not place {n} objects of radius {radius} in {width}x{height}")
    return pts


def letters(n: int) -> list[str]:
    """Option letters A, B, C, ... for n choices."""
    return [chr(ord("A") + i) for i in range(n)]


def choice_block(choices: list[str]) -> str:
    """The options as prompt lines: 'A. left\\nB. right ...'."""
    return "\n".join(f"{letter}. {c}" for letter, c in zip(letters(len(choices)), choices, strict=True))


def scatter(rng, n: int, width: int, height: int, radius: float, gap: float = 2.0) -> list[tuple[float, float]]:
    """`n` centres of non-overlapping discs of `radius`, always found: pick `n` distinct cells of a
    grid whose cells are (2·radius + gap) wide, then jitter each centre within its cell's slack.

    Raises RuntimeError if the grid has fewer than `n` cells (a level sized too small).
    """
    cell = 2 * radius + gap
    cols, rows = int(width // cell), int(height // cell)
    if cols * rows < n:
        raise RuntimeError(f"cannot scatter {n} discs of radius {radius} in {width}x{height}")
    sx, sy = (width - cols * cell) / cols, (height - rows * cell) / rows  # spare room per cell
    pts = []
    for k in rng.sample(range(cols * rows), n):
        r, c = divmod(k, cols)
        x0, y0 = c * (cell + sx), r * (cell + sy)
        pts.append((x0 + gap / 2 + radius + rng.uniform(0, sx), y0 + gap / 2 + radius + rng.uniform(0, sy)))
    return pts


def scene(size: int, objects: list[dict]) -> Image.Image:
    """A square picture of `objects` (dicts with shape, color, x, y, r), each a filled shape with a
    thin dark outline, on the style's background."""
    im = canvas(size)
    d = ImageDraw.Draw(im)
    for o in objects:
        shape(d, o["shape"], o["x"], o["y"], o["r"], rgb(o["color"]), outline=S.current().outline)
    return im
