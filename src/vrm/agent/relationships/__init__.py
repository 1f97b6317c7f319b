"""Relationships with vendors: the two r-buttons and the pairwise DID of each."""
