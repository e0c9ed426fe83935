"""foveal.models: policies (a model + its processor + chat formatting) for training, rollout and eval.

    from foveal.models import load_policy, build_tiny_vlm
    policy = load_policy("tiny")             # the embedded tiny Qwen2-VL
    policy = load_policy("smollm2-135m")     # a real pretrained small LM, from a PyPI wheel
    policy = load_policy("path/to/model", lora={"r": 16})

Heavy libraries (torch, transformers) are imported only when these functions run.
"""

from foveal.models.load import apply_lora, load_policy, smollm2_dir
from foveal.models.policy import Policy, completion_mask
from foveal.models.tiny import TinySize, build_tiny_vlm

__all__ = [
    "Policy",
    "TinySize",
    "apply_lora",
    "build_tiny_vlm",
    "completion_mask",
    "load_policy",
    "smollm2_dir",
]
