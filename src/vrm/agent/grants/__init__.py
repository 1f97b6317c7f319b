"""Grants: which profile fields each vendor may have, why, and until when."""
