"""What the run ran on: versions, machine, device, command line."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from importlib import metadata

import torch

PACKAGES = ("torch", "transformers", "tokenizers", "numpy", "pandas", "matplotlib")


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def resolve_device(requested: str) -> str:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is an error."""
    from harness.errors import HarnessInputError
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise HarnessInputError("--device cuda: no CUDA device is available here (torch "
                                f"{torch.__version__}); use --device cpu or auto")
    if requested not in ("cpu", "cuda"):
        raise HarnessInputError(f"--device {requested!r}: expected auto, cpu or cuda")
    return requested


def cpu_model() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what platform reports."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def describe_environment(device: str) -> dict:
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "packages": package_versions(),
        "device": device,
    }
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in [os.path.basename(sys.executable), *sys.argv])
