"""foveal: a workbench for R1-style reasoning in vision-language models.

Generate verifiable visual problems (each with a text twin), score answers with exact
verifiers, post-train with SFT and GRPO-family RL, and measure what changed.
"""

from foveal.errors import FovealError
from foveal.sample import ANSWER_TYPES, FORMS, Sample

__version__ = "0.1.0"
__all__ = ["ANSWER_TYPES", "FORMS", "FovealError", "Sample", "__version__"]
