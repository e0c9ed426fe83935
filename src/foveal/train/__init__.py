"""foveal.train: SFT and the GRPO family of RL algorithms.

    from foveal.train import train
    run_dir = train(load_config("recipes/grpo.yaml"), out="runs/grpo")

`algos` holds the algorithms as pure tensor functions, `sft` and `rl` the two stages, `run` the
driver (`train`), `checkpoint` resumable state, `data` the prompt stream. Imported lazily, so
`foveal --help` does not pay for torch.
"""

from __future__ import annotations


def train(config, out=None, resume=None):
    """See `foveal.train.run.train`."""
    from foveal.train.run import train as _train

    return _train(config, out=out, resume=resume)


__all__ = ["train"]
