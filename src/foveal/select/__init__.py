"""foveal.select: offline difficulty selection of a dataset with a model (`foveal select`).

    from foveal.select import Keep, STAT_NAMES, select
    result = select(backend, samples, "runs/sel", k=8, keep=Keep.parse("0.1 <= pass_rate <= 0.7", STAT_NAMES))

Modules: `stats` (the per-problem statistics, pure), `keep` (the safe `--keep` rule language),
`run` (the resumable measuring loop and the filtered dataset), `commands` (the CLI).
"""

from foveal.select.keep import Keep
from foveal.select.run import DEFAULT_REWARDS, SelectResult, select
from foveal.select.stats import STAT_NAMES

__all__ = ["DEFAULT_REWARDS", "STAT_NAMES", "Keep", "SelectResult", "select"]
