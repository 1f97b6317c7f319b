"""Runs the endpoint's jobs: messages to people, changes into each CRM, erasure confirmations.

A confirmation of erasure is signed only when it becomes due: once no CRM adapter
still has to delete the customer, so it can say what each of them did.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

import anyio
import anyio.to_thread
from sqlalchemy import Engine

from vrm.protocol import Identity
from vrm.transport.background import Rounds
from vrm.transport.backoff import Backoff
from vrm.transport.delivery import DeliveryError, Sender
from vrm.vendor import jobs
from vrm.vendor.adapters.base import Adapter, AdapterError, CustomerChange
from vrm.vendor.data_rights import Confirmation, erasure_confirmation

log = logging.getLogger(__name__)


class JobWorker(Rounds):
    """Runs due jobs concurrently, each queue in order per customer, until cancelled.

    Args:
        engine: the endpoint's database.
        sender: posts answers to people's inboxes.
        adapters: the CRM adapters by name.
        identity: the vendor's identity, which signs erasure confirmations when they
            become due (the other messages are signed when queued).
    """

    what = "a round of jobs"

    def __init__(
        self,
        engine: Engine,
        sender: Sender,
        adapters: Mapping[str, Adapter],
        *,
        backoff: Backoff | None = None,
        concurrency: int = 256,
        batch: int = 2000,
        poll_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        identity: Identity | None = None,
    ) -> None:
        super().__init__(poll_interval=poll_interval)
        self.engine = engine
        self.identity = identity
        self.sender = sender
        self.adapters = dict(adapters)
        self.backoff = backoff or Backoff()
        self.batch = batch
        self.clock = clock
        self._gate = asyncio.Semaphore(concurrency)

    async def run_once(self) -> int:
        """Run every job due now; return how many were tried."""
        due = await anyio.to_thread.run_sync(self._due)
        if not due:
            return 0
        outcomes = await asyncio.gather(*(self._run(job) for job in due))
        await anyio.to_thread.run_sync(self._record, outcomes)
        return len(due)

    async def next_wait(self) -> float:
        """Until the next retry comes due, or the poll interval."""
        next_at = await anyio.to_thread.run_sync(self._next_due_at)
        if next_at is None:
            return self.poll_interval
        return min(self.poll_interval, max(0.0, next_at - self.clock()))

    async def _run(self, job: jobs.Job) -> jobs.JobOutcome:
        async with self._gate:
            try:
                if job.queue == jobs.MESSAGE_QUEUE:
                    await self.sender.deliver(
                        job.payload["inbox"],
                        job.payload["token"],
                        encrypted=job.payload.get("encrypted", False),
                    )
                elif job.queue == jobs.ERASURE_QUEUE:
                    return await self._confirm_erasure(job)
                else:
                    adapter = self.adapters.get(job.queue.removeprefix(jobs.ADAPTER_PREFIX))
                    if adapter is None:
                        return jobs.JobOutcome(
                            job.id, done=False, retryable=False, error=f"no adapter for {job.queue}"
                        )
                    await adapter.deliver(CustomerChange.from_json(job.payload))
            except DeliveryError as exc:
                return jobs.JobOutcome(
                    job.id, False, exc.retryable, str(exc), retry_after=exc.retry_after
                )
            except AdapterError as exc:
                return jobs.JobOutcome(job.id, False, exc.retryable, str(exc))
            except Exception as exc:  # an adapter's own bug: logged, retried later
                log.exception("job %s on %s failed", job.id, job.queue)
                return jobs.JobOutcome(job.id, False, True, f"{exc.__class__.__name__}: {exc}")
            return jobs.JobOutcome(job.id, done=True)

    async def _confirm_erasure(self, job: jobs.Job) -> jobs.JobOutcome:
        """Send the person ``data.erased``, or wait while an adapter still has to delete."""
        if self.identity is None:
            return jobs.JobOutcome(job.id, False, False, "no identity to sign the confirmation")
        confirmation = await anyio.to_thread.run_sync(
            self._erasure_confirmation, job, self.identity
        )
        if confirmation.token is None:
            waiting = "waiting for the adapters to delete the customer"
            return jobs.JobOutcome(job.id, done=False, error=waiting, wait=confirmation.wait)
        await self.sender.deliver(job.payload["inbox"], confirmation.token)
        return jobs.JobOutcome(job.id, done=True)

    def _erasure_confirmation(self, job: jobs.Job, identity: Identity) -> Confirmation:
        with self.engine.begin() as connection:
            return erasure_confirmation(connection, job, identity=identity, now=self.clock())

    def _due(self) -> list[jobs.Job]:
        with self.engine.begin() as connection:
            return jobs.due_jobs(connection, now=self.clock(), limit=self.batch)

    def _record(self, outcomes: list[jobs.JobOutcome]) -> None:
        with self.engine.begin() as connection:
            jobs.record_outcomes(connection, outcomes, backoff=self.backoff, now=self.clock())

    def _next_due_at(self) -> float | None:
        with self.engine.begin() as connection:
            return jobs.next_due_at(connection)
