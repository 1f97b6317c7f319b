"""The person's records: vendors' signed receipts, reminders from them, the decision journal.

``receipts`` keeps what vendors send and reads it back (list, one, search);
``reminders`` finds warranties ending and subscriptions renewing soon; ``journal``
puts an intent's offers, the one taken, the person's note and the receipt that
followed side by side; ``export`` writes receipts as CSV or JSON. None of it
knows the web or the command line.
"""
