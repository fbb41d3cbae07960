"""The ``--precision`` run setting: fp32, or bf16 autocast for the forward pass with the loss
computed in fp32 (as AMP recipes do: reductions over a batch keep their precision)."""

from __future__ import annotations

import contextlib

import torch

from harness.schema import PRECISIONS


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")


def to_fp32(outputs: dict) -> dict:
    """Floating outputs back to fp32 before the loss; masks and indices untouched."""
    return {k: v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
            for k, v in outputs.items()}
