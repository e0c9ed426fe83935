"""foveal's R1 reward for verl: `reward.custom_reward_function.path=recipes/verl/foveal_reward.py`.

verl calls `compute_score(data_source, solution_str, ground_truth, extra_info)` per response; the rows
written by `foveal gen --format verl` carry the answer type and choices in `extra_info`.
"""

from foveal.rewards import accuracy, format_reward, to_verl

_accuracy, _format = to_verl(accuracy), to_verl(format_reward)


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """accuracy (1 if the <answer> verifies against the gold, else 0) + 0.5 x format (R1 layout)."""
    args = (data_source, solution_str, ground_truth, extra_info)
    return _accuracy(*args) + 0.5 * _format(*args)
