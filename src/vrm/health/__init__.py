"""Health records as FHIR, pure: no database, no web, no command line.

``fhir`` parses and validates Bundles (FHIR R5, or R4B for R4 exports) with
``fhir.resources``, loaded only when a Bundle is read or written, and names where
one is wrong; ``summary`` says what a resource holds in a line a person reads. The
person's agent (:mod:`vrm.agent.health`) and a doctor's endpoint
(:mod:`vrm.vendor.health`) both use them.
"""
