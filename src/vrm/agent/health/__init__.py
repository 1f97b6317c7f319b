"""The person's health records: FHIR resources imported from Bundles, kept sealed.

``fhir`` refuses a Bundle that is wrong with the agent's own error (the parsing and
validation, and the words for each resource, are :mod:`vrm.health`'s); ``store``
keeps each resource sealed, replaces one imported again, lists, shows and exports
them as a Bundle; ``presentations`` keeps what was presented to which doctor, until
when, and whether the doctor confirmed deleting it; ``desk`` presents, withdraws and
ends presentations, for the API, the command line and the pages. None of it knows
the web or the command line.
"""
