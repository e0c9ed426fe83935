"""The answer-only format end to end: the `<answer>X</answer>` target is what the verifiers read, a run
with `answer_format: answer` trains, prompts and rewards in it, and evaluation scores it the same way."""

from pathlib import Path

import pytest

import foveal.tasks as gym
from foveal.config import config_from_dict, load_config
from foveal.errors import FovealError
from foveal.io import read_jsonl
from foveal.prompts import ANSWER_SYSTEM_PROMPT, R1_SYSTEM_PROMPT, answer_target, r1_target, sft_target
from foveal.rewards import accuracy, extract_answer, format_reward

ROOT = Path(__file__).resolve().parents[1]
# Answer types the verifiers read differently: number, choice, grid, sequence, math, box.
TASKS = ("block_count", "count", "cube_net", "sudoku", "fifteen_puzzle", "fraction_shaded", "locate")


def samples_of(tasks=TASKS, n=3):
    out = []
    for name in tasks:
        task = gym.get(name)
        form = "text" if "text" in task.forms else "image"
        out += [task.generate(seed, min(task.levels), form=form) for seed in range(n)]
    return out


def test_answer_target_is_read_and_verified_only_in_the_answer_format():
    samples = samples_of()
    assert {s.answer_type for s in samples} == {"number", "choice", "grid", "sequence", "math", "box"}
    targets = [answer_target(s) for s in samples]
    assert all(t == f"<answer>{s.answer}</answer>" for t, s in zip(targets, samples, strict=True))
    assert [extract_answer(t, "answer") for t in targets] == [s.answer.strip() for s in samples]
    assert accuracy(targets, samples, answer_format="answer") == [1.0] * len(samples)
    assert format_reward(targets, samples, answer_format="answer") == [1.0] * len(samples)
    # the R1 reader wants a <think> block, and the answer-only reader refuses one: no format reads the other
    assert accuracy(targets, samples) == [0.0] * len(samples)
    r1 = [r1_target(s) for s in samples]
    assert accuracy(r1, samples, answer_format="answer") == [0.0] * len(samples)
    assert format_reward(r1, samples, answer_format="answer") == [0.0] * len(samples)
    # a wrong answer in the right format keeps its format reward and loses accuracy
    wrong = samples[0].answer + "1"
    assert accuracy([f"<answer>{wrong}</answer>"], samples[:1], answer_format="answer") == [0.0]
    assert format_reward([f"<answer>{wrong}</answer>"], samples[:1], answer_format="answer") == [1.0]


def test_sft_target_by_format_and_a_bad_format():
    s = gym.get("count").generate(0, 1)
    assert sft_target(s, "r1") == r1_target(s)
    assert sft_target(s, "answer") == answer_target(s)
    with pytest.raises(ValueError, match="'raw'.*r1, answer"):
        sft_target(s, "raw")


def test_the_tiny_tokenizer_gives_the_answer_tags_one_token_each():
    from foveal.models.tokenizer import IM_END, tiny_tokenizer

    tok = tiny_tokenizer()
    s = gym.get("count").generate(0, 1)
    ids = tok(answer_target(s), add_special_tokens=False)["input_ids"]
    tags = tok.convert_tokens_to_ids(["<answer>", "</answer>"])
    digits = tok(s.answer, add_special_tokens=False)["input_ids"]
    assert ids == [tags[0], *digits, tags[1]] and len(digits) == len(s.answer)  # one token per digit
    assert tok.decode(ids + [tok.convert_tokens_to_ids(IM_END)], skip_special_tokens=True) == answer_target(s)


GYM = {"gym": {"tasks": ["count"], "levels": [1]}}


