"""foveal.rollout: generation backends behind one protocol (see `foveal.rollout.base`).

    from foveal.rollout import Sampling, get_backend
    backend = get_backend("hf", policy=policy, batch_size=32)
    groups = backend.generate(samples, n=8, sampling=Sampling(temperature=1.0, max_new_tokens=64))

Backends: "hf" (transformers generate, in-process), "openai" (any OpenAI-compatible server),
"vllm" (optional extra, GPU). Each is imported only when asked for.
"""

from __future__ import annotations

from typing import Any

from foveal.errors import FovealError
from foveal.registry import Registry
from foveal.rollout.base import Backend, Completion, Group, Sampling

BACKENDS = Registry("rollout backend", reserved=("policy",))
BACKENDS.register_lazy("hf", "foveal.rollout.hf:HFBackend", "transformers generate, in-process")
BACKENDS.register_lazy("openai", "foveal.rollout.openai:OpenAIBackend", "any OpenAI-compatible server")
BACKENDS.register_lazy("vllm", "foveal.rollout.vllm:VLLMBackend", "a vLLM engine (optional extra, GPU)")


def get_backend(name: str, **kwargs: Any) -> Backend:
    """The backend called `name`, constructed with `kwargs` (e.g. hf: policy=, batch_size=)."""
    module = BACKENDS.entry(name).target
    module = module.partition(":")[0] if isinstance(module, str) else module.__module__
    try:
        cls = BACKENDS.get(name)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise FovealError(
                f"rollout backend {name!r} is not available in this foveal installation"
            ) from None
        raise FovealError(
            f"rollout backend {name!r} needs the package {e.name!r}: pip install 'foveal[{name}]'"
        ) from None
    return cls(**kwargs)


__all__ = ["BACKENDS", "Backend", "Completion", "Group", "Sampling", "get_backend"]
