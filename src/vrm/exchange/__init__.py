"""The intent exchange: people's pseudonymous intents matched to vendors' subscriptions."""
