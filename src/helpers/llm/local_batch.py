"""Many prompts through a causal language model at once: their last-position
logits in one pass, and answers decoded together, each row drawing from its own
random generator.

Layout. Prompts that begin alike (the buckets of one scenario, the samples of
one bucket, the chains of one bucket) form a group whose common beginning is
computed once and its keys and values copied to every row; each row then adds
its own tokens, left-padded to the longest in the group:

    [shared prefix][padding][the row's own tokens]

The padding is masked out and the position ids skip it, so a row's values are
those of its prompt alone up to floating-point rounding (the matrix shapes
differ; about 1e-6 in fp32). A group of one is one plain forward pass over the
prompt, exactly what transformers' `generate` does. For decoding, the groups'
caches are left-padded to one length and stacked, and finished rows are dropped.

Sampling follows transformers' `generate` for one sequence: float32 logits,
temperature / top-k / top-p warpers (transformers' own classes, applied only
when they change something, as `generate` does), softmax, then
`torch.multinomial` on the row's probabilities with the row's own
`torch.Generator` seeded with the answer's seed. With one row this is the same
random stream as `torch.manual_seed(seed)` followed by `generate`, so answers
cached before batching existed are what a batch of one makes again.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

# A forward pass's fixed cost (Python over every layer, kernel launches), in
# prompt tokens of work: a group is split only where that saves more than it costs.
FORWARD_COST = 16


@dataclass(frozen=True)
class Group:
    rows: tuple[int, ...]  # positions in the caller's list of prompts
    shared: int  # leading tokens computed once for all rows (0: none)


@dataclass(frozen=True)
class Sampling:
    temperature: float  # 0: greedy
    top_p: float = 1.0
    top_k: int = 0  # 0: no top-k cut


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def plan(seqs: Sequence[Sequence[int]], share: bool = True) -> list[Group]:
    """Groups of prompts that share a beginning, chosen to make the least work:
    a group costs its shared prefix once plus (rows x its longest own part);
    splitting it where its common beginning is shortest pays when each part
    shares enough more. Every row keeps at least one token of its own (whose
    logits are the answer). share=False: one group, plain left padding."""
    if not seqs:
        return []
    if not share:
        return [Group(tuple(range(len(seqs))), 0)]
    order = sorted(range(len(seqs)), key=lambda i: list(seqs[i]))
    adjacent = [_common(seqs[order[k]], seqs[order[k + 1]]) for k in range(len(order) - 1)]
    return _best(seqs, order, adjacent, 0, len(order))[1]


def _cost(lengths: list[int], shared: int) -> int:
    prefix = FORWARD_COST + shared if shared else 0
    return prefix + FORWARD_COST + len(lengths) * (max(lengths) - shared)


def _best(seqs, order, adjacent, lo: int, hi: int) -> tuple[int, list[Group]]:
    members = order[lo:hi]
    lengths = [len(seqs[i]) for i in members]
    if hi - lo == 1:
        return _cost(lengths, 0), [Group((members[0],), 0)]
    common = min(adjacent[lo:hi - 1])  # sorted: the group's common prefix is its weakest link
    shared = max(0, min(common, min(lengths) - 1))
    whole = min((_cost(lengths, shared), [Group(tuple(members), shared)]),
                (_cost(lengths, 0), [Group(tuple(members), 0)]), key=lambda option: option[0])
    bounds = [lo, *(k + 1 for k in range(lo, hi - 1) if adjacent[k] == common), hi]
    total, parts = 0, []
    for a, b in zip(bounds, bounds[1:]):
        cost, groups = _best(seqs, order, adjacent, a, b)
        total += cost
        parts += groups
    return whole if whole[0] <= total else (total, parts)


class Runner:
    """Forward passes of one model with the layout above."""

    def __init__(self, model, pad_id: int):
        import torch

        self.torch = torch
        self.model = model
        self.pad_id = pad_id
        self.device = model.device
        params = inspect.signature(model.forward).parameters
        # transformers 5 renamed the cache argument (past_key_values -> cache).
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
        # Only the last position's logits are read: computing the others would cost a
        # vocabulary-sized product per prompt token (models without the option compute all).
        self.last_only = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        self.can_share = self._plain_cache()

    def _new_cache(self):
        from transformers import DynamicCache

        try:
            return DynamicCache(config=self.model.config)
        except TypeError:  # older transformers: layers made on first use
            return DynamicCache()

    def _plain_cache(self) -> bool:
        """Sharing copies and pads cached keys and values, which is only sound for
        plain full-attention layers (not sliding windows or recurrent state)."""
        try:
            from transformers.cache_utils import DynamicLayer
        except ImportError:
            return False
        layers = getattr(self._new_cache(), "layers", None)
        return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)

    def _forward(self, ids, mask, positions, cache):
        kwargs = {self.cache_arg: cache} if cache is not None else {}
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                         use_cache=cache is not None, **self.last_only, **kwargs)
        return out.logits[:, -1].to(dtype=self.torch.float32)

    def prefill(self, seqs: Sequence[Sequence[int]], group: Group, keep_cache: bool) -> State:
        """The group's rows through the model: their last logits, and (keep_cache)
        the state to decode from."""
        torch = self.torch
        rows = [seqs[i] for i in group.rows]
        shared = group.shared
        cache = self._new_cache() if (keep_cache or shared) else None
        if shared:
            prefix = torch.tensor([list(rows[0][:shared])], device=self.device)
            self._forward(prefix, torch.ones_like(prefix), torch.arange(shared, device=self.device)[None], cache)
            if len(rows) > 1:
                cache.batch_repeat_interleave(len(rows))
        own = [list(r[shared:]) for r in rows]
        width = max(len(o) for o in own)
        ids = torch.tensor([[self.pad_id] * (width - len(o)) + o for o in own], device=self.device)
        mask = torch.tensor([[1] * shared + [0] * (width - len(o)) + [1] * len(o) for o in own], device=self.device)
        # Each token's position counts only the real tokens before it; padding repeats
        # the position before it (it is masked out, so its value does not matter).
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, shared:]
        logits = self._forward(ids, mask, positions, cache)
        return State(self, cache if keep_cache else None, mask, positions[:, -1] + 1, list(group.rows), logits)


@dataclass
class State:
    """Rows being decoded: their cache, attention mask, next positions, which of
    the caller's prompts each row is, and the logits of their next token."""

    runner: Runner
    cache: object
    mask: object
    next_pos: object
    rows: list[int]
    logits: object

    @classmethod
    def stack(cls, states: list[State]) -> State:
        """One state from several (left-padding caches and masks to one length)."""
        if len(states) == 1:
            return states[0]
        runner = states[0].runner
        torch = runner.torch
        width = max(s.mask.shape[1] for s in states)

        def pad(t, dim: int):  # zeros on the left of the sequence dimension
            missing = width - t.shape[dim]
            if not missing:
                return t
            shape = list(t.shape)
            shape[dim] = missing
            return torch.cat([t.new_zeros(shape), t], dim=dim)

        cache = states[0].cache
        for i, layer in enumerate(cache.layers):
            layer.keys = torch.cat([pad(s.cache.layers[i].keys, -2) for s in states])
            layer.values = torch.cat([pad(s.cache.layers[i].values, -2) for s in states])
        return cls(runner, cache, torch.cat([pad(s.mask, -1) for s in states]),
                   torch.cat([s.next_pos for s in states]), [r for s in states for r in s.rows],
                   torch.cat([s.logits for s in states]))

    def keep(self, alive: list[int]) -> None:
        """Drop every row but these (indices into the current rows)."""
        index = self.runner.torch.tensor(alive, device=self.mask.device)
        self.cache.batch_select_indices(index)
        self.mask, self.next_pos = self.mask[index], self.next_pos[index]
        self.rows = [self.rows[i] for i in alive]

    def step(self, tokens) -> None:
        """Feed one token per row; the logits become those of the token after it."""
        torch = self.runner.torch
        self.mask = torch.cat([self.mask, self.mask.new_ones(self.mask.shape[0], 1)], dim=1)
        self.logits = self.runner._forward(tokens[:, None], self.mask, self.next_pos[:, None], self.cache)
        self.next_pos = self.next_pos + 1


