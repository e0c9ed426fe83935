"""Verification of K sampled answers: by the gold answer, or by a majority-vote pseudo-label (pure).

For one problem with K completions and extracted answers a_1..a_K (None where a completion states
no answer), the answers are clustered by equivalence (`foveal.eval.metrics.answer_clusters`) and

    C*        = the largest cluster (ties: the one that appeared first)
    agreement = |C*| / K                          (unanswered completions count in K)
    label     = a_{min C*}   if agreement >= min_agreement, else none (the problem is left out)
    correct_i = [i ∈ C*]     when there is a label, else 0 for every i

(MC-CoT's self-consistency, Video-STaR's and OpenVLThinker's "keep what verifies" with the vote
standing in for the missing gold answer). With a gold answer g, correct_i = verify(a_i, g).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from foveal.eval.metrics import answer_clusters


@dataclass(frozen=True)
class Vote:
    """The outcome of voting on one problem's K answers."""

    label: str | None  # the pseudo-label, None when agreement < min_agreement (or nothing was answered)
    agreement: float  # |largest cluster| / K
    correct: tuple[bool, ...]  # completion i voted with the label


def majority_vote_label(answers: Sequence[str | None], min_agreement: float,
                        same: Callable[[str, str], bool] | None = None) -> Vote:
    """The pseudo-label of K answers by majority vote, kept only at `agreement >= min_agreement`.

    `same(a, b)` says two answers are equivalent (default: equal after strip and lower-case).
    ValueError for no answers or `min_agreement` outside [0, 1].
    """
    if not answers:
        raise ValueError("majority_vote_label: no answers")
    if not 0.0 <= min_agreement <= 1.0:
        raise ValueError(f"min_agreement must be in [0, 1], got {min_agreement}")
    clusters = answer_clusters(answers, same)
    if not clusters:
        return Vote(None, 0.0, (False,) * len(answers))
    top = max(clusters, key=len)  # max keeps the first of equal-length clusters
    agreement = len(top) / len(answers)
    if agreement < min_agreement:
        return Vote(None, agreement, (False,) * len(answers))
    members = set(top)
    return Vote(answers[top[0]], agreement, tuple(i in members for i in range(len(answers))))
