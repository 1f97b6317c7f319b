"""The sweeper of health records whose grant ended: it deletes them without being asked.

A doctor's endpoint must delete a presentation when its ``valid_until`` passes, whether
or not the person withdraws it (docs/protocol.md 7.10.2). :class:`HealthSweeper` sleeps
until the next grant ends (or its poll interval, or a new presentation wakes it), then
has :meth:`vrm.vendor.health.HealthPresentations.sweep` delete and confirm what ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio.to_thread

from vrm.transport.background import Rounds

if TYPE_CHECKING:
    from vrm.vendor.health import HealthPresentations


class HealthSweeper(Rounds):
    """Deletes presentations whose grant ended, waking when the next one ends.

    Run :meth:`run` beside the job worker (``create_vendor_app`` does).
    """

    what = "a sweep of health records whose grant ended"

    def __init__(
        self,
        presentations: HealthPresentations,
        *,
        on_queued: Callable[[], None] | None,
        poll_interval: float,
    ) -> None:
        super().__init__(poll_interval=poll_interval)
        self.presentations = presentations
        self.on_queued = on_queued

    async def run_once(self) -> int:
        """Delete what ended; wake the job worker to send the confirmations."""
        deleted = await anyio.to_thread.run_sync(self.presentations.sweep)
        if deleted and self.on_queued is not None:
            self.on_queued()
        return deleted

    async def next_wait(self) -> float:
        """Until the next grant ends (at most the poll interval)."""
        ends = await anyio.to_thread.run_sync(self.presentations.next_end)
        if ends is None:
            return self.poll_interval
        return min(self.poll_interval, max(0.0, ends - self.presentations.clock()))
