"""The gym gallery: one picture per registered family on a contact sheet (`docs/gallery.png`).

    >>> from foveal.tasks.gallery import build_gallery
    >>> build_gallery("docs/gallery.png")          # every family at its middle level

Each tile shows the family's name, the level and the sample's images scaled to fit (several
images, e.g. video frames, two per row; long videos show their first `max_frames` frames).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from foveal.errors import FovealError
from foveal.io import atomic_write_bytes
from foveal.sample import png_bytes
from foveal.tasks import all_tasks
from foveal.tasks.draw import canvas, font

LABEL_H = 22


def tile_for(task, level: int | None, seed: int, width: int, height: int, max_frames: int) -> Image.Image:
    """One tile: '<name> L<level>' above the sample's images, scaled to fit `width`×`height`."""
    lv = min(level, max(task.levels)) if level is not None else (min(task.levels) + max(task.levels) + 1) // 2
    images = list(task.generate(seed, lv).images)
    shown = images[:max_frames]
    per_row = 2 if len(shown) > 2 else len(shown)  # up to 2×2 frames, so video tiles stay legible
    gap = 3
    cw, ch = max(im.width for im in shown), max(im.height for im in shown)
    rows = (len(shown) + per_row - 1) // per_row
    sheet = canvas(per_row * cw + gap * (per_row - 1), rows * ch + gap * (rows - 1), (245, 245, 245))
    for i, im in enumerate(shown):
        sheet.paste(im, ((i % per_row) * (cw + gap), (i // per_row) * (ch + gap)))
    scale = min((width - 8) / sheet.width, (height - LABEL_H - 6) / sheet.height, 2.0)
    tile = canvas(width, height, (245, 245, 245))
    d = ImageDraw.Draw(tile)
    more = f" ({len(images)} frames)" if task.modality == "video" else ""
    d.text((6, 4), f"{task.name} L{lv}{more}", fill=(0, 0, 0), font=font(13))
    w, h = max(1, round(sheet.width * scale)), max(1, round(sheet.height * scale))
    small = sheet.resize((w, h), Image.NEAREST if scale >= 1 else Image.LANCZOS)
    tile.paste(small, ((width - w) // 2, LABEL_H + (height - LABEL_H - h) // 2))
    d.rectangle([0, 0, width - 1, height - 1], outline=(190, 190, 190))
    return tile


def build_gallery(out_path: str | Path, level: int | None = None, seed: int = 0, columns: int = 6,
                  tile: tuple[int, int] = (260, 200), max_frames: int = 4) -> Path:
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
        sheet.paste(tile_for(task, level, seed, w, h, max_frames), ((i % columns) * w, (i // columns) * h))
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, png_bytes(sheet))
    return out
