"""The gym gallery: one picture per registered family on a contact sheet (`docs/gallery.png`).

    >>> from foveal.tasks.gallery import build_gallery
    >>> build_gallery("docs/gallery.png")          # every family at its middle level

Each tile shows the family's name, the level and one problem's picture in three visual styles
(plain and two more, rotating across families, so the sheet shows every style), scaled to fit;
video families show their first frame in each style.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from foveal.errors import FovealError
from foveal.io import atomic_write_bytes
from foveal.sample import png_bytes
from foveal.tasks import all_tasks
from foveal.tasks.draw import canvas, font
from foveal.tasks.style import STYLES

LABEL_H = 22


def styles_for(index: int, n: int = 3) -> tuple[str, ...]:
    """`plain` and n − 1 other styles for the index-th family, rotating through all of them."""
    others = [name for name in STYLES if name != "plain"]
    return ("plain", *(others[(index * (n - 1) + k) % len(others)] for k in range(n - 1)))


def tile_for(task, level: int | None, seed: int, width: int, height: int, styles: tuple[str, ...] = ("plain",)
             ) -> Image.Image:
    """One tile: '<name> L<level>' above one problem's first picture in each of `styles`, scaled to
    fit `width`×`height`."""
    lv = min(level, max(task.levels)) if level is not None else (min(task.levels) + max(task.levels) + 1) // 2
    first = task.generate(seed, lv, style=styles[0])
    v = first.meta["variant"]
    shown = [first.images[0]] + [task.generate(seed, lv, style=st).images[0] for st in styles[1:]]
    gap = 3
    cw, ch = max(im.width for im in shown), max(im.height for im in shown)
    sheet = canvas(len(shown) * cw + gap * (len(shown) - 1), ch, (245, 245, 245))
    for i, im in enumerate(shown):
        sheet.paste(im, (i * (cw + gap), 0))
    scale = min((width - 8) / sheet.width, (height - LABEL_H - 6) / sheet.height, 2.0)
    tile = canvas(width, height, (245, 245, 245))
    d = ImageDraw.Draw(tile)
    more = f", frame 1 of {len(first.images)}" if task.modality == "video" else ""
    d.text((6, 4), f"{task.name} L{lv} ({v['query']}{more}) · {', '.join(styles)}", fill=(0, 0, 0), font=font(11))
    w, h = max(1, round(sheet.width * scale)), max(1, round(sheet.height * scale))
    small = sheet.resize((w, h), Image.NEAREST if scale >= 1 else Image.LANCZOS)
    tile.paste(small, ((width - w) // 2, LABEL_H + (height - LABEL_H - h) // 2))
    d.rectangle([0, 0, width - 1, height - 1], outline=(190, 190, 190))
    return tile


def build_gallery(out_path: str | Path, level: int | None = None, seed: int = 0, columns: int = 4,
                  tile: tuple[int, int] = (390, 170)) -> Path:
    """Write a contact sheet of every registered family (sorted by name) to `out_path` (PNG, atomically).

    level: the level drawn for every family (clamped to each family's highest); None = each
        family's middle level.
    Returns the path written.
    """
    if level is not None and level < 1:
        raise FovealError(f"gallery level must be >= 1, got {level}")
    if columns < 1:
        raise FovealError(f"gallery columns must be >= 1, got {columns}")
    tasks = all_tasks()
    w, h = tile
    rows = (len(tasks) + columns - 1) // columns
    sheet = canvas(columns * w, rows * h)
    for i, task in enumerate(tasks):
        sheet.paste(tile_for(task, level, seed, w, h, styles_for(i)), ((i % columns) * w, (i // columns) * h))
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, png_bytes(sheet))
    return out
