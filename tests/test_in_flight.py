"""The runner's posts in flight: how many more may start, and when the runner is woken."""

import asyncio

from generation.claims import PostTask
from generation.in_flight import InFlight
from generation.store import PostOutcome

# Waits below have no timeout of their own: only being woken ends them. This guard turns a
# missing wake-up into a failure instead of a hang.
HANG_GUARD = 60


def post(post_id: int, *, near_cost_cap: bool = False) -> PostTask:
    return PostTask(
        post_id=post_id,
        batch_id=1,
        campaign_id=1,
        platform="x",
        sequence=post_id,
        pending_work="batch",
        attempt=1,
        caption="",
        hashtags=[],
        headline="",
        image_prompt="",
        image_name="",
        thumbnail_name="",
        near_cost_cap=near_cost_cap,
    )


def test_a_post_whose_requests_are_over_hands_its_place_to_the_next():
    async def scenario():
        in_flight = InFlight(2)
        release = asyncio.Event()
        tasks = [post(1), post(2), post(3, near_cost_cap=True)]

        async def generate(task: PostTask) -> PostOutcome:
            await release.wait()
            return PostOutcome(task=task, succeeded=True)

        in_flight.start(generate(tasks[0]))
        in_flight.start(generate(tasks[1]))
        rooms = [in_flight.room]  # both places taken
        in_flight.requests_over(tasks[0])
        rooms.append(in_flight.room)  # post 1 only fits and stores its image now
        woken = await asyncio.wait_for(in_flight.wait(timeout=None), HANG_GUARD)  # handing over woke the runner
        in_flight.start(generate(tasks[2]))
        in_flight.requests_over(tasks[2])  # a post of a batch near its cap never hands over
        rooms.append(in_flight.room)
        in_flight.requesting_again(tasks[0])  # post 1's image arrived broken: it asks again
        rooms.append(in_flight.room)
        release.set()
        ended = []
        while in_flight:
            ended += await asyncio.wait_for(in_flight.wait(timeout=None), HANG_GUARD)
        return rooms, woken, sorted(outcome.task.post_id for outcome in ended), in_flight.room

    rooms, woken, ended, room_after = asyncio.run(scenario())
    assert rooms == [0, 1, 0, 0]
    assert woken == []
    assert ended == [1, 2, 3]
    assert room_after == 2


def test_no_more_posts_hand_over_than_the_concurrency():
    async def scenario():
        in_flight = InFlight(2)
        never = asyncio.Event()

        async def generate(task: PostTask) -> PostOutcome:
            await never.wait()
            return PostOutcome(task=task, succeeded=True)

        tasks = [post(n) for n in range(1, 5)]
        for task in tasks:
            in_flight.start(generate(task))
        for task in tasks:
            in_flight.requests_over(task)
        room = in_flight.room  # 4 in flight, 2 handed over: 2 count, no room
        abandoned = await in_flight.abandon()
        return room, abandoned, len(in_flight), in_flight.room

    assert asyncio.run(scenario()) == (0, [], 0, 2)


def test_wake_up_ends_a_wait_at_once():
    async def scenario():
        in_flight = InFlight(1)

        async def generate() -> PostOutcome:
            await asyncio.sleep(3600)
            raise AssertionError("never reached")

        in_flight.start(generate())
        asyncio.get_running_loop().call_soon(in_flight.wake_up)
        outcomes = await asyncio.wait_for(in_flight.wait(timeout=None), HANG_GUARD)
        in_flight.cancel()
        return outcomes

    assert asyncio.run(scenario()) == []
