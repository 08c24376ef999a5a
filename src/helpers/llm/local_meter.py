"""What local models did in this process: tokens through each model, the time
its batches took, and the most memory seen, for a run's summary line and the
benches. Counts only grow; a run reports the difference between two readings
(`snapshot()` before, `lines(since=...)` after)."""

from __future__ import annotations

import resource
import sys
import threading
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Reading:
    scored: int = 0  # prompts scored (yes/no)
    answers: int = 0  # answers generated
    prompt_tokens: int = 0  # prompt tokens through the model (each prompt's full length)
    new_tokens: int = 0  # tokens generated
    seconds: float = 0.0  # time inside the model's batches
    batches: int = 0
    largest: int = 0  # most rows in one batch
    peak_bytes: int = 0  # the most memory seen: GPU allocated, or the process's peak RSS on the CPU
    device: str = "cpu"

    def minus(self, before: Reading | None) -> Reading:
        if before is None:
            return self
        return replace(self, scored=self.scored - before.scored, answers=self.answers - before.answers,
                       prompt_tokens=self.prompt_tokens - before.prompt_tokens,
                       new_tokens=self.new_tokens - before.new_tokens, seconds=self.seconds - before.seconds,
                       batches=self.batches - before.batches)

    @property
    def tokens_per_second(self) -> float:
        return (self.prompt_tokens + self.new_tokens) / self.seconds if self.seconds > 0 else 0.0

    @property
    def new_tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


_lock = threading.Lock()
_readings: dict[str, Reading] = {}


def peak_bytes(device) -> int:
    """The most memory this process has held on the model's device so far."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)  # bytes on macOS, KiB on Linux


def record(name: str, device, *, rows: int, seconds: float, prompt_tokens: int, new_tokens: int = 0,
           scored: int = 0, answers: int = 0) -> None:
    peak = peak_bytes(device)
    with _lock:
        old = _readings.get(name, Reading())
        _readings[name] = Reading(scored=old.scored + scored, answers=old.answers + answers,
                                  prompt_tokens=old.prompt_tokens + prompt_tokens,
                                  new_tokens=old.new_tokens + new_tokens, seconds=old.seconds + seconds,
                                  batches=old.batches + 1, largest=max(old.largest, rows),
                                  peak_bytes=max(old.peak_bytes, peak), device=str(device))


def snapshot() -> dict[str, Reading]:
    with _lock:
        return dict(_readings)


def since(before: dict[str, Reading]) -> dict[str, Reading]:
    """Each local model's work since `before` (models that did none are left out)."""
    return {name: now.minus(before.get(name)) for name, now in snapshot().items()
            if now.batches > before.get(name, Reading()).batches}


def describe(name: str, r: Reading) -> str:
    """One line for a run's summary (it must not start with the model's name, which
    opens the rows of the run's table)."""
    parts = []
    if r.scored:
        parts.append(f"{r.scored} prompts scored")
    if r.answers:
        parts.append(f"{r.answers} answers generated ({r.new_tokens} tokens, {r.new_tokens_per_second:.1f} "
                     "new tokens/s)")
    memory = "peak GPU memory" if r.device.startswith("cuda") else "peak memory (process RSS)"
    return (f"speed of local/{name}: {', '.join(parts)}; {r.prompt_tokens + r.new_tokens} tokens in {r.seconds:.1f} s "
            f"({r.tokens_per_second:.0f} tokens/s) in {r.batches} batch{'es' if r.batches != 1 else ''} of up to "
            f"{r.largest}; {memory} {r.peak_bytes / 2**20:.0f} MiB on {r.device}")


def lines(before: dict[str, Reading]) -> list[str]:
    return [describe(name, r) for name, r in since(before).items()]
