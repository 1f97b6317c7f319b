"""The loyalty desk: the person's memberships, shown at a checkout, and their preferences.

Every action goes through the agent's transactions. Showing a membership makes a
fresh presentation — the vendor's credential with a proof, signed by the pairwise
key, that names the vendor and lasts two minutes — and records it in the audit log
(``membership.presented``): each code shown is a disclosure. Preferences are set and
shared through the agent's own profile and grant actions
(:mod:`vrm.agent.loyalty.preferences`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict
from vrm.agent.loyalty import memberships as store
from vrm.agent.loyalty.memberships import ACTIVE, MembershipRecord
from vrm.agent.loyalty.preferences import FIELDS, PURPOSE, LoyaltyPreferences, preferences_of
from vrm.agent.profile.fields import check_value
from vrm.agent.relationships.service import get_relationship, identity_of
from vrm.protocol import present_membership

if TYPE_CHECKING:
    from vrm.agent.personal_agent import PersonalAgent


@dataclass(frozen=True)
class ShownMembership:
    """A membership's presentation: the text its QR code carries, and when it runs out."""

    membership: MembershipRecord
    text: str
    issued_at: int
    expires_at: int

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the text to encode, and its lifetime."""
        return {
            "membership": self.membership.id,
            "vendor": self.membership.vendor_name,
            "tier": self.membership.credential.credentialSubject.tier,
            "presentation": self.text,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
        }


class LoyaltyDesk:
    """The person's memberships and loyalty preferences.

    Args:
        agent: the unlocked agent.
    """

    def __init__(self, agent: PersonalAgent) -> None:
        self.agent = agent

    def memberships(self) -> list[MembershipRecord]:
        """Every membership vendors issued, the latest received first, each verified again."""
        with self.agent.engine.begin() as connection:
            return store.memberships(connection, self.agent.sealer)

    def membership(self, number: int) -> MembershipRecord:
        """One membership.

        Raises:
            NotFound: there is none with this number.
        """
        with self.agent.engine.begin() as connection:
            return store.get_membership(connection, self.agent.sealer, number)

    def present(self, number: int, *, to: str) -> ShownMembership:
        """A fresh presentation of the membership for its vendor's checkout; audited.

        ``to`` says where it is shown (``web``, ``cli``, ``api``), for the log.

        Raises:
            NotFound: no such membership.
            Conflict: the vendor revoked it, or it has expired.
        """
        with self.agent._transaction() as (connection, _queued, now, _max_age):
            sealer = self.agent.sealer
            record = store.get_membership(connection, sealer, number)
            state = record.state(now)
            if state != ACTIVE:
                raise Conflict(
                    f"membership {number} with {record.vendor_name} is {state}: "
                    "there is nothing to show at the checkout"
                )
            relationship = get_relationship(connection, sealer, record.vendor_id)
            holder = identity_of(connection, sealer, relationship)
            shown = present_membership(
                record.signed.token, holder, audience=record.vendor_did, now=now
            )
            audit.append(
                connection,
                sealer,
                kind="membership.presented",
                details={
                    "vendor": record.vendor_id,
                    "membership": record.id,
                    "tier": record.credential.credentialSubject.tier,
                    "to": to,
                    "expires_at": shown.expires_at,
                },
                now=now,
            )
        return ShownMembership(record, shown.text, shown.issued_at, shown.expires_at)

    def preferences(self) -> LoyaltyPreferences:
        """The loyalty and brand preferences, and which vendors may see them."""
        agent = self.agent
        return preferences_of(
            agent.profile(),
            agent.vendors(),
            agent.grants(),
            today=dt.date.fromtimestamp(agent.clock()),
        )

    def share_preferences(
        self, values: Mapping[str, str], vendors: Iterable[int], *, changed_by: str
    ) -> LoyaltyPreferences:
        """Set the preferences (empty: cleared) and share them with ``vendors`` alone.

        Vendors no longer chosen get a revocation first; the values are then set, so
        the vendors still granted get the change; the newly chosen are granted last,
        and get the current values.

        Raises:
            InvalidField: a preference longer than a profile field takes.
            NotFound: a vendor number that is not a relationship.
            Conflict: a vendor whose relationship the person ended.
        """
        chosen = set(vendors)
        current = self.preferences()
        wanted = {path: values.get(path, "").strip() for path in FIELDS}
        for path, value in wanted.items():
            if value:
                check_value(path, value)
        known = {choice.relationship.id for choice in current.vendors}
        unknown = sorted(chosen - known)
        if unknown:
            raise Conflict(f"vendor {unknown[0]} is not one you can share preferences with")
        for choice in current.vendors:
            if choice.shared and choice.relationship.id not in chosen:
                self.agent.revoke(str(choice.relationship.id), list(choice.fields))
        changed = {p: v for p, v in wanted.items() if v and v != current.values[p]}
        if changed:
            self.agent.set_fields(changed, changed_by=changed_by)
        for path, value in wanted.items():
            if not value and current.values[path] is not None:
                self.agent.clear_field(path, changed_by=changed_by)
        for choice in current.vendors:
            missing = [p for p in FIELDS if p not in choice.fields]
            if choice.relationship.id in chosen and missing:
                self.agent.grant(str(choice.relationship.id), missing, purpose=PURPOSE)
        return self.preferences()
