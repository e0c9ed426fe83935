"""foveal.eval.benchmarks on the hand-made fixtures in tests/fixtures/benchmarks."""

import json
import shutil
from pathlib import Path

import pytest

from foveal.errors import FovealError
from foveal.eval.benchmarks import load_benchmark, load_data, parse_choices
from foveal.sample import IMAGE_TOKEN

FIX = Path(__file__).parent / "fixtures" / "benchmarks"


def test_mathvista_layout():
    s = {x.id: x for x in load_benchmark(FIX / "mathvista" / "testmini.json")}
    assert sorted(s) == ["mathvista/1", "mathvista/2", "mathvista/3"]
    choice = s["mathvista/1"]
    assert choice.answer_type == "choice" and choice.choices == ("a", "b", "c") and choice.answer == "B"
    assert "A. a\nB. b\nC. c" in choice.prompt and choice.prompt.startswith(IMAGE_TOKEN)
    assert choice.images[0].size == (160, 120)
    assert s["mathvista/2"].answer_type == "number" and s["mathvista/2"].answer == "10"
    assert s["mathvista/3"].meta["precision"] == 2.0 and "2 decimal place" in s["mathvista/3"].prompt
    assert s["mathvista/3"].meta["metadata"]["category"] == "math-targeted-vqa"


def test_mathvista_parquet_with_image_bytes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = json.loads((FIX / "mathvista" / "testmini.json").read_text())
    rows = [{"pid": pid, **{k: v for k, v in r.items() if k != "metadata"},
             "image": {"bytes": (FIX / "mathvista" / r["image"]).read_bytes(), "path": r["image"]}}
            for pid, r in recs.items()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "testmini-00000.parquet")
    s = load_data(tmp_path, limit=2)  # a directory of parquet shards, as on the hub
    assert [x.id for x in s] == ["mathvista/1", "mathvista/2"] and s[0].images[0].size == (160, 120)


def test_mathverse_layout_levels_follow_problem_version():
    s = {x.id: x for x in load_benchmark(FIX / "mathverse")}
    td, vo, to = s["mathverse/1"], s["mathverse/2"], s["mathverse/3"]
    assert td.answer_type == "choice" and td.answer == "C" and td.choices == ("40°", "50°", "140°", "320°")
    assert (td.level, vo.level, to.level) == (2, 6, 1)
    assert vo.answer_type == "math" and vo.images and "directly answer" in vo.prompt  # empty question -> query_wo
    assert to.form == "text" and to.images == () and to.as_text().prompt == to.prompt


def test_generic_layout():
    s = {x.id: x for x in load_benchmark(FIX / "generic" / "data.jsonl")}
    dots, pair, text = s["dots/1"], s["pair/1"], s["text/1"]
    assert dots.answer_type == "number" and dots.prompt.startswith(IMAGE_TOKEN + "\n") and dots.text_twin
    assert pair.answer == "B" and len(pair.images) == 2 and "A. the first\nB. the second" in pair.prompt
    assert pair.level == 2 and pair.task == "pair"
    assert text.answer_type == "math" and text.images == () and text.form == "text"


def test_parse_choices():
    assert parse_choices("Q?\nChoices:\nA:1\nB:2") == ("1", "2")
    assert parse_choices("Q?\n(A) x\n(B) y\n(C) z") == ("x", "y", "z")
    assert parse_choices("no options here") is None


@pytest.mark.parametrize("row, msg", [
    ({"question": "How many?"}, "row 1, field 'answer': missing"),
    ({"question": "Q", "answer": "1", "image": "images/nope.png"}, "does not exist"),
    ({"question": "Q", "answer": "1", "answer_type": "colour"}, "field 'answer_type'"),
    ({"question": "Q", "answer": "E", "choices": ["x", "y"]}, "neither an option letter"),
    ({"question": "<image> <image> Q", "answer": "1", "image": "images/dots.png"}, "2 <image> placeholders but 1"),
    ({"question": "Q", "answer": "1", "level": "hard"}, "field 'level'"),
])
def test_generic_errors_name_file_row_and_field(tmp_path, row, msg):
    shutil.copytree(FIX / "generic" / "images", tmp_path / "images")
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(row) + "\n")
    with pytest.raises(FovealError, match=msg) as e:
        load_benchmark(f)
    assert str(f) in str(e.value)


def test_bad_paths_and_files(tmp_path):
    with pytest.raises(FovealError, match="no such file"):
        load_data(tmp_path / "missing")
    with pytest.raises(FovealError, match="no .json"):
        load_data(tmp_path)
    (tmp_path / "x.jsonl").write_text('{"question": "Q", "answer": "1"}\n{not json\n')
    with pytest.raises(FovealError, match="line 2 is not valid JSON"):
        load_data(tmp_path / "x.jsonl")
    shutil.copytree(FIX / "generic" / "images", tmp_path / "images")
    rec = {"pid": "1", "question": "Q", "answer": "z", "question_type": "multi_choice", "choices": ["a", "b"],
           "image": "images/dots.png"}
    bad = tmp_path / "v.json"
    bad.write_text(json.dumps([rec]))
    with pytest.raises(FovealError, match=r"v.json: row 1, field 'answer': 'z' is not one of its choices"):
        load_benchmark(bad)
    bad.write_text(json.dumps([{**rec, "answer": "a", "image": {"bytes": "6e6f"}}]))
    with pytest.raises(FovealError, match="field 'image': 'bytes' holds str"):
        load_benchmark(bad)
    (tmp_path / "junk.png").write_bytes(b"not a png")
    bad.write_text(json.dumps([{**rec, "answer": "a", "image": "junk.png"}]))
    with pytest.raises(FovealError, match="field 'image': cannot decode image"):
        load_benchmark(bad)


def test_mathvista_float_answers_are_rounded_to_their_precision():
    from foveal.eval.harness import round_to, score_group
    from foveal.rollout.base import Completion, Group

    s = {x.id: x for x in load_benchmark(FIX / "mathvista" / "testmini.json")}["mathvista/3"]  # gold 19.63, 2 dp
    said = ["19.6349", "19.63", "19.6", "19.630", "about 20"]
    g = Group(s.id, [Completion(f"<think>pi r^2</think><answer>{a}</answer>") for a in said])
    assert score_group(s, g)["scores"] == [1.0, 1.0, 0.0, 1.0, 0.0]
    assert round_to("3.14159", 2) == "3.14" and round_to("x", 2) == "x" and round_to(None, 2) is None
