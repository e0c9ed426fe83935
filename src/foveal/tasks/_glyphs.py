"""Cached text stamps: render a label once, paste it many times (FreeType rendering dominates small images).

`label` draws the same pixels as `draw.text` up to sub-pixel placement, about 10× faster on
repeated strings (letters, digits, button captions).
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw

from foveal.tasks import style as S
from foveal.tasks.draw import MIN_FONT_PX as D_MIN
from foveal.tasks.draw import _font, ink


@lru_cache(maxsize=4096)
def _stamp(s: str, size: int, anchor: str, face: str | None) -> tuple[Image.Image, int, int]:
    f = _font(face, max(size, D_MIN))
    left, top, right, bottom = f.getbbox(s, anchor=anchor)
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), s, fill=255, font=f, anchor=anchor)
    return mask, left, top


def label(img: Image.Image, xy: tuple[float, float], s: str, size: int = 12,
          fill: tuple[int, int, int] | None = None, anchor: str = "mm") -> tuple[int, int, int, int]:
    """Stamp `s` at `xy` (anchored like Pillow's `anchor`) in the style's font and ink (unless
    `fill`); returns the stamp's pixel box."""
    fill = fill or ink()
    mask, left, top = _stamp(s, size, anchor, S.current().font)
    x, y = round(xy[0] + left), round(xy[1] + top)
    img.paste(fill, (x, y, x + mask.width, y + mask.height), mask)
    return x, y, x + mask.width, y + mask.height