def last_logits(runner: Runner, seqs: Sequence[Sequence[int]], share: bool = True):
    """float32 logits of the token after each prompt, [len(seqs), vocab], in order."""
    torch = runner.torch
    out = [None] * len(seqs)
    with torch.no_grad():
        for group in plan(seqs, share and runner.can_share):
            state = runner.prefill(seqs, group, keep_cache=False)
            for row, logits in zip(state.rows, state.logits):
                out[row] = logits
    return torch.stack(out)


def _warpers(sampling: Sampling):
    """transformers' own warpers, only those that change the distribution (as
    `generate` adds them: temperature != 1, top_k != 0, top_p < 1)."""
    from transformers.generation.logits_process import (TemperatureLogitsWarper, TopKLogitsWarper,
                                                        TopPLogitsWarper)

    chosen = []
    if sampling.temperature != 1.0:
        chosen.append(TemperatureLogitsWarper(sampling.temperature))
    if sampling.top_k:
        chosen.append(TopKLogitsWarper(sampling.top_k))
    if sampling.top_p < 1.0:
        chosen.append(TopPLogitsWarper(sampling.top_p))
    return chosen


def generate(runner: Runner, seqs: Sequence[Sequence[int]], seeds: Sequence[int], *, max_tokens: int,
             sampling: Sampling, stop: set[int], share: bool = True) -> list[list[int]]:
    """The new tokens of each prompt's answer (its stop token included, as
    `generate` returns it), at most max_tokens each; row i draws from a
    generator seeded with seeds[i] and from nothing else."""
    torch = runner.torch
    out: list[list[int]] = [[] for _ in seqs]
    if max_tokens < 1 or not seqs:
        return out
    greedy = sampling.temperature == 0
    # Drawing a token costs one random number per vocabulary entry per row, serially
    # inside torch: rows are drawn on parallel threads (each from its own generator).
    threads = 1 if greedy else min(len(seqs), torch.get_num_threads())
    with torch.no_grad(), ThreadPoolExecutor(threads) as pool:
        groups = plan(seqs, share and runner.can_share)
        state = State.stack([runner.prefill(seqs, g, keep_cache=True) for g in groups])
        warpers = [] if greedy else _warpers(sampling)
        generators = {row: torch.Generator(device=runner.device).manual_seed(int(seeds[row]))
                      for row in range(len(seqs))}
        while True:
            scores = state.logits
            if greedy:
                tokens = scores.argmax(-1)
            else:
                for warp in warpers:
                    scores = warp(None, scores)
                probs = scores.softmax(-1)

                def draw(i: int, probs=probs):
                    return torch.multinomial(probs[i:i + 1], 1, generator=generators[state.rows[i]])[0]

                tokens = torch.cat(list(pool.map(draw, range(len(state.rows)))))
            alive = []
            for i, (row, token) in enumerate(zip(state.rows, tokens.tolist())):
                out[row].append(token)
                if token not in stop and len(out[row]) < max_tokens:
                    alive.append(i)
            if not alive:
                return out
            if len(alive) < len(state.rows):
                state.keep(alive)
                tokens = tokens[torch.tensor(alive, device=tokens.device)]
            state.step(tokens)
