"""`generate_samples` contract (order, seeds, levels, forms, workers, shards) and the gym's CLI."""

import json
import subprocess
import sys

import pytest

from foveal.cli import main
from foveal.errors import FovealError
from foveal.sample import png_bytes
from foveal.split import split_of
from foveal.tasks.export import load_samples
from foveal.tasks.generate import generate_samples, parse_levels, parse_shard


def sig(samples):
    return [(s.id, s.prompt, s.answer, s.form, tuple(png_bytes(i) for i in s.images)) for s in samples]


def test_parse_levels_and_shard():
    assert parse_levels("1-5") == [1, 2, 3, 4, 5]
    assert parse_levels("1,3,5") == [1, 3, 5]
    assert parse_levels("2, 4-5") == [2, 4, 5]
    assert parse_shard("1/4") == (1, 4)
    for bad in ("5-1", "a", "1-", ""):
        with pytest.raises(FovealError, match="--levels"):
            parse_levels(bad)
    for bad in ("4/4", "1", "-1/2", "x/y"):
        with pytest.raises(FovealError, match="--shard"):
            parse_shard(bad)


def test_order_seeds_levels_and_forms():
    out = list(generate_samples(["count", "chart"], 5, [1, 3], seed=10, forms=("image", "text", "mixed")))
    assert [s.id for s in out[:6]] == ["count/L1/s10", "count/L1/s10/text", "count/L1/s10/mixed",
                                       "count/L3/s11", "count/L3/s11/text", "count/L3/s11/mixed"]
    assert len(out) == 2 * 5 * 3
    assert [(s.task, s.seed, s.level) for s in out if s.form == "image"] == \
        [(t, 10 + i, [1, 3][i % 2]) for t in ("count", "chart") for i in range(5)]


def test_workers_and_shards_give_identical_output():
    args = dict(tasks="count,sudoku,motion", n=12, levels="1-6", seed=3, forms="image,mixed")
    one = sig(generate_samples(**args))
    assert sig(generate_samples(**args, workers=2)) == one
    shards = [s for k in range(3) for s in sig(generate_samples(**args, shard=f"{k}/3"))]
    assert sorted(shards) == sorted(one) and len(shards) == len(one)


def test_bad_arguments_raise_before_generating():
    with pytest.raises(FovealError, match="unknown task 'cuont'.*count"):
        generate_samples("cuont", 5, "1", 0)
    with pytest.raises(FovealError, match="level 7 out of range"):
        generate_samples("count", 5, "1-9", 0)
    with pytest.raises(FovealError, match="--n"):
        generate_samples("count", 0, "1", 0)
    with pytest.raises(FovealError, match="unknown form"):
        generate_samples("count", 5, "1", 0, forms="image,video")


def run_cli(capsys, *argv):
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


@pytest.mark.parametrize("argv,needle", [
    (["--tasks", "nope"], "unknown task 'nope'"),
    (["--tasks", "count", "--levels", "1-9"], "level 7 out of range"),
    (["--tasks", "count", "--n", "0"], "Invalid value for '--n'"),
    (["--tasks", "count", "--shard", "2/2"], "--shard '2/2'"),
    (["--tasks", "count", "--format", "csv"], "--format 'csv'"),
    (["--tasks", "count", "--workers", "0"], "--workers"),
])
def test_gen_bad_input_is_one_line_exit_2_and_no_dir(tmp_path, capsys, argv, needle):
    out = tmp_path / "ds"
    code, _, err = run_cli(capsys, "gen", *argv, "--out", str(out))
    assert code == 2 and needle in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.lower().startswith("error:")]) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_gen_unwritable_and_existing_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(capsys, "gen", "--tasks", "count", "--n", "2", "--out", str(blocker / "ds"))
    assert code == 2 and "cannot write there" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "ds").mkdir()
    code, _, err = run_cli(capsys, "gen", "--tasks", "count", "--n", "2", "--out", str(tmp_path / "ds"))
    assert code == 2 and "already exists" in err and list((tmp_path / "ds").iterdir()) == []


def test_cli_subprocess_error_has_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "foveal.cli", "gen", "--tasks", "count", "--levels", "0",
                        "--out", str(tmp_path / "ds")], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "level 0" in r.stderr
    assert not (tmp_path / "ds").exists()


def test_gen_writes_a_loadable_dataset(tmp_path, capsys):
    out = tmp_path / "ds"
    code, stdout, _ = run_cli(capsys, "gen", "--tasks", "count,spatial", "--n", "4", "--levels", "1,2",
                              "--seed", "5", "--out", str(out), "--format", "jsonl", "--forms", "image,text")
    assert code == 0 and "wrote 16 samples" in stdout
    m = json.loads((out / "manifest.json").read_text())
    assert m["count"] == 16 and m["tasks"] == ["count", "spatial"] and m["levels"] == [1, 2] and m["seed"] == 5
    assert m["split"] == "train"  # the default: a dataset is training data unless asked otherwise
    assert sig(load_samples(out)) == sig(generate_samples("count,spatial", 4, "1,2", 5, "image,text", split="train"))
    assert {split_of(s.problem_key) for s in load_samples(out)} == {"train"}
    code, _, err = run_cli(capsys, "gen", "--tasks", "count", "--n", "2", "--out", str(out), "--overwrite")
    assert code == 0 and json.loads((out / "manifest.json").read_text())["count"] == 2


def test_tasks_list_and_show(tmp_path, capsys):
    code, stdout, _ = run_cli(capsys, "tasks", "list", "--json")
    info = {t["name"]: t for t in json.loads(stdout)}
    assert code == 0 and {"count", "spatial", "chart", "sudoku", "jigsaw", "motion"} <= set(info)
    assert info["motion"]["modality"] == "video" and len(info["sudoku"]["levels"]) >= 5
    code, stdout, _ = run_cli(capsys, "tasks", "list")
    assert code == 0 and "jigsaw" in stdout and "modality" in stdout
    out = tmp_path / "show"
    code, stdout, _ = run_cli(capsys, "tasks", "show", "motion", "--seed", "2", "--level", "1", "--out", str(out))
    rec = json.loads((out / "sample.json").read_text())
    assert code == 0 and rec["id"] == "motion/L1/s2" and "answer:" in stdout
    assert rec["images"] == [f"frame_{k:02d}.png" for k in range(4)]
    assert all((out / f).read_bytes()[:4] == b"\x89PNG" for f in rec["images"])
    code, _, err = run_cli(capsys, "tasks", "show", "count", "--level", "99", "--out", str(tmp_path / "x"))
    assert code == 2 and "level 99" in err and not (tmp_path / "x").exists()


def test_gen_splits_never_share_a_problem_and_small_levels_are_reported(tmp_path, capsys, tiny_family):
    keys = {}
    for split in ("train", "test"):
        code, stdout, _ = run_cli(capsys, "gen", "--tasks", "count", "--n", "60", "--levels", "2", "--split", split,
                                  "--out", str(tmp_path / split), "--format", "jsonl")
        assert code == 0 and f"split {split}" in stdout
        keys[split] = {s.problem_key for s in load_samples(tmp_path / split)}
        assert {split_of(k) for k in keys[split]} == {split}
    assert not keys["train"] & keys["test"]
    code, stdout, _ = run_cli(capsys, "gen", "--tasks", "tiny", "--n", "40", "--levels", "1", "--split", "train",
                              "--out", str(tmp_path / "small"), "--format", "jsonl")
    assert code == 0 and "warning: tiny level 1: only" in " ".join(stdout.split())
