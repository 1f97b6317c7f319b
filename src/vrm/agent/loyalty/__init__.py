"""Customer-held loyalty: vendors' membership credentials, shown at a checkout as a QR code.

``memberships`` keeps the credentials (sealed, verified when read); ``preferences``
says which vendors may see the person's loyalty and brand preferences (profile
fields shared by grants); ``desk`` holds the actions the CLI, API and pages call.
"""
