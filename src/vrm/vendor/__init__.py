"""The vendor endpoint: what a vendor runs beside its CRM to take part in vrm.

It verifies and answers protocol messages, keeps a record per customer (keyed by
the person's pairwise DID) with every field received and its history, answers
the terms people proffer and keeps the agreements both signed, honours the
person's data rights (a copy of everything, erasure), and forwards each accepted
change to the vendor's CRM through adapters.
"""