def test_answer_format_sets_prompt_target_and_reward_options():
    cfg = config_from_dict({"data": GYM, "sft": {"steps": 1}, "rl": {"steps": 1}, "answer_format": "answer",
                            "rewards": [{"name": "accuracy"}, {"name": "format", "weight": 0.2},
                                        {"name": "length", "args": {"max_len": 8}}]})
    assert cfg.model.system_prompt == ANSWER_SYSTEM_PROMPT and "<think>" not in ANSWER_SYSTEM_PROMPT
    assert cfg.sft.target == "answer"
    assert [r.args for r in cfg.rewards] == [{"answer_format": "answer"}, {"answer_format": "answer"}, {"max_len": 8}]
    # what the recipe says itself wins: no system prompt, and an explicit reward format
    cfg = config_from_dict({"data": GYM, "sft": {"steps": 1}, "answer_format": "answer",
                            "model": {"system_prompt": None},
                            "rewards": [{"name": "accuracy", "args": {"answer_format": "raw"}}]})
    assert cfg.model.system_prompt is None and cfg.rewards[0].args == {"answer_format": "raw"}
    # an R1 run is as before (nothing added, so its recorded config does not change)
    cfg = config_from_dict({"data": GYM, "sft": {"steps": 1}})
    assert cfg.model.system_prompt == R1_SYSTEM_PROMPT and cfg.sft.target == "r1"
    assert all(r.args == {} for r in cfg.rewards)


@pytest.mark.parametrize("tree,needle", [
    ({"sft": {"steps": 1, "target": "answer"}}, "sft.target 'answer' does not match answer_format 'r1'"),
    ({"sft": {"steps": 1, "target": "r1"}, "answer_format": "answer"}, "set answer_format: r1"),
    ({"sft": {"steps": 1}, "answer_format": "none"}, "answer_format: Input should be 'r1' or 'answer'"),
])
def test_mismatched_or_unknown_formats_are_refused(tree, needle):
    with pytest.raises(FovealError, match=needle.replace("(", r"\(")):
        config_from_dict({"data": GYM, **tree})


@pytest.mark.parametrize("recipe", ["answer_only_sft.yaml", "no_thinking.yaml"])
def test_the_answer_only_recipes_load_in_the_answer_format(recipe):
    cfg = load_config(ROOT / "recipes" / recipe)
    assert cfg.answer_format == "answer" and cfg.sft.target == "answer" and cfg.sft.steps > 0
    assert cfg.model.system_prompt == ANSWER_SYSTEM_PROMPT
    assert all(r.args.get("answer_format") == "answer" for r in cfg.rewards)
    assert (cfg.rl.steps > 0) == (recipe == "no_thinking.yaml")


@pytest.fixture(scope="module")
def no_thinking_run(tiny_dir, tmp_path_factory, one_thread):
    """recipes/no_thinking.yaml on a smaller tiny VLM: 20 answer-only SFT steps, then 2 GRPO steps."""
    from foveal.train import train

    cfg = load_config(ROOT / "recipes" / "no_thinking.yaml", overrides=[
        f"model.path={tiny_dir}", "data.gym.tasks=[count]", "data.gym.levels=[1]", "data.gym.query=null",
        "data.gym.phrasing=null", "data.gym.style=null", "sft.steps=20", "sft.batch_size=8", "sft.micro_batch_size=8",
        "sft.optim.lr=5e-3", "sft.optim.warmup_steps=0", "rl.steps=2", "rl.prompts_per_step=2", "rl.group_size=4",
        "sampling.max_new_tokens=6", "log.progress=false"])
    return train(cfg, out=tmp_path_factory.mktemp("runs") / "no-thinking")


def test_a_few_answer_only_sft_steps_give_completions_the_verifiers_read(no_thinking_run):
    from foveal.eval import evaluate
    from foveal.models import load_policy
    from foveal.rollout import Sampling, get_backend

    rows = read_jsonl(no_thinking_run / "train.jsonl")
    rl = [r for r in rows if r["stage"] == "rl"]
    assert len(rl) == 2 and all(0 < r["format_rate"] <= 1 for r in rl)  # the RL rewards read <answer>X</answer>
    samples = [gym.get("count").generate(seed, 1) for seed in range(8)]
    policy = load_policy(no_thinking_run / "sft", system_prompt=ANSWER_SYSTEM_PROMPT)
    backend = get_backend("hf", policy=policy)
    sampling = Sampling(temperature=0.0, max_new_tokens=6)
    answer = evaluate(backend, samples, sampling=sampling, progress=False, answer_format="answer")
    assert answer.metrics["overall"]["format_rate"] > 0.5
    read = [r["answers"][0] for r in answer.rows]
    assert sum(a is not None for a in read) > 4 and all(a is None or a.isdigit() for a in read)
    assert all(r["scores"][0] == float(r["answers"][0] == r["gold"]) for r in answer.rows)
    r1 = evaluate(backend, samples, sampling=sampling, progress=False)  # the same completions, read as R1
    assert r1.metrics["overall"]["format_rate"] == 0 and r1.metrics["overall"]["accuracy"] == 0


