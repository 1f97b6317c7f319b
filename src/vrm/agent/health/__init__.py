"""The person's health records: FHIR resources imported from Bundles, kept sealed.

``fhir`` parses and validates a Bundle (FHIR R5, or R4B for R4 exports) with
``fhir.resources``, loaded only when a Bundle is read or written; ``store`` keeps
each resource sealed, replaces one imported again, lists, shows and exports them
as a Bundle; ``summary`` says what a resource holds in a line a person reads.
None of it knows the web or the command line.
"""
