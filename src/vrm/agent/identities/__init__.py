"""The person's many identities: a pairwise one per vendor, a fresh one per intent."""
