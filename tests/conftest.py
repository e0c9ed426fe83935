"""Shared fixtures."""

import os

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run: a suite that can fail by chance would block
# every submission. Explore new examples locally with `HYPOTHESIS_PROFILE=explore pytest`.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from intra-op threads, and lose a lot when cores are shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small tiny VLM (2 text layers, 1 vision block) saved to a directory: random weights, so its
    answers are junk and its plumbing real."""
    import torch

    from foveal.models import build_tiny_vlm

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("model") / "tiny"
    build_tiny_vlm(out, seed=0, text_layers=2, vision_depth=1)
    return out


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A smaller tiny VLM (1 text layer 64 wide, 1 vision block 32 wide) saved to a directory, seed 0:
    the model the training tests (SFT, RL, pref, multi-process) run a few steps of."""
    from foveal.models import build_tiny_vlm

    out = tmp_path_factory.mktemp("models") / "tiny"
    build_tiny_vlm(out, seed=0, text_layers=1, text_hidden=64, text_heads=2, text_intermediate=128, vision_depth=1, vision_embed=32)
    return out


@pytest.fixture
def tiny_family(monkeypatch):
    """A registered gym family with 12 problems per level (the hour on a 12-hour clock, stated in
    words), for tests of what small problem spaces do; removed from the registry afterwards."""
    import random

    from foveal import tasks
    from foveal.tasks.base import Task

    class Tiny(Task):
        """Name the hour. Level knobs: none."""

        name = "tiny"
        forms = ("image", "text")
        levels = {1: {}, 2: {}, 3: {}, 4: {}, 5: {}}

        def make(self, rng: random.Random, cfg, seed: int, level: int):
            from foveal.tasks import draw as D

            h = rng.randint(1, 12)
            q = f"The hour is {h}. Which hour is it? Answer with a number."
            return self.sample(seed, level, prompt=self.image_prompt(q), images=(self.picture(D.canvas, 8),),
                               answer=str(h), answer_type="number", text_twin=q, solution=f"The answer is {h}.")

    monkeypatch.setitem(tasks.TASKS, "tiny", Tiny())
    return tasks.TASKS["tiny"]
