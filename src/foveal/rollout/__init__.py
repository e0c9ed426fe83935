"""foveal.rollout: generation backends behind one protocol (see `foveal.rollout.base`).

    from foveal.rollout import Sampling, get_backend
    backend = get_backend("hf", policy=policy, batch_size=32)
    groups = backend.generate(samples, n=8, sampling=Sampling(temperature=1.0, max_new_tokens=64))

Backends: "hf" (transformers generate, in-process), "openai" (any OpenAI-compatible server),
"vllm" (optional extra, GPU). Each is imported only when asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from foveal.errors import FovealError
from foveal.rollout.base import Backend, Completion, Group, Sampling

BACKENDS = {
    "hf": ("foveal.rollout.hf", "HFBackend"),
    "openai": ("foveal.rollout.openai", "OpenAIBackend"),
    "vllm": ("foveal.rollout.vllm", "VLLMBackend"),
}


def get_backend(name: str, **kwargs: Any) -> Backend:
    """The backend called `name`, constructed with `kwargs` (e.g. hf: policy=, batch_size=)."""
    if name not in BACKENDS:
        raise FovealError(f"unknown rollout backend {name!r} (known: {', '.join(BACKENDS)})")
    module, cls = BACKENDS[name]
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise FovealError(
                f"rollout backend {name!r} is not available in this foveal installation"
            ) from None
        raise FovealError(
            f"rollout backend {name!r} needs the package {e.name!r}: pip install 'foveal[{name}]'"
        ) from None
    return getattr(mod, cls)(**kwargs)


__all__ = ["BACKENDS", "Backend", "Completion", "Group", "Sampling", "get_backend"]
