"""foveal.eval.report: the HTML report from run directories, checked in a real headless Chromium."""

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from foveal.errors import FovealError
from foveal.eval import metrics as M
from foveal.eval.harness import thumbnail_b64
from foveal.eval.report import build_report, load_run, timeline
from foveal.io import append_jsonl, atomic_write_json


def write_run(path: Path, skill: float, seed: int, k: int = 4, train: bool = False) -> Path:
    """A run directory as `foveal eval` writes it, from a simulated model whose accuracy falls with
    the level and is higher on the text twin."""
    rng = random.Random(seed)
    path.mkdir(parents=True)
    rows = []
    for task in ("count", "spatial", "chart"):
        for level in (1, 2, 3):
            for s in range(4):
                im = Image.new("RGB", (64, 64), "white")
                ImageDraw.Draw(im).ellipse([10, 10, 10 + 8 * level, 10 + 8 * level], fill=(200, 40, 40))
                base = f"{task}/L{level}/s{s}"
                for form in ("image", "text"):
                    p = skill - 0.15 * level + (0.2 if form == "text" else 0)
                    answers = [str(s) if rng.random() < p else str(rng.randint(5, 9)) for _ in range(k)]
                    scores = [1.0 if a == str(s) else 0.0 for a in answers]
                    m = M.majority_vote(answers)
                    rows.append({
                        "id": base if form == "image" else base + "/text", "base_id": base, "task": task,
                        "level": level, "form": form, "answer_type": "number", "gold": str(s),
                        "prompt": ("<image>\n" if form == "image" else "A red disc. ") + "How many?",
                        "completions": [f"<think>I look.</think><answer>{a}</answer>" for a in answers],
                        "answers": answers, "scores": scores, "formats": [True] * k,
                        "n_tokens": [rng.randint(20, 90) for _ in range(k)], "finish": ["stop"] * k,
                        "maj_answer": answers[m], "maj_score": scores[m], "agree": M.agreement(answers),
                        "thumbs": [thumbnail_b64(im)] if form == "image" else [],
                        "query": "how_many", "phrasing": ("direct", "terse")[s // 2], "style": ("plain", "noisy")[s % 2]})
    append_jsonl(path / "samples.jsonl", rows)
    atomic_write_json(path / "config.json", {"model": f"models/{path.name}", "data": "data", "k": k,
                                             "sampling": {"temperature": 1.0}, "twin": "both"})
    if train:
        append_jsonl(path / "train.jsonl", [{"step": i, "reward/mean": i / 30, "kl": i / 900, "entropy": 1 - i / 60,
                                             "completion_len": 40 - i / 2, "lr": 1e-5} for i in range(30)])
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return [write_run(root / "base", 0.55, 1), write_run(root / "grpo", 0.85, 2, train=True)]


def test_report_is_self_contained_and_has_every_section(runs, tmp_path):
    out = build_report(runs, tmp_path / "r.html", names=["base", "grpo"])
    page = out.read_text()
    for needle in ('id="summary"', 'id="tasks"', 'id="gap"', 'id="sampling"', 'id="training"', 'id="examples"',
                   'id="variants"', ">base<", ">grpo<", "pass@k", "Modality gap"):
        assert needle in page, needle
    noisy = load_run(runs[1]).metrics["by_variant"]["style"]["noisy"]["accuracy"]
    assert ">noisy</td>" in page and f"{noisy * 100:.1f}%" in page
    assert "how_many" not in page.split('id="variants"')[1].split("</section>")[0]  # one query: not a variant row
    assert page.count("data:image/png;base64,") >= 5 + 4  # plots + example thumbnails
    assert "http://" not in page and "https://" not in page and "<script" not in page  # views offline
    assert "&lt;think&gt;I look.&lt;/think&gt;" in page  # model output is escaped, never markup
    # the headline numbers are the ones metrics.summarize gives for the same rows
    acc = load_run(runs[1]).metrics["overall"]["accuracy"]
    assert f"{acc * 100:.1f}%" in page


def test_one_run_without_samples_of_text_form_or_k(tmp_path):
    run = write_run(tmp_path / "solo", 0.6, 3, k=1)
    rows = [r for r in map(json.loads, (run / "samples.jsonl").read_text().splitlines()) if r["form"] == "image"]
    (run / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = build_report([run], tmp_path / "solo.html").read_text()
    assert 'id="summary"' in page and 'id="gap"' not in page and "pass@k curve" not in page


def test_report_errors(tmp_path, runs):
    with pytest.raises(FovealError, match="is not a directory"):
        build_report([tmp_path / "nope"], tmp_path / "r.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FovealError, match="neither samples.jsonl"):
        build_report([tmp_path / "empty"], tmp_path / "r.html")
    with pytest.raises(FovealError, match="2 runs"):
        build_report(runs, tmp_path / "r.html", names=["only-one"])
    with pytest.raises(FovealError, match="no train.jsonl"):
        build_report(runs[:1], tmp_path / "r.html", train=[tmp_path / "empty"])
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "samples.jsonl").write_text('{"id": "x", "task": "t"}\n')
    with pytest.raises(FovealError, match="row 1 lacks field"):
        build_report([bad], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_cli_report_and_its_bad_input(runs, tmp_path):
    out = tmp_path / "cli.html"
    r = subprocess.run([sys.executable, "-m", "foveal.cli", "report", *map(str, runs), "--out", str(out),
                        "--names", "base,grpo"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 10_000 and "wrote" in r.stdout
    r = subprocess.run([sys.executable, "-m", "foveal.cli", "report", str(tmp_path / "missing")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "is not a directory" in r.stderr and "Traceback" not in r.stderr


def test_training_log_alone(runs, tmp_path):
    page = build_report([runs[1].parent / "grpo"], tmp_path / "t.html", names=["rl"]).read_text()
    assert 'id="training"' in page and ">rl<" in page
    run = tmp_path / "train-only"
    run.mkdir()
    append_jsonl(run / "train.jsonl", [{"stage": "sft", "step": i, "loss": 1 / (i + 1)} for i in range(5)])
    page = build_report([run], tmp_path / "t2.html").read_text()
    assert 'id="training"' in page and 'id="summary"' not in page and "1 training" in page


def test_training_stages_are_laid_end_to_end():
    rows = [{"stage": "sft", "step": s, "loss": 1.0} for s in (1, 2, 3)] + \
           [{"stage": "rl", "step": s, "reward/mean": 0.5} for s in (1, 2)]
    assert timeline(rows) == ([1, 2, 3, 4, 5], [(1, "sft"), (4, "rl")])
    assert timeline([{"step": 0}, {"step": 1}]) == ([0, 1], [])


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make test installs it via scripts/ensure_chromium.sh)")
def test_report_renders_in_headless_chromium(runs, tmp_path):
    html = build_report(runs, tmp_path / "r.html", names=["base", "grpo"])
    shot = tmp_path / "shot.png"
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars", f"--screenshot={shot}",
                        "--window-size=1280,2000", f"file://{html}"], capture_output=True, text=True, timeout=120)
    assert shot.exists(), r.stderr[-2000:]
    im = Image.open(shot).convert("RGB")
    assert im.size == (1280, 2000)
    small = im.resize((320, 500))
    colours = small.getcolors(maxcolors=320 * 500)
    assert len(colours) > 200  # text, plots and coloured cells, not a blank page
    bg = max(colours)[1]
    non_bg = sum(c for c, rgb in colours if sum(abs(a - b) for a, b in zip(rgb, bg, strict=True)) > 30)
    assert non_bg > 0.10 * 320 * 500
    # the header band is dark blue, as the stylesheet says, so the CSS was applied
    r_, g_, b_ = im.getpixel((20, 20))
    assert b_ > r_ + 30 and r_ < 90
