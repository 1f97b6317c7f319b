"""The audit log: every disclosure and every change of permission, in a keyed chain."""
