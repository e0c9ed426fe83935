"""Export formats (hf, jsonl, verl, trl): exact round trips, the layouts other tools read, atomicity."""

import json

import pyarrow.parquet as pq
import pytest

from foveal.errors import FovealError
from foveal.tasks.export import load_samples, write_dataset
from foveal.tasks.generate import generate_samples


@pytest.fixture(scope="module")
def samples():
    return list(generate_samples("count,spatial,chart,sudoku,jigsaw,motion", 3, "1,4,6", 2,
                                 forms="image,text,mixed"))


@pytest.mark.parametrize("fmt", ["hf", "jsonl", "verl", "trl"])
def test_round_trip_is_exact(tmp_path, samples, fmt):
    out = tmp_path / fmt
    m = write_dataset(iter(samples), out, fmt, {"tasks": ["count"], "seed": 2})
    assert m["count"] == len(samples) and m["format"] == fmt and m["version"]
    assert json.loads((out / "manifest.json").read_text()) == m
    back = load_samples(out)
    assert [s.to_record() for s in back] == [s.to_record() for s in samples]  # images as PNG bytes too
    assert all(a.images[i].tobytes() == b.images[i].tobytes()
               for a, b in zip(samples, back, strict=True) for i in range(len(a.images)))


def test_hf_layout_loads_with_datasets(tmp_path, samples):
    import datasets

    write_dataset(iter(samples), tmp_path / "ds", "hf", {})
    ds = datasets.load_from_disk(str(tmp_path / "ds"))
    assert len(ds) == len(samples) and isinstance(ds.features["images"], datasets.List)
    assert isinstance(ds.features["images"].feature, datasets.Image)
    row = ds[0]
    assert row["id"] == samples[0].id and row["images"][0].size == samples[0].images[0].size
    assert pq.read_table(tmp_path / "ds" / "data.parquet").num_rows == len(samples)


def test_verl_layout(tmp_path, samples):
    write_dataset(iter(samples), tmp_path / "v", "verl", {})
    rows = pq.read_table(tmp_path / "v" / "train.parquet").to_pylist()
    r, s = rows[0], samples[0]
    assert set(r) == {"data_source", "prompt", "images", "ability", "reward_model", "extra_info"}
    assert r["data_source"] == "foveal/count" and r["reward_model"] == {"style": "rule", "ground_truth": s.answer}
    assert r["prompt"][0]["role"] == "user" and r["prompt"][0]["content"].startswith(s.prompt)
    assert r["prompt"][0]["content"].count("<image>") == len(r["images"]) == len(s.images)
    assert r["images"][0]["bytes"][:4] == b"\x89PNG"
    assert r["extra_info"]["index"] == 0 and r["extra_info"]["answer_type"] == s.answer_type
    assert [x["extra_info"]["index"] for x in rows] == list(range(len(rows)))


def test_trl_layout_is_trls_conversational_vision_format(tmp_path, samples):
    import datasets
    from trl.data_utils import is_conversational, prepare_multimodal_messages

    from foveal.prompts import R1_SYSTEM_PROMPT

    write_dataset(iter(samples), tmp_path / "t", "trl", {})
    ds = datasets.load_from_disk(str(tmp_path / "t"))
    assert {"prompt", "images", "answer", "answer_type", "choices"} <= set(ds.column_names)
    by_id = {s.id: s for s in samples}
    for row in ds:
        s = by_id[row["id"]]
        system, user = row["prompt"]
        assert system == {"role": "system", "content": [{"type": "text", "text": R1_SYSTEM_PROMPT}]}
        assert user["role"] == "user" and is_conversational(row)
        placeholders = [p for p in user["content"] if p["type"] == "image"]
        assert len(placeholders) == len(row["images"]) == len(s.images)  # a video: one per frame
        text = "".join("<image>" if p["type"] == "image" else p["text"] for p in user["content"])
        assert text.replace("\n", "").replace(" ", "") == s.prompt.replace("\n", "").replace(" ", "")
        assert [im.tobytes() for im in row["images"]] == [im.tobytes() for im in s.images]
        assert (row["answer"], row["answer_type"], row["choices"]) == (s.answer, s.answer_type, list(s.choices) if s.choices else None)
        filled = prepare_multimodal_messages(row["prompt"], images=row["images"])  # what GRPOTrainer does
        assert [p["image"] for p in filled[1]["content"] if p["type"] == "image"] == row["images"]
    assert any(len(r["images"]) > 1 for r in ds) and any(not r["images"] for r in ds)  # video and text forms


def test_not_a_dataset_names_the_path(tmp_path):
    with pytest.raises(FovealError, match=str(tmp_path)):
        load_samples(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "csv"}')
    with pytest.raises(FovealError, match="format"):
        load_samples(tmp_path)
    with pytest.raises(FovealError, match="not a directory"):
        load_samples(tmp_path / "missing")


def test_failed_write_leaves_nothing(tmp_path, samples):
    def broken():
        yield from samples[:3]
        raise RuntimeError("generator died")

    for fmt in ("hf", "jsonl", "verl", "trl"):
        with pytest.raises(RuntimeError):
            write_dataset(broken(), tmp_path / fmt, fmt, {})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FovealError, match="no samples"):
        write_dataset(iter([]), tmp_path / "empty", "jsonl", {})
    assert list(tmp_path.iterdir()) == []
