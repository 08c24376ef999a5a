"""How many rows a local model's batch may hold: an estimate of each row's memory
against what the model's device has free, with a cap; and halving a batch that
ran out of memory anyway.

A row holds its keys and values for every layer (prompt + answer tokens, in the
model's dtype) and, while it is computed, one layer's activations, its
attention scores (float32, prompt x context, in case the attention kernel
materialises them) and its float32 next-token logits with their softmax. Half of
what is free is used; the rest is left to the allocator's slack, the other
processes and the estimate's errors. On the CPU "free" is MemAvailable
(/proc/meminfo); on a GPU, torch.cuda.mem_get_info of the model's device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

SHARE = 0.5  # of free memory one batch may take
# The most rows per batch: on a CPU throughput stops growing well before memory
# runs out (measured in bench/bench_local_batch.py); a GPU keeps gaining longer.
CAP = {"cpu": 64, "cuda": 256}
DEFAULT_CAP = 64

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Shape:
    """What a row's memory depends on, read from the model's config."""

    layers: int
    kv_heads: int
    head_dim: int
    heads: int
    hidden: int
    intermediate: int
    vocab: int
    dtype_bytes: int

    @classmethod
    def of(cls, model) -> Shape:
        config = model.config
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        heads = getattr(text, "num_attention_heads", 1)
        hidden = getattr(text, "hidden_size", 0)
        head_dim = getattr(text, "head_dim", None) or hidden // max(heads, 1)
        dtype = next(model.parameters()).dtype
        return cls(layers=text.num_hidden_layers, kv_heads=getattr(text, "num_key_value_heads", None) or heads,
                   head_dim=head_dim, heads=heads, hidden=hidden,
                   intermediate=getattr(text, "intermediate_size", None) or 4 * hidden,
                   vocab=text.vocab_size, dtype_bytes=dtype.itemsize)

    def row_bytes(self, prompt_tokens: int, new_tokens: int) -> int:
        """The most memory one row needs at once (prompt_tokens: computed in one
        pass; new_tokens: decoded after it)."""
        context = prompt_tokens + new_tokens
        kv = 2 * self.layers * self.kv_heads * self.head_dim * context * self.dtype_bytes
        activations = prompt_tokens * (4 * self.hidden + 3 * self.intermediate) * self.dtype_bytes
        scores = self.heads * prompt_tokens * context * 4
        logits = 3 * self.vocab * 4
        return kv + activations + scores + logits


def free_bytes(device) -> int:
    """Memory free for new tensors on the model's device."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return _mem_available()


def _mem_available() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    try:  # not Linux: the physical memory, for lack of a better figure
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def rows_that_fit(per_row: int, free: int, cap: int) -> int:
    """Rows per batch: as many as SHARE of the free memory holds, at least one, at most cap."""
    if per_row <= 0:
        return cap
    return max(1, min(cap, math.floor(free * SHARE / per_row)))


def cap_for(device) -> int:
    import torch

    return CAP.get(torch.device(device).type, DEFAULT_CAP)


def is_out_of_memory(exc: BaseException) -> bool:
    """An allocation failure (torch.OutOfMemoryError on a GPU; on the CPU a
    RuntimeError from the allocator, or Python's MemoryError)."""
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        if isinstance(exc, torch.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):
        pass
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                              or "not enough memory" in text)


def halving(run: Callable[[Sequence[T]], list[R]], items: Sequence[T],
            on_halve: Callable[[int], None] = lambda size: None) -> list[R]:
    """run() over all items, in order; a batch that runs out of memory is halved and
    retried, and the rest goes at the size that worked. on_halve(size) hears each
    smaller size, so later calls can start there. One item that does not fit
    raises the allocation error; any other error is raised as it is."""
    out: list[R] = []
    size, start = len(items), 0
    while start < len(items):
        chunk = items[start:start + size]
        try:
            out.extend(run(chunk))
        except Exception as exc:  # noqa: BLE001 - only allocation failures are handled; others re-raised
            if not is_out_of_memory(exc) or len(chunk) <= 1:
                raise
        else:
            start += len(chunk)
            continue
        _release()  # outside the except block, so the failed batch's tensors are freed first
        size = (len(chunk) + 1) // 2
        on_halve(size)
    return out


def _release() -> None:
    """Give cached GPU blocks back after a failed allocation, so the halves can use them."""
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
