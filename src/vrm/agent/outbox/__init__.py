"""The outbox: every message the agent sends, kept until it is delivered."""
