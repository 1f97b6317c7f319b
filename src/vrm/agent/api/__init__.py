"""The agent's HTTP face: the JSON API, the protocol inbox, and the delivery worker."""
