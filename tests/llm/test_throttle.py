"""The concurrency search: it climbs where throughput grows with concurrency and
comes down where it does not (a one-slot server), fed measured throughputs."""

import asyncio

import pytest

from helpers.llm.throttle import ADAPTIVE_MAX, ADAPTIVE_START, SERVER_MOST, Climber, Throttle


def settle(climber: Climber, throughput_at) -> list[int]:
    levels = [climber.level]
    for _ in range(20):
        if climber.settled:
            break
        levels.append(climber.measured(throughput_at(climber.level)))
    assert climber.settled, levels
    return levels


def test_a_one_slot_server_gets_one_request_at_a_time():
    levels = settle(Climber(), lambda level: 1.0)  # the same answers per second at any level
    assert levels[0] == ADAPTIVE_START and levels[-1] == 1


def test_a_server_that_scales_gets_the_most():
    levels = settle(Climber(), lambda level: float(level))
    assert levels == [4, 8, 16, 16]


def test_it_stops_where_gains_stop():
    levels = settle(Climber(), lambda level: float(min(level, 8)))  # eight slots
    assert levels[-1] == 8


def test_a_server_that_degrades_under_load_comes_down():
    # Throughput falls with concurrency beyond 2 (thrashing).
    levels = settle(Climber(), lambda level: {1: 1.0, 2: 1.8, 4: 1.5, 8: 1.0, 16: 0.5}[level])
    assert levels[-1] == 2


def test_a_server_climbs_to_what_its_batches_hold_and_no_further():
    # vLLM with --max-num-seqs 256: more in flight only wait in its queue.
    levels = settle(Climber(most=SERVER_MOST), lambda level: float(min(level, 256)))
    assert levels == [4, 8, 16, 32, 64, 128, 256, 512, 256]


def test_a_server_that_always_scales_gets_the_ceiling():
    levels = settle(Climber(most=SERVER_MOST), lambda level: float(level))
    assert levels[-2:] == [SERVER_MOST, SERVER_MOST] and max(levels) == SERVER_MOST


@pytest.mark.parametrize("most", [1, 2, 4])
def test_small_caps_are_kept(most):
    levels = settle(Climber(most=most), lambda level: float(level))
    assert max(levels) <= most and levels[-1] == most


def peak_in_flight(throttle: Throttle, calls: int, answer: bool) -> int:
    """The most calls inside the throttle at once; answer: report each as answered."""
    async def run() -> int:
        peak = 0

        async def one() -> None:
            nonlocal peak
            async with throttle:
                peak = max(peak, throttle.in_flight)
                await asyncio.sleep(0.02)
                if answer:
                    throttle.answered()

        await asyncio.gather(*(one() for _ in range(calls)))
        return peak

    return asyncio.run(run())


def test_a_fixed_limit_is_never_exceeded():
    assert peak_in_flight(Throttle(fixed=3), 20, answer=True) == 3


def test_adaptive_starts_at_the_start_level():
    # Never answered: no window completes, so the level stays where it starts.
    assert peak_in_flight(Throttle(fixed=None), 10, answer=False) == ADAPTIVE_START <= ADAPTIVE_MAX


def test_places_go_first_come_first_served_and_a_cancelled_wait_frees_nothing_twice():
    async def run() -> tuple[list[int], int]:
        throttle = Throttle(fixed=2)
        order: list[int] = []

        async def one(i: int, hold: float) -> None:
            async with throttle:
                order.append(i)
                await asyncio.sleep(hold)

        first = [asyncio.create_task(one(i, 0.05)) for i in range(2)]
        await asyncio.sleep(0)
        doomed = asyncio.create_task(one(99, 0))  # waits, then is cancelled while waiting
        rest = [asyncio.create_task(one(i, 0.01)) for i in range(2, 6)]
        await asyncio.sleep(0.01)
        doomed.cancel()
        await asyncio.gather(*first, *rest)
        late = asyncio.create_task(one(6, 0))  # the queue holds only a cancelled turn: it must not wait
        await asyncio.wait_for(late, 1)
        return order, throttle.in_flight

    order, left = asyncio.run(run())
    assert order == [0, 1, 2, 3, 4, 5, 6] and left == 0



def test_a_call_cancelled_just_after_its_turn_came_gives_the_place_back():
    async def run() -> int:
        throttle = Throttle(fixed=1)
        await throttle.__aenter__()
        waiting = asyncio.create_task(throttle.__aenter__())
        await asyncio.sleep(0)  # it waits for the one place
        await throttle.__aexit__(None, None, None)  # the place is handed to it...
        waiting.cancel()  # ...and it is cancelled before it could use it
        await asyncio.gather(waiting, return_exceptions=True)
        return throttle.in_flight

    assert asyncio.run(run()) == 0
