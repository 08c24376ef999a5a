"""What the workspace measures with a loaded local model: P(yes)/P(no) of the
first answer token, and sampled answers; one prompt at a time or many at once
(local_batch.py), in batches as large as the device's memory allows
(local_memory.py). Loading (which weights, which device) is local_model.py's job.

A batch of one is what the model always did: one forward pass for a score, and
for an answer the same tokens as transformers' `generate` after
`torch.manual_seed(seed)`. In a batch each answer still draws from its own
generator seeded with its own seed, so it is the same answer whatever else is in
the batch (up to float rounding in the logits, which moves a token only where two
are within about 1e-6 of a tie).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from helpers.llm import local_batch, local_memory, local_meter


class LocalModel:
    """A loaded local model with the two measurements the workspace needs."""

    def __init__(self, name: str, model, tokenizer, weights_sha256: str, *, placement=None):
        import torch

        self.name = name
        self.placement = placement  # devices.Placement the model was loaded with (None: not said)
        self.model = model
        self.tokenizer = tokenizer
        self.weights_sha256 = weights_sha256
        self._torch = torch
        # One batch at a time through the model: a second would only fight for the same cores.
        self._lock = threading.Lock()
        vocab = self.tokenizer.batch_decode([[i] for i in range(len(self.tokenizer))])
        words = [v.strip().lower() for v in vocab]
        self.yes_ids = [i for i, w in enumerate(words) if w == "yes"]
        self.no_ids = [i for i, w in enumerate(words) if w == "no"]
        self.stop = _stop_ids(model, tokenizer)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self.stop, default=0)
        self._runner = local_batch.Runner(model, pad)
        self._shape = local_memory.Shape.of(model)
        self.cap = local_memory.cap_for(self._runner.device)  # lowered for good after an out-of-memory

    @property
    def device(self):
        return self._runner.device

    def encode(self, messages: list[dict[str, str]]) -> list[int]:
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                 return_dict=True)["input_ids"]
        return list(ids)

    def rows_per_batch(self, prompt_tokens: int, new_tokens: int, free: int | None = None) -> int:
        """How many rows of this size one batch takes here (free: the bytes free on the
        model's device; None reads them now)."""
        free = local_memory.free_bytes(self.device) if free is None else free
        return local_memory.rows_that_fit(self._shape.row_bytes(prompt_tokens, new_tokens), free, self.cap)

    def yes_no(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """P(yes) and P(no) of the answer's first token, summed over casings/spacings.
        The whole vocabulary is read, so no token is left unlisted (p_unlisted = 0):
        unlike an endpoint's top-k logprobs, there is nothing to bound."""
        return self.yes_no_many([messages])[0]

    def yes_no_many(self, prompts: Sequence[list[dict[str, str]]], *, share: bool = True,
                    max_rows: int | None = None) -> list[dict[str, Any]]:
        """yes_no of each prompt, in order, many per forward pass (share: compute the
        beginning prompts share once; max_rows: at most this many per batch)."""
        seqs = [self.encode(m) for m in prompts]

        def run(rows: Sequence[int]) -> list[dict[str, Any]]:
            part = [seqs[i] for i in rows]
            started = time.perf_counter()
            with self._lock:
                probs = local_batch.last_logits(self._runner, part, share).softmax(-1)
            p_yes, p_no = probs[:, self.yes_ids].sum(-1).tolist(), probs[:, self.no_ids].sum(-1).tolist()
            local_meter.record(self.name, self.device, rows=len(rows), seconds=time.perf_counter() - started,
                               prompt_tokens=sum(map(len, part)), scored=len(rows))
            return [{"p_yes": y, "p_no": n, "p_unlisted": 0.0, "prompt_tokens": len(s), "completion_tokens": 0}
                    for y, n, s in zip(p_yes, p_no, part)]

        return self._in_batches(seqs, 0, run, share, max_rows)

    def generate(self, messages: list[dict[str, str]], *, temperature: float,
                 max_tokens: int, seed: int, top_p: float = 1.0, top_k: int = 0) -> dict[str, Any]:
        """One sampled answer; the seed makes a given sample reproducible.
        Temperature 0 is greedy decoding."""
        return self.generate_many([messages], [seed], temperature=temperature, max_tokens=max_tokens,
                                  top_p=top_p, top_k=top_k)[0]

    def generate_many(self, prompts: Sequence[list[dict[str, str]]], seeds: Sequence[int], *,
                      temperature: float, max_tokens: int, top_p: float = 1.0, top_k: int = 0,
                      share: bool = True, max_rows: int | None = None) -> list[dict[str, Any]]:
        """One answer per prompt, prompt i sampled with seeds[i], decoded together."""
        if len(seeds) != len(prompts):
            raise ValueError("generate_many needs one seed per prompt")
        seqs = [self.encode(m) for m in prompts]
        sampling = local_batch.Sampling(temperature, top_p, top_k)

        def run(rows: Sequence[int]) -> list[dict[str, Any]]:
            part = [seqs[i] for i in rows]
            started = time.perf_counter()
            with self._lock:
                new = local_batch.generate(self._runner, part, [seeds[i] for i in rows], max_tokens=max_tokens,
                                           sampling=sampling, stop=self.stop, share=share)
            local_meter.record(self.name, self.device, rows=len(rows), seconds=time.perf_counter() - started,
                               prompt_tokens=sum(map(len, part)), new_tokens=sum(map(len, new)),
                               answers=len(rows))
            return [{"text": self.tokenizer.decode(ids, skip_special_tokens=True).strip(),
                     "prompt_tokens": len(s), "completion_tokens": len(ids)} for ids, s in zip(new, part)]

        return self._in_batches(seqs, max_tokens, run, share, max_rows)

    def _in_batches(self, seqs: list[list[int]], new_tokens: int, run, share: bool,
                    max_rows: int | None) -> list[dict[str, Any]]:
        """run() over batches that fit in memory, prompts that share a beginning kept
        together; a batch that runs out of memory is halved (and so are later ones)."""
        if not seqs:
            return []
        order = [row for group in local_batch.plan(seqs, share) for row in group.rows]
        size = self.rows_per_batch(max(map(len, seqs)), new_tokens)
        if max_rows is not None:
            size = max(1, min(size, max_rows))
        results: list[dict[str, Any] | None] = [None] * len(seqs)

        def lower(half: int) -> None:
            self.cap = min(self.cap, half)

        start = 0
        while start < len(order):
            rows = order[start:start + size]
            for row, result in zip(rows, local_memory.halving(run, rows, lower)):
                results[row] = result
            start += len(rows)
            size = min(size, self.cap)
        return results


def _stop_ids(model, tokenizer) -> set[int]:
    """The tokens that end an answer: the model's generation config's (what
    `generate` stops at), else the tokenizer's end of sequence."""
    config = getattr(model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return set()
    return {int(e) for e in eos} if isinstance(eos, (list, tuple)) else {int(eos)}
