"""CRM adapters: where the vendor endpoint forwards each change it accepts.

Built in: signed webhooks (Standard Webhooks), SCIM 2.0, and a CSV file. An
adapter is any object with a ``name`` and ``deliver``/``aclose`` coroutines
(:class:`Adapter`); the endpoint makes delivery durable and ordered.
"""

from vrm.vendor.adapters.base import Adapter, AdapterError, ChangeKind, CustomerChange

__all__ = ["Adapter", "AdapterError", "ChangeKind", "CustomerChange"]
