"""Per-problem difficulty statistics from K sampled answers (pure functions).

For one problem with K completions, correctness c_i ∈ {0, 1} and rewards r_i (i = 1..K):

    pass_rate       = (1/K) Σ c_i                       ThinkLite-VL, Light-IF: difficulty by repeated inference
    n_correct       = Σ c_i
    first_correct   = min{i : c_i = 1}, or K + 1 if no c_i = 1
                      (how many samples it took to solve: a cheap stand-in for ThinkLite-VL's
                      MCTS iteration count, with "never" ranked hardest)
    reward_mean     = (1/K) Σ r_i
    reward_var      = (1/K) Σ (r_i − reward_mean)²      Temporal-R1: variance over repeated inference
    blind_pass_rate = the pass rate with every image blanked to a white image of the same size
    blind_solvable  = blind_pass_rate ≥ 0.5             RAP ("Truth in the Few"): answered from the language
                      prior, without looking (a majority of blind answers right)
    level           = the problem's difficulty level

A problem without images has nothing to blank: its blind statistics are its ordinary ones (it is
answerable without an image, by construction).
"""

from __future__ import annotations

from collections.abc import Sequence

BLIND_SOLVABLE_AT = 0.5
STAT_NAMES = ("pass_rate", "n_correct", "first_correct", "reward_mean", "reward_var", "blind_pass_rate",
              "blind_solvable", "level")
BLIND_STATS = ("blind_pass_rate", "blind_solvable")


def pass_stats(correct: Sequence[bool]) -> dict[str, float | int]:
    """pass_rate, n_correct and first_correct (1-based; K + 1 when none is correct) of K answers."""
    k = len(correct)
    if k == 0:
        raise ValueError("pass_stats: no answers")
    first = next((i + 1 for i, c in enumerate(correct) if c), k + 1)
    n = sum(bool(c) for c in correct)
    return {"pass_rate": n / k, "n_correct": n, "first_correct": first}


def reward_stats(rewards: Sequence[float]) -> dict[str, float]:
    """reward_mean and the population variance reward_var of K rewards."""
    k = len(rewards)
    if k == 0:
        raise ValueError("reward_stats: no rewards")
    mean = sum(rewards) / k
    return {"reward_mean": mean, "reward_var": sum((r - mean) ** 2 for r in rewards) / k}


def blind_stats(blind_correct: Sequence[bool]) -> dict[str, float | bool]:
    """blind_pass_rate and blind_solvable (blind_pass_rate >= 0.5) of K answers to the blanked problem."""
    rate = pass_stats(blind_correct)["pass_rate"]
    return {"blind_pass_rate": rate, "blind_solvable": rate >= BLIND_SOLVABLE_AT}
