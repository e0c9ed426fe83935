"""Cached text stamps: render a label once, paste it many times (FreeType rendering dominates small images).

`label` draws the same pixels as `draw.text` up to sub-pixel placement, about 10× faster on
repeated strings (letters, digits, button captions).
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw

from foveal.tasks.draw import font


@lru_cache(maxsize=4096)
def _stamp(s: str, size: int, anchor: str) -> tuple[Image.Image, int, int]:
    f = font(size)
    left, top, right, bottom = f.getbbox(s, anchor=anchor)
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), s, fill=255, font=f, anchor=anchor)
    return mask, left, top


def label(img: Image.Image, xy: tuple[float, float], s: str, size: int = 12,
          fill: tuple[int, int, int] = (0, 0, 0), anchor: str = "mm") -> tuple[int, int, int, int]:
    """Stamp `s` at `xy` (anchored like Pillow's `anchor`); returns the stamp's pixel box."""
    mask, left, top = _stamp(s, size, anchor)
    x, y = round(xy[0] + left), round(xy[1] + top)
    img.paste(fill, (x, y, x + mask.width, y + mask.height), mask)
    return x, y, x + mask.width, y + mask.height
