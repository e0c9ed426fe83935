"""The gallery contact sheet: one tile per registered family, written atomically."""

from __future__ import annotations

import pytest
from PIL import Image

from foveal.errors import FovealError
from foveal.tasks import get, names
from foveal.tasks.gallery import build_gallery, styles_for, tile_for
from foveal.tasks.style import STYLES


def test_gallery_has_one_tile_per_family(tmp_path):
    out = build_gallery(tmp_path / "g.png", columns=5, tile=(200, 160))
    im = Image.open(out)
    rows = (len(names()) + 4) // 5
    assert im.size == (5 * 200, rows * 160)
    assert not list(tmp_path.glob(".*tmp")), "no temp file left behind"


def test_tile_scales_video_frames_and_clamps_level():
    t = tile_for(get("event_order"), level=99, seed=0, width=200, height=160, styles=("plain", "paper"))
    assert t.size == (200, 160)


def test_the_sheet_shows_every_style():
    shown = {st for i in range(len(names())) for st in styles_for(i)}
    assert shown == set(STYLES) and all(len(set(styles_for(i))) == 3 for i in range(len(names())))
    with pytest.raises(FovealError, match="level"):
        build_gallery("unused.png", level=0)
