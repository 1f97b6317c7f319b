"""Intents: what a person wants to buy, by category, published to the whole market."""
