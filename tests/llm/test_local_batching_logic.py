"""The parts of batched local inference that need no model: which prompts share a
prefix, how many rows fit in memory, halving after an out-of-memory, and the
collector that turns concurrent calls into batches."""

import asyncio

import pytest
import torch

from helpers.llm import local_batch, local_memory, local_meter
from helpers.llm.local_collector import Collector


def test_prompts_sharing_a_beginning_are_grouped_and_keep_a_token_of_their_own():
    scenario_a = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] * 4 + [20 + i, 99] for i in range(3)]
    scenario_b = [[1, 2, 50, 51, 52, 53, 54, 55] * 6 + [30 + i] for i in range(2)]
    same = [[7, 7, 7, 8, 9] * 10] * 4  # the samples of one prompt
    seqs = scenario_a + scenario_b + same
    groups = local_batch.plan(seqs)
    assert sorted(r for g in groups for r in g.rows) == list(range(len(seqs))), "every prompt exactly once"
    by_rows = {frozenset(g.rows): g.shared for g in groups}
    assert by_rows[frozenset({0, 1, 2})] == 48
    assert by_rows[frozenset({3, 4})] == 48
    assert by_rows[frozenset({5, 6, 7, 8})] == 49, "identical prompts share all but their last token"


def test_a_lone_prompt_or_no_sharing_is_one_plain_pass():
    assert local_batch.plan([[1, 2, 3]]) == [local_batch.Group((0,), 0)]
    seqs = [[1, 2, 3, 4] * 10, [1, 2, 3, 4] * 10 + [5]]
    assert local_batch.plan(seqs, share=False) == [local_batch.Group((0, 1), 0)]
    # Prompts with nothing in common are not forced into one group.
    apart = [[1] * 40, [2] * 40, [3] * 40]
    assert all(g.shared == 0 for g in local_batch.plan(apart))


def test_a_short_common_prefix_is_not_worth_a_pass_of_its_own():
    seqs = [[1, 2] + [10 + i] * 30 for i in range(3)]
    assert local_batch.plan(seqs) == [local_batch.Group((0, 1, 2), 0)]


SMALL = local_memory.Shape(layers=30, kv_heads=3, head_dim=64, heads=9, hidden=576, intermediate=1536,
                           vocab=49152, dtype_bytes=4)


def test_rows_per_batch_follow_the_memory_there_is():
    per_row = SMALL.row_bytes(100, 48)
    assert SMALL.row_bytes(100, 256) > per_row > SMALL.row_bytes(50, 0)
    # Half of what is free is used.
    assert local_memory.rows_that_fit(per_row, 10 * per_row, cap=64) == 5
    assert local_memory.rows_that_fit(per_row, per_row // 10, cap=64) == 1, "always at least one row"
    assert local_memory.rows_that_fit(per_row, 10**15, cap=64) == 64, "never past the cap"
    bf16 = local_memory.Shape(**{**SMALL.__dict__, "dtype_bytes": 2})
    assert bf16.row_bytes(100, 48) < per_row


def test_the_memory_budget_is_read_on_the_models_device(monkeypatch):
    assert local_memory.free_bytes("cpu") > 0
    assert local_memory.cap_for("cpu") == local_memory.CAP["cpu"]
    assert local_memory.cap_for("cuda") == local_memory.CAP["cuda"]
    # A GPU's free memory comes from torch (the third-party boundary), not from the host's.
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (3 << 30, 8 << 30))
    assert local_memory.free_bytes("cuda") == 3 << 30
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 123 << 20)
    assert local_meter.peak_bytes("cuda:0") == 123 << 20


def test_out_of_memory_halves_the_batch_and_keeps_the_order():
    sizes, halved = [], []

    def run(items):
        sizes.append(len(items))
        if len(items) > 3:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123 bytes")
        return [x * 10 for x in items]

    assert local_memory.halving(run, list(range(10)), halved.append) == [x * 10 for x in range(10)]
    # Halved until it fits; the rest then goes at the size that worked.
    assert sizes == [10, 5, 3, 3, 3, 1] and halved == [5, 3]


def test_only_allocation_failures_are_halved():
    def broken(items):
        raise ValueError("a bug, not memory")

    with pytest.raises(ValueError, match="a bug"):
        local_memory.halving(broken, [1, 2, 3])

    def never_fits(items):
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(torch.OutOfMemoryError):
        local_memory.halving(never_fits, [1, 2])
    assert local_memory.is_out_of_memory(MemoryError())
    assert not local_memory.is_out_of_memory(RuntimeError("shape mismatch"))


def _collect(work, most=8):
    return Collector(work, most=most, fail=lambda exc, size: RuntimeError(f"batch of {size} failed: {exc}"))


def test_concurrent_calls_become_batches_and_each_gets_its_own_result():
    batches = []

    def work(key, payloads):
        batches.append((key, list(payloads)))
        return [f"{key}:{p}" for p in payloads]

    collector = _collect(work, most=8)

    async def main():
        calls = [collector.submit("a" if i % 3 else "b", i) for i in range(20)]
        return await asyncio.gather(*calls)

    results = asyncio.run(main())
    assert results == [f"{'a' if i % 3 else 'b'}:{i}" for i in range(20)]
    assert all(len(p) <= 8 for _, p in batches)
    assert len(batches) < 20 and max(len(p) for _, p in batches) == 8
    assert all(all(("a" if i % 3 else "b") == key for i in p) for key, p in batches), "one kind per batch"


def test_a_failing_batch_fails_only_its_own_calls():
    def work(key, payloads):
        if key == "bad":
            raise RuntimeError("the model broke")
        return list(payloads)

    collector = _collect(work)

    async def main():
        calls = [collector.submit("bad" if i < 3 else "good", i) for i in range(7)]
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(main())
    assert [str(r) for r in results[:3]] == ["batch of 3 failed: the model broke"] * 3
    assert results[3:] == [3, 4, 5, 6]


def test_a_batch_returning_the_wrong_count_fails_instead_of_mismatching():
    collector = _collect(lambda key, payloads: list(payloads)[:-1])

    async def main():
        return await asyncio.gather(*(collector.submit("k", i) for i in range(4)), return_exceptions=True)

    assert all(isinstance(r, RuntimeError) and "returned 3 results" in str(r) for r in asyncio.run(main()))


def test_a_cancelled_call_is_left_out_and_the_collector_works_on_a_new_loop():
    seen = []

    def work(key, payloads):
        seen.extend(payloads)
        return list(payloads)

    collector = _collect(work)

    async def main():
        gone = asyncio.ensure_future(collector.submit("k", "gone"))
        await asyncio.sleep(0)
        gone.cancel()
        return await asyncio.gather(collector.submit("k", 1), collector.submit("k", 2))

    assert asyncio.run(main()) == [1, 2] and "gone" not in seen

    async def again():
        return await collector.submit("k", 3)

    assert asyncio.run(again()) == 3
