"""The person's reviews (schema.org ``Review``), each under a licence they choose.

``writing`` checks what the person writes and makes the Review of it; ``store`` keeps
each review as signed by the reviewer identity, sealed; ``feed`` is the public feed's
switch and document; ``desk`` is every action, one transaction each (write, edit,
publish, send, withdraw, the feed), which the command line, the API and the pages call.
"""
