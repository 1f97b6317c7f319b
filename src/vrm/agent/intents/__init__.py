"""The person's intents (personal RFPs) and the offers vendors send them."""
