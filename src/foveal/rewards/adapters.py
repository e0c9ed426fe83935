"""Adapters: foveal reward functions inside TRL's GRPOTrainer and verl's reward manager.

A foveal reward function scores `(completions, samples)`. The trainers call rewards
with their own signatures and give the gold answer through dataset columns, so each
adapter rebuilds, per completion, a minimal `Sample` carrying what rewards read:
`answer`, `answer_type`, `choices` (and `id`, `task`, `level`, `meta` when present).

TRL (`GRPOTrainer(reward_funcs=[to_trl(accuracy)])`) calls

    reward_func(prompts=..., completions=..., completion_ids=..., **dataset_columns)

with completions as strings, or in conversational form as lists of messages
(`[{"role": "assistant", "content": "..."}]`, content possibly a list of typed parts).
The dataset needs an `answer` column and an `answer_type` column (or pass
`answer_type=` to `to_trl`); a `choices` column is used when present. Token counts of
the completions (`completion_ids`) reach rewards that take `lengths`.

verl (`custom_reward_function.path/name` in its config) calls

    compute_score(data_source, solution_str, ground_truth, extra_info=None) -> float

with `ground_truth` from the row's `reward_model.ground_truth` and `extra_info` from
its `extra_info` column; `extra_info["answer_type"]` (default: `answer_type=` given to
`to_verl`, else "math") and `extra_info["choices"]` are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from foveal.rewards.functions import RewardFn, call_reward
from foveal.sample import Sample

_TRL_CONTEXT = {"trainer_state", "log_extra", "log_metric", "environments"}


def completion_text(completion: Any) -> str:
    """The text of a completion: a string as is; a conversation's last assistant message.

    Message content may be a string or a list of parts (`{"type": "text", "text": ...}`);
    text parts are joined. Anything else gives "".
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence) and completion:
        messages = [m for m in completion if isinstance(m, Mapping)]
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"]
        chosen = assistant or messages
        return _content_text(chosen[-1].get("content")) if chosen else ""
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type", "text") == "text"
        )
    return ""


def target_sample(
    answer: Any,
    answer_type: str,
    *,
    choices: Sequence[str] | None = None,
    id: str = "external",
    task: str = "external",
    level: int = 0,
    meta: Mapping[str, Any] | None = None,
) -> Sample:
    """A text-only `Sample` holding just a gold answer, for scoring outside foveal's own loop."""
    return Sample(
        id=str(id),
        task=str(task),
        level=int(level or 0),
        seed=0,
        prompt="",
        images=(),
        answer=answer if isinstance(answer, str) else _answer_text(answer),
        answer_type=str(answer_type),
        choices=tuple(str(c) for c in choices) if choices else None,
        meta=dict(meta or {}),
    )


def _answer_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(r, (list, tuple)) for r in value):
            return "\n".join(" ".join(str(c) for c in r) for r in value)
        return " ".join(str(v) for v in value)
    return str(value)


def to_trl(fn: RewardFn, *, answer_type: str | None = None, answer_column: str = "answer") -> RewardFn:
    """`fn` as a TRL reward function `(prompts, completions, completion_ids=None, **columns)`.

    Reads the gold from the `answer_column` column and the type from the `answer_type`
    column (or the fixed `answer_type` given here). The returned function keeps
    `fn.__name__`, which TRL uses to log the reward.
    """

    def reward_func(prompts=None, completions=None, completion_ids=None, **columns) -> list[float]:
        if completions is None:
            raise ValueError("TRL reward function called without completions")
        n = len(completions)
        columns = {k: v for k, v in columns.items() if k not in _TRL_CONTEXT}
        if answer_column not in columns:
            raise ValueError(
                f"to_trl({getattr(fn, '__name__', fn)!r}): the dataset has no {answer_column!r} column "
                f"(columns: {sorted(columns)}); foveal datasets carry 'answer' and 'answer_type'"
            )
        if answer_type is None and "answer_type" not in columns:
            raise ValueError(
                f"to_trl({getattr(fn, '__name__', fn)!r}): the dataset has no 'answer_type' column "
                f"(columns: {sorted(columns)}); add one or call to_trl(fn, answer_type=...)"
            )

        def col(name: str, i: int, default: Any = None) -> Any:
            values = columns.get(name)
            return values[i] if values is not None and i < len(values) else default

        samples = [
            target_sample(
                col(answer_column, i),
                answer_type or col("answer_type", i),
                choices=col("choices", i),
                id=col("id", i, f"trl/{i}"),
                task=col("task", i, "external"),
                level=col("level", i, 0),
                meta=col("meta", i) if isinstance(col("meta", i), Mapping) else None,
            )
            for i in range(n)
        ]
        texts = [completion_text(c) for c in completions]
        lengths = [len(ids) for ids in completion_ids] if completion_ids is not None else None
        return call_reward(fn, texts, samples, lengths=lengths)

    reward_func.__name__ = getattr(fn, "__name__", "foveal_reward")
    reward_func.__qualname__ = reward_func.__name__
    reward_func.__doc__ = f"TRL adapter of foveal reward {reward_func.__name__!r}."
    return reward_func


def to_verl(fn: RewardFn, *, answer_type: str = "math"):
    """`fn` as verl's `compute_score(data_source, solution_str, ground_truth, extra_info=None) -> float`.

    The answer type is `extra_info["answer_type"]` when present, else `answer_type`.
    Extra keyword arguments verl may pass are accepted and ignored.
    """

    def compute_score(data_source, solution_str, ground_truth, extra_info=None, **_: Any) -> float:
        info = extra_info if isinstance(extra_info, Mapping) else {}
        sample = target_sample(
            ground_truth,
            info.get("answer_type") or answer_type,
            choices=info.get("choices"),
            id=info.get("id", f"{data_source}/verl"),
            task=info.get("task", data_source or "external"),
            level=info.get("level", 0),
        )
        return call_reward(fn, [completion_text(solution_str)], [sample])[0]

    compute_score.__name__ = "compute_score"
    compute_score.__doc__ = f"verl compute_score for foveal reward {getattr(fn, '__name__', fn)!r}."
    return compute_score
