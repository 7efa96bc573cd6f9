"""The posts a runner is working on, and how many more it may start."""

import asyncio
from collections.abc import Coroutine
from typing import Any

from generation.claims import PostTask
from generation.store import PostOutcome


class InFlight:
    """The runner's posts in flight: asyncio tasks that each end with a PostOutcome.

    A post counts against `concurrency` (the provider requests a worker may have in flight)
    from its start until its provider requests are over. Then only local work is left (fit and
    store its image), and `requests_over` lets it hand its place to the next post, whose
    requests go out while that CPU work runs: posts that finish together no longer hold the
    provider idle. At most `concurrency` posts may have handed over at once, so that a provider
    faster than our CPU meets back-pressure instead of piling up claimed posts; a post of a
    batch near its cost cap never hands over, as that batch must not start posts before the ones
    it has paid for are counted.

    `wait` returns when a post ends, when one hands its place over, or when `wake_up` is called.
    """

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._tasks: set[asyncio.Task[PostOutcome]] = set()
        self._handed_over: set[int] = set()  # post ids
        self._woken = asyncio.Event()

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def room(self) -> int:
        """How many more posts may start now (never below 0)."""
        return max(self.concurrency - (len(self._tasks) - len(self._handed_over)), 0)

    def start(self, post: Coroutine[Any, Any, PostOutcome]) -> None:
        self._tasks.add(asyncio.create_task(post))

    def requests_over(self, task: PostTask) -> None:
        """The post's provider requests are over: it hands its place to the next post, if it may."""
        if not task.near_cost_cap and len(self._handed_over) < self.concurrency:
            self._handed_over.add(task.post_id)
            self._woken.set()

    def requesting_again(self, task: PostTask) -> None:
        """The post must ask the provider again (its image arrived broken): it counts against
        `concurrency` again, one over it for a moment if its place was taken."""
        self._handed_over.discard(task.post_id)

    def wake_up(self) -> None:
        """End the current (or next) `wait` at once."""
        self._woken.set()

    async def wait(self, timeout: float | None) -> list[PostOutcome]:
        """Wait until a post ends, one hands its place over, `wake_up` or `timeout` seconds;
        the outcomes of the posts that ended, which leave the set."""
        woken = asyncio.ensure_future(self._woken.wait())
        done, _ = await asyncio.wait({*self._tasks, woken}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        woken.cancel()
        self._woken.clear()
        outcomes: list[PostOutcome] = []
        for ended in self._tasks & done:
            self._tasks.discard(ended)
            outcome = ended.result()
            self._handed_over.discard(outcome.task.post_id)
            outcomes.append(outcome)
        return outcomes

    async def abandon(self) -> list[PostOutcome]:
        """Cancel every post; the outcomes of any that ended meanwhile are kept."""
        tasks, self._tasks = self._tasks, set()
        self._handed_over.clear()
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return [result for result in results if isinstance(result, PostOutcome)]

    def cancel(self) -> None:
        """Cancel every post without waiting for them (the run is failing)."""
        for task in self._tasks:
            task.cancel()
