"""vrm: Vendor Relationship Management — the customer's own side of every relationship."""

__version__ = "0.1.0"
