"""The person's terms and the agreements made with vendors."""
