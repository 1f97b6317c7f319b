"""EmanciPay: one monthly budget and one "pay" for many payees, on the person's terms.

``money`` reads amounts and currencies (ISO 4217 minor units); ``allocation``
shares a budget among payees exactly (pure); ``payees`` keeps the budget, the
payees with their share rules and terms, and logged uses, sealed; ``ledger``
plans a month once and pays each payment once through a ``providers``
:class:`~vrm.agent.payments.providers.PaymentProvider`. None of it knows the web
or the command line.
"""
