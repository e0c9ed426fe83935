"""Core types: Sample invariants, atomic writes, the CLI's error convention."""

import json
import os
import stat
import subprocess
import sys

import pytest
from PIL import Image

from foveal.io import append_jsonl, atomic_dir, atomic_write_bytes, atomic_write_json, read_jsonl
from foveal.sample import Sample


def _sample(**kw):
    base = dict(id="t/L1/s0", task="t", level=1, seed=0, prompt="<image>\nHow many?",
                images=(Image.new("RGB", (8, 8), (255, 0, 0)),), answer="3", answer_type="number",
                text_twin="There are 3 dots. How many?", solution="3 dots.")
    base.update(kw)
    return Sample(**base)


def test_sample_placeholders_must_match_images():
    with pytest.raises(ValueError, match="placeholders"):
        _sample(prompt="no image here")


def test_sample_rejects_unknown_answer_type():
    with pytest.raises(ValueError, match="answer_type"):
        _sample(answer_type="color")


def test_sample_record_round_trip_keeps_pixels():
    s = _sample(choices=None, meta={"k": 1}, tags=("counting",))
    back = Sample.from_record(json.loads(json.dumps(s.to_record())))
    assert back.prompt == s.prompt and back.meta == {"k": 1} and back.tags == ("counting",)
    assert back.images[0].tobytes() == s.images[0].tobytes()


def test_text_form_drops_images_and_uses_twin():
    t = _sample().as_text()
    assert t.images == () and t.prompt == t.text_twin and t.form == "text" and t.id.endswith("/text")


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as d:
            (d / "half.txt").write_text("x")
            raise RuntimeError("boom")
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_atomic_writes_respect_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        f = atomic_write_bytes(tmp_path / "a.bin", b"x")
        with atomic_dir(tmp_path / "d") as d:
            (d / "k").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~umask
    assert f.read_bytes() == b"x" and (tmp_path / "d" / "k").read_text() == "y"


def test_jsonl_reader_drops_torn_last_line(tmp_path):
    p = tmp_path / "a.jsonl"
    append_jsonl(p, [{"a": 1}, {"a": 2}])
    with open(p, "a") as f:
        f.write('{"a": 3')  # a write cut off by a kill
    assert read_jsonl(p) == [{"a": 1}, {"a": 2}]
    atomic_write_json(tmp_path / "m.json", {"x": 1})
    assert json.loads((tmp_path / "m.json").read_text()) == {"x": 1}


def test_cli_help_runs():
    r = subprocess.run([sys.executable, "-m", "foveal.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "foveal" in r.stdout
