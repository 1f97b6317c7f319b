"""The person's choice of payment provider, and where each payee is paid.

:class:`ProviderDesk` is what the command line and the API call: show or change the
provider (:mod:`vrm.agent.payments.provider_settings`), build the one chosen for a
pay, and set a payee's account at the provider. It reads the settings each time,
so a change applies to the next pay without a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vrm.agent.payments import payees as store
from vrm.agent.payments import provider_settings
from vrm.agent.payments.allocation import ShareRule
from vrm.agent.payments.payees import Payee
from vrm.agent.payments.provider_settings import ProviderSettings
from vrm.agent.payments.providers import PaymentProvider
from vrm.agent.payments.stripe import STRIPE_API

if TYPE_CHECKING:
    from vrm.agent.personal_agent import PersonalAgent


class ProviderDesk:
    """Chooses the payment provider and where payees are paid, for one unlocked agent.

    Args:
        agent: the unlocked agent.
    """

    def __init__(self, agent: PersonalAgent) -> None:
        self.agent = agent

    def settings(self) -> ProviderSettings:
        """The provider chosen (ledger-only until one is)."""
        with self.agent.engine.begin() as connection:
            return provider_settings.load(connection, self.agent.sealer)

    def use_ledger_only(self) -> ProviderSettings:
        """Record payments without moving money (the Stripe secret is forgotten); audited."""
        with self.agent.engine.begin() as connection:
            return provider_settings.use_ledger_only(
                connection, self.agent.sealer, now=self.agent.clock()
            )

    def use_stripe(
        self,
        *,
        customer: str,
        payment_method: str,
        secret_key: str | None = None,
        api_base: str | None = None,
    ) -> ProviderSettings:
        """Pay through Stripe from the person's Customer and PaymentMethod; audited.

        A ``secret_key`` of None keeps the one set before.

        Raises:
            ValueError: an id, key or address that does not fit, or no key at all.
        """
        with self.agent.engine.begin() as connection:
            return provider_settings.use_stripe(
                connection,
                self.agent.sealer,
                customer=customer,
                payment_method=payment_method,
                secret_key=secret_key,
                api_base=api_base or STRIPE_API,
                now=self.agent.clock(),
            )

    def provider(self) -> PaymentProvider:
        """The provider to pay through now, as the settings say.

        Raises:
            ValueError: the settings name an address no longer allowed.
        """
        with self.agent.engine.begin() as connection:
            return provider_settings.configured_provider(connection, self.agent.sealer)

    def add_payee(
        self,
        name: str,
        rule: ShareRule,
        *,
        endpoint: str | None = None,
        terms: list[str] | None = None,
        account: str | None = None,
    ) -> Payee:
        """Add a payee (see :meth:`PersonalAgent.add_payee`), paid to ``account`` if given.

        The account is checked before anything is stored.

        Raises:
            Conflict: a payee of that name is already there.
            ValueError: a name, URL, term, amount or account that does not fit.
        """
        account = store.check_account(account)
        payee = self.agent.add_payee(name, rule, endpoint=endpoint, terms=terms)
        return payee if account is None else self.set_account(payee.id, account)

    def set_account(self, payee_id: int, account: str | None) -> Payee:
        """Make ``account`` (``acct_…``, or None) where ``payee_id`` is paid; audited.

        Raises:
            NotFound: no such payee, or removed.
            ValueError: not an account id.
        """
        with self.agent.engine.begin() as connection:
            return store.set_account(
                connection, self.agent.sealer, payee_id, account, now=self.agent.clock()
            )