def test_eval_resume_refuses_another_answer_format(tmp_path):
    from foveal.eval.harness import check_resumable, evaluate, run_config
    from foveal.rollout import Sampling

    s = Sampling()
    (tmp_path / "config.json").write_text('{"k": 1, "twin": "image", "shuffles": 0, "sampling": null}')
    with pytest.raises(FovealError, match="answer_format: run has 'r1', now 'answer'"):  # older runs read r1
        check_resumable(tmp_path, {**run_config(1, s, "image", 0, None, answer_format="answer"), "sampling": None})
    with pytest.raises(FovealError, match="answer_format must be one of r1, answer, got 'raw'"):
        evaluate(None, [], sampling=s, answer_format="raw")


def test_answer_only_sft_recipe_trains_on_four_token_targets(tiny_dir, tmp_path, one_thread):
    """recipes/answer_only_sft.yaml for 2 steps: every target is <answer>, the digit(s), </answer>, eos."""
    import yaml

    from foveal.train import train

    cfg = load_config(ROOT / "recipes" / "answer_only_sft.yaml", overrides=[
        f"model.path={tiny_dir}", "data.gym.tasks=[count]", "data.gym.levels=[1]", "data.gym.query=null",
        "data.gym.phrasing=null", "data.gym.style=null", "sft.steps=2", "sft.batch_size=4",
        "sft.micro_batch_size=4", "log.progress=false"])
    run = train(cfg, out=tmp_path / "run")
    rows = read_jsonl(run / "train.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    assert all(4 * 4 <= r["tokens"] <= 4 * 5 for r in rows)  # count level 1 answers have 1 or 2 digits
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    assert recorded["answer_format"] == "answer" and recorded["sft"]["target"] == "answer"
    assert (run / "sft").is_dir()


@pytest.mark.parametrize(
    ("recipe", "fmt", "prompt"),
    [
        ({"model": {"system_prompt": None}}, "r1", None),  # the quickstart: no system prompt, format learned by SFT
        ({}, "r1", R1_SYSTEM_PROMPT),
        ({"answer_format": "answer"}, "answer", ANSWER_SYSTEM_PROMPT),
    ],
)
def test_eval_asks_a_trained_model_the_way_its_run_trained_it(tmp_path, recipe, fmt, prompt):
    from foveal.config import dump_config
    from foveal.eval.commands import eval_prompt

    cfg = config_from_dict({"model": {"path": "tiny", **recipe.get("model", {})}, "data": {"gym": {"tasks": ["count"]}},
                            "sft": {"steps": 1}, **{k: v for k, v in recipe.items() if k != "model"}})
    (tmp_path / "run" / "sft").mkdir(parents=True)
    (tmp_path / "run" / "config.yaml").write_text(dump_config(cfg))
    got = eval_prompt(str(tmp_path / "run" / "sft"), "auto", "hf")
    assert got[:2] == (fmt, prompt) and "as trained" in got[2]
    assert eval_prompt(str(tmp_path / "run" / "sft"), "answer", "hf")[:2] == ("answer", ANSWER_SYSTEM_PROMPT)  # explicit wins
    assert eval_prompt("tiny", "auto", "hf")[:2] == ("r1", R1_SYSTEM_PROMPT)  # not a foveal run: r1
    (tmp_path / "run" / "config.yaml").write_text("sft: {steps: -3}\n")
    with pytest.raises(FovealError, match="cannot read the training run"):
        eval_prompt(str(tmp_path / "run" / "sft"), "auto", "hf")
