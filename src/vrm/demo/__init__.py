"""The runnable demonstration: two parties exchanging signed messages over HTTP."""
