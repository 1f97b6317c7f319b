"""The personal agent: the person's own service, on their own machine."""
