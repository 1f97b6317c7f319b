"""The person's profile: typed fields under stable paths, every change kept."""
