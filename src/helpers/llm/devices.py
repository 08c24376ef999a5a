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

import contextlib
import os
from collections.abc import Iterator
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


def _requested(env: str, flag: str, allowed: tuple[str, ...], given: str | None) -> tuple[str, str]:
    """(the value asked for, how the user asked: `--device cuda` or `EXCEPTIONS_DEVICE=cuda`)."""
    raw = given if given is not None else os.environ.get(env, "auto")
    value = raw.strip().lower() or "auto"
    source = f"{flag} {value}" if given is not None else f"{env}={value}"
    if value not in allowed:
        raise UserError(f"{source}: use one of {', '.join(allowed)}")
    return value, source


def placement(device: str | None = None, dtype: str | None = None) -> Placement:
    """The device and dtype local models use here (arguments win over the environment)."""
    chosen, asked = _requested(DEVICE_ENV, "--device", DEVICES, device)
    if chosen == "auto":
        chosen = "cuda" if cuda_available() else "cpu"
    elif chosen == "cuda" and not cuda_available():
        raise UserError(f"{asked}, but torch sees no CUDA GPU here; use cpu (or auto) to run on the CPU")
    precision, asked = _requested(DTYPE_ENV, "--dtype", DTYPES, dtype)
    if precision == "auto":
        precision = ("bf16" if cuda_bf16() else "fp16") if chosen == "cuda" else "fp32"
    elif precision == "fp16" and chosen == "cpu":
        raise UserError(f"{asked} is for GPUs; on the CPU use fp32 or bf16")
    elif precision == "bf16" and chosen == "cuda" and not cuda_bf16():
        raise UserError(f"{asked}, but this GPU does not compute bf16; use fp16 (or auto)")
    return Placement(chosen, precision)


@contextlib.contextmanager
def chosen(device: str | None = None, dtype: str | None = None) -> Iterator[Placement]:
    """Within the block, local models load on this device and dtype (the command line's
    --device and --dtype). They are checked at once (one-line errors) and set as
    EXCEPTIONS_DEVICE / EXCEPTIONS_DTYPE, so that everything that asks placement(),
    cache identities included, and any child process, agree; the environment is
    restored afterwards."""
    found = placement(device, dtype)
    saved = {env: os.environ.get(env) for env in (DEVICE_ENV, DTYPE_ENV)}
    try:
        if device is not None:
            os.environ[DEVICE_ENV] = device
        if dtype is not None:
            os.environ[DTYPE_ENV] = dtype
        yield found
    finally:
        for env, value in saved.items():
            if value is None:
                os.environ.pop(env, None)
            else:
                os.environ[env] = value
