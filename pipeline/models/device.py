"""Where models run: ``device: auto | cpu | cuda | cuda:N`` and the precision that goes with it.

- ``auto``: the first CUDA device when ``torch.cuda.is_available()``, else the CPU;
- ``cpu``: the CPU, also on a machine with a GPU;
- ``cuda`` / ``cuda:N``: that GPU; a clear error where there is none (or no N-th one).

Precision (``bf16: auto | on | off``, see :func:`autocast_dtype`): on CUDA, bf16 autocast where the
GPU supports it (Ampere and later), else fp16 autocast; on the CPU, bf16 autocast only where the CPU
has native bf16 (AMX / AVX512-BF16), fp32 elsewhere. :func:`describe` gives what runs report.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.errors import ModelError

DEVICE_SETTING = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
DEVICE_HELP = "auto (CUDA when available, else CPU), cpu, cuda or cuda:N"


def check_device_setting(setting: str) -> str:
    """The setting itself, or a ValueError saying what is allowed (for config validators)."""
    if not DEVICE_SETTING.match(setting):
        raise ValueError(f"device must be {DEVICE_HELP}, found {setting!r}")
    return setting


def resolve_device(setting: str = "auto") -> str:
    """The torch device string a setting means on this machine (``cpu`` or ``cuda:N``)."""
    check_device_setting(setting)
    if setting == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if setting == "auto":
        return "cuda:0" if available else "cpu"
    index = int(setting.partition(":")[2] or 0)
    if not available:
        raise ModelError(
            f"device {setting!r}: no CUDA device on this machine (torch {torch.__version__}); "
            "use device: auto or cpu"
        )
    count = torch.cuda.device_count()
    if index >= count:
        raise ModelError(f"device {setting!r}: this machine has {count} CUDA device(s), numbered from 0")
    return f"cuda:{index}"


def place_classifier(classifier: Any, device: str) -> Any:
    """Move a classifier's networks to a resolved device (an ensemble's members too); returns it.

    A baseline (scikit-learn) classifier has nothing to move and stays as it is.
    """
    if hasattr(classifier, "to_device"):
        classifier.to_device(device)
    for member in getattr(classifier, "members", []):
        place_classifier(member, device)
    return classifier


def autocast_dtype(setting: str, device: str) -> Any | None:
    """The autocast dtype for a ``bf16`` setting (auto / on / off) on a resolved device; None: fp32."""
    import torch

    from pipeline.models.classifier import cpu_supports_bf16

    if setting == "off":
        return None
    if device.startswith("cuda"):
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16 if setting == "auto" else torch.bfloat16
    if setting == "on" or cpu_supports_bf16():
        return torch.bfloat16
    return None


def precision_name(dtype: Any | None) -> str:
    """``bf16``, ``fp16`` or ``fp32``."""
    import torch

    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32")


def device_name(device: str) -> str:
    """The GPU's name (``NVIDIA H200``) or the CPU's capability (``cpu AVX512``)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu {torch.backends.cpu.get_cpu_capability()}"


def describe(device: str, dtype: Any | None) -> dict[str, str]:
    """What runs log about where they ran: device, its name, precision."""
    return {"device": device, "device_name": device_name(device), "precision": precision_name(dtype)}
