"""The person's data rights: a copy of what a vendor holds, and erasure."""
