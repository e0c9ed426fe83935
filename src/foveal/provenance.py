"""What a run records about the software that produced it: package versions and git revision.

    provenance()  ->  {"versions": {"python": "3.11.9", "foveal": ..., "torch": ...}, "git_rev": "ab12..." | None}

Training (`meta.json`) and evaluation (`config.json`) both write this, so any result can be
traced to the code and libraries behind it.
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("foveal", "torch", "transformers", "accelerate", "peft", "trl", "vllm", "openai")


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Python's version and each installed package's (packages not installed are left out)."""
    out = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_rev() -> str | None:
    """The git revision of the foveal source tree this runs from, if it is a checkout."""
    try:
        r = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def provenance() -> dict:
    """{"versions": versions(), "git_rev": git_rev()}: what a run writes beside its outputs."""
    return {"versions": versions(), "git_rev": git_rev()}
