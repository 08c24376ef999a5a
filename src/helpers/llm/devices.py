"""Where local models run and in which precision, chosen by detection.

The device is CUDA when torch sees a GPU, else the CPU; EXCEPTIONS_DEVICE
(`auto`, `cpu`, `cuda`) forces one. The dtype follows the device unless
EXCEPTIONS_DTYPE (`auto`, `fp32`, `bf16`, `fp16`) forces one: bf16 on a GPU that
computes it (fp16 on older ones), fp32 on a CPU (bf16 is emulated, and slower,
on CPUs without AVX-512 BF16 or AMX; and fp32 keeps the offline model's answers
what they have always been). Asking for a device that is not there is a
one-line error, never a silent fallback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from helpers.errors import UserError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "fp32", "bf16", "fp16")
DEVICE_ENV = "EXCEPTIONS_DEVICE"
DTYPE_ENV = "EXCEPTIONS_DTYPE"


@dataclass(frozen=True)
class Placement:
    device: str  # "cpu" or "cuda"
    dtype: str  # "fp32", "bf16" or "fp16"

    @property
    def torch_dtype(self):
        import torch

        return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.dtype]


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def cuda_bf16() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def _requested(env: str, allowed: tuple[str, ...], given: str | None) -> str:
    value = (given if given is not None else os.environ.get(env, "auto")).strip().lower() or "auto"
    if value not in allowed:
        source = env if given is None else "the device option"
        raise UserError(f"{source} is '{value}'; use one of {', '.join(allowed)}")
    return value


def placement(device: str | None = None, dtype: str | None = None) -> Placement:
    """The device and dtype local models use here (arguments win over the environment)."""
    chosen = _requested(DEVICE_ENV, DEVICES, device)
    if chosen == "auto":
        chosen = "cuda" if cuda_available() else "cpu"
    elif chosen == "cuda" and not cuda_available():
        raise UserError(f"{DEVICE_ENV}=cuda, but torch sees no CUDA GPU here; "
                        "unset it (or set cpu) to run on the CPU")
    precision = _requested(DTYPE_ENV, DTYPES, dtype)
    if precision == "auto":
        precision = ("bf16" if cuda_bf16() else "fp16") if chosen == "cuda" else "fp32"
    elif precision == "fp16" and chosen == "cpu":
        raise UserError(f"{DTYPE_ENV}=fp16 is for GPUs; on the CPU use fp32 or bf16")
    return Placement(chosen, precision)
