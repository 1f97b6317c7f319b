"""EmanciPay's one "pay" action: the month paid through the provider, then payees told.

:meth:`PaymentsDesk.pay` runs the ledger (:mod:`vrm.agent.payments.ledger`) and then
:meth:`PaymentsDesk.send_notices`: every paid payment whose payee has an endpoint
gets a signed ``payment.notice`` with the person's terms, through the outbox (which
retries it like every message). The first notice to a payee finds its DID in its
discovery document and pins it; a payee that cannot be reached yet is tried again
by the next ``send_notices`` (``vrm up`` runs one every housekeeping round), and
the reason is shown until then. The payees' receipts come back to the inbox
(:func:`vrm.agent.payments.notices.take_receipt`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio.to_thread

from vrm.agent.payments import ledger, notices
from vrm.agent.payments import payees as store
from vrm.agent.payments.ledger import PaymentRecord
from vrm.agent.payments.notices import NoticeRecord, PayeeContact
from vrm.agent.payments.payees import Payee
from vrm.agent.payments.providers import PaymentProvider
from vrm.protocol import PAYMENT_NOTICE

if TYPE_CHECKING:  # the HTTP client is loaded only when a payee is first contacted
    from vrm.agent.personal_agent import PersonalAgent
    from vrm.transport import Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingNotice:
    """A paid payment whose payee has not been told yet, and why."""

    payment_id: int
    payee_id: int
    reason: str


class PaymentsDesk:
    """Pays the month and tells the payees; the person's receipts come back to the inbox.

    Args:
        agent: the unlocked agent.
        transport: the HTTP client for payees' discovery documents (by default one
            is made for each round, under the agent's address policy).
    """

    def __init__(self, agent: PersonalAgent, *, transport: Transport | None = None) -> None:
        self.agent = agent
        self._transport = transport
        self._unreachable: dict[int, str] = {}

    async def pay(self, month: str | None, provider: PaymentProvider) -> list[PaymentRecord]:
        """Pay ``month`` (see :meth:`PersonalAgent.pay`), then send the notices it made due."""
        paid = await anyio.to_thread.run_sync(self.agent.pay, month, provider)
        await self.send_notices()
        return paid

    def retry(self, payment_id: int) -> PaymentRecord:
        """Make a failed payment due again, though the provider said retrying would not help.

        For after the cause is mended (a payee's account set, a card replaced): the next
        pay tries it, under the same idempotency key.

        Raises:
            NotFound: no such payment.
            Conflict: the payment has not failed.
        """
        with self.agent._transaction() as (connection, _queued, now, _max_age):
            return ledger.make_due(connection, self.agent.sealer, payment_id, now=now)

    async def send_notices(self) -> list[str]:
        """Tell every paid payee with an endpoint of its payments; the messages queued."""
        due = await anyio.to_thread.run_sync(self._due)
        queued: list[str] = []
        for payee, contact, payments in due:
            if contact is None:
                contact = await self._first_contact(payee)
                if contact is None:
                    continue
            queued += await anyio.to_thread.run_sync(self._queue, payee, contact, payments)
        return queued

    def pending(self) -> list[PendingNotice]:
        """Paid payments whose payee has an endpoint but was not told yet, with the reason."""
        return [
            PendingNotice(
                payment.id,
                payee.id,
                self._unreachable.get(payee.id, "waiting for the next round"),
            )
            for payee, _contact, payments in self._due()
            for payment in payments
        ]

    def notices(self) -> dict[int, NoticeRecord]:
        """The notices sent, by payment id, each with the payee's receipt if it came."""
        with self.agent.engine.begin() as connection:
            return notices.notices(connection, self.agent.sealer)

    def _due(self) -> list[tuple[Payee, PayeeContact | None, list[PaymentRecord]]]:
        with self.agent.engine.begin() as connection:
            unsent = set(notices.unsent(connection))
            if not unsent:
                return []
            sealer = self.agent.sealer
            by_payee: dict[int, list[PaymentRecord]] = {}
            for payment in ledger.payments(connection, sealer):
                if payment.id in unsent:
                    by_payee.setdefault(payment.payee_id, []).append(payment)
            due = []
            for payee_id, payments in sorted(by_payee.items()):
                payee = store.get_payee(connection, sealer, payee_id)
                if payee.endpoint is not None:
                    due.append((payee, notices.contact(connection, sealer, payee_id), payments))
            return due

    async def _first_contact(self, payee: Payee) -> PayeeContact | None:
        from vrm.transport import AiohttpTransport, DeliveryError, fetch_discovery

        assert payee.endpoint is not None  # noqa: S101 - only payees with one are due
        transport = self._transport
        if transport is None:
            policy = await anyio.to_thread.run_sync(self.agent.address_policy)
            transport = AiohttpTransport(policy=policy)
        try:
            found = await fetch_discovery(transport, payee.endpoint)
        except DeliveryError as exc:
            self._unreachable[payee.id] = f"its endpoint did not answer: {exc}"
            log.info("payee %s not reached: %s", payee.id, exc)
            return None
        finally:
            if self._transport is None:
                await transport.aclose()
        if PAYMENT_NOTICE not in found.message_types:
            self._unreachable[payee.id] = "its endpoint does not take payment notices"
            return None
        self._unreachable.pop(payee.id, None)

        def keep() -> PayeeContact:
            with self.agent.engine.begin() as connection:
                known = notices.contact(connection, self.agent.sealer, payee.id)
                if known is not None:  # another round got there first
                    return known
                return notices.add_contact(
                    connection,
                    self.agent.sealer,
                    payee.id,
                    their_did=found.did,
                    inbox=found.inbox,
                    now=self.agent.clock(),
                )

        return await anyio.to_thread.run_sync(keep)

    def _queue(
        self, payee: Payee, contact: PayeeContact, payments: list[PaymentRecord]
    ) -> list[str]:
        reply_to = self.agent.reply_url()
        with self.agent._transaction() as (connection, queued, now, max_age):
            still = set(notices.unsent(connection))
            for payment in payments:
                if payment.id in still:
                    queued.append(
                        notices.queue_notice(
                            connection,
                            self.agent.sealer,
                            payment,
                            payee,
                            contact,
                            reply_to=reply_to,
                            max_age=max_age,
                            now=now,
                        )
                    )
            return list(queued)
