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
