"""Grid helpers shared by the spatial families (maze, symmetry) (not a family: underscore module).

Grids are lists of equal-length strings or lists; cells are addressed (row, col) from the
top-left, 0-based in code and 1-based in every prompt ("row 1, column 1" is the top-left cell).
"""

from __future__ import annotations

from PIL import Image

MOVES = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def cells_image(colors: list[list[tuple[int, int, int]]], cell: int, border: int = 0,
                border_color: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """A picture of a grid of solid cells, `cell` px each, drawn by scaling a 1-px-per-cell image.

    Much faster than drawing rectangles one by one; exact (nearest-neighbour scaling).
    """
    rows, cols = len(colors), len(colors[0])
    raw = bytes(v for row in colors for rgb in row for v in rgb)
    im = Image.frombytes("RGB", (cols, rows), raw).resize((cols * cell, rows * cell), Image.NEAREST)
    if border:
        framed = Image.new("RGB", (im.width + 2 * border, im.height + 2 * border), border_color)
        framed.paste(im, (border, border))
        return framed
    return im


def rc(r: int, c: int) -> str:
    """A 0-based cell as prompt words: 'row r+1, column c+1'."""
    return f"row {r + 1}, column {c + 1}"
