"""An agreement as an ISO/IEC TS 27560 consent record, in the W3C DPV JSON-LD profile.

The record is a pure function of the signed agreement: no clock, no names looked
up, so the person's and the vendor's exports of one agreement are identical. It
embeds the agreement verbatim (``vrm:agreement``) so anyone can re-check the hash
and both signatures. The mapping, and what 27560 asks for that an agreement
cannot say, are in docs/terms.md, section "Consent records (ISO/IEC TS 27560)".
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from vrm.terms.agreement import Agreement, Terms
from vrm.terms.obligations import Obligations

PROFILE = "https://w3id.org/dpv/schema/dpv-27560#record"
LANGUAGE = "en"  # the language library.json is written in
SIGNED_AS = "signed as a detached JWS (Ed25519)"

# 400 Gregorian years are a whole number of days, so dates repeat with that period;
# it lets times past the year 9999 (which ``datetime`` cannot hold) be written too.
_GREGORIAN_CYCLE_SECONDS = 146_097 * 86_400

# Properties whose string values are IRIs (compact ones like "dpv:Contract", or DIDs).
IRI_VALUED = (
    "dct:conformsTo",
    "dct:source",
    "skos:broader",
    "dpv:hasDataSubject",
    "dpv:hasDataController",
    "dpv:hasRecipient",
    "dpv:hasPurpose",
    "dpv:hasPersonalData",
    "dpv:hasLegalBasis",
    "dpv:isIndicatedBy",
    "p7012:hasFirstParty",
    "p7012:hasSecondParty",
    "p7012:hasTrackingTerm",
    "p7012:hasDataSharingTerm",
    "p7012:hasPortabilityTerm",
)

Json = dict[str, Any]


def consent_record(agreement: Agreement) -> Json:
    """The ISO/IEC TS 27560 consent record of ``agreement``, as DPV JSON-LD.

    The agreement is not verified here: verify one that came from elsewhere first.

    Args:
        agreement: terms signed by both parties.

    Returns:
        A JSON-LD document (plain dicts and lists, ready for ``json.dumps``).
    """
    statement = agreement.statement
    record_id = hashlib.sha256(statement.acceptance_payload(agreement.accepted_time)).hexdigest()
    return {
        "@context": _context(),
        "@id": f"urn:vrm:agreement:{record_id}",
        "@type": "dpv:ConsentRecord",
        "dct:identifier": record_id,
        "dct:conformsTo": PROFILE,
        "dpv:hasDataSubject": statement.person,
        "dpv:hasDataController": statement.vendor,
        "p7012:hasFirstParty": statement.person,
        "p7012:hasSecondParty": statement.vendor,
        "p7012:hasAgreement": {
            "@type": "p7012:Agreement",
            "dct:identifier": agreement.terms.agreement.id,
            "dct:hasVersion": agreement.terms.agreement.version,
        },
        "dpv:hasNotice": _notice(agreement.terms),
        "dpv:hasProcess": _processes(agreement.terms.obligations(), statement.vendor),
        "dpv:hasConsentControl": {
            "@type": "dpv:WithdrawConsent",
            "dct:description": "The person ends the relationship or proffers new terms.",
        },
        "dpv:hasConsentStatus": _consent_status(agreement),
        "dpv:hasStatus": _acceptance(agreement),
        "vrm:agreement": agreement.model_dump(mode="json", exclude_none=True),
    }


def _context() -> Json:
    """The guide's prefixes plus ``p7012`` and ``vrm``, and which properties hold IRIs."""
    return {
        "@version": 1.1,  # for "@json"
        "dpv": "https://w3id.org/dpv#",
        "p7012": "https://w3id.org/dpv/standards/p7012#",
        "dct": "http://purl.org/dc/terms/",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "vrm": "urn:vrm:ns:",
        **{name: {"@type": "@id"} for name in IRI_VALUED},
        "dpv:isIndicatedAtTime": {"@type": "xsd:dateTime"},
        "vrm:agreement": {"@type": "@json"},
    }


def _notice(terms: Terms) -> Json:
    """The terms as the notice consented to, named by their hash."""
    digest = terms.sha256()
    return {
        "@id": f"urn:sha256:{digest}",
        "@type": "dpv:ConsentNotice",
        "dct:identifier": digest,
        "dct:title": terms.name,
        "dct:language": LANGUAGE,
        "dct:hasPart": [
            {
                "dct:identifier": term.id,
                "dct:hasVersion": term.version,
                **({"dct:source": term.source.url} if term.source is not None else {}),
            }
            for term in (terms.agreement, *terms.additional)
        ],
    }


def _processes(obligations: Obligations, vendor: str) -> list[Json]:
    """The processing the terms allow: the agreed purposes, then AI training if allowed."""
    processes = [_agreed_process(obligations, vendor)]
    if obligations.ai_training in ("allowed", "anonymised"):
        processes.append(_ai_training_process(obligations.ai_training, vendor))
    return processes


def _agreed_process(obligations: Obligations, vendor: str) -> Json:
    """The processing for the agreed purposes, with every obligation that bounds it."""
    process: Json = {
        "@type": "dpv:Process",
        "dpv:hasPurpose": [_purpose(use) for use in obligations.use or ()],
        "dpv:hasPersonalData": "p7012:ServiceData",
        "dpv:hasLegalBasis": "dpv:Contract",  # agreements are contracts, not consent
        "dpv:hasDataController": vendor,
        "dpv:hasRecipient": _recipients(obligations.sharing, vendor),
        "p7012:hasTrackingTerm": _tracking_term(obligations.tracking),
        "p7012:hasDataSharingTerm": _sharing_term(obligations.sharing),
        "p7012:hasPortabilityTerm": (
            "p7012:PortabilityRequiredOnRequest"
            if obligations.data_access
            else "p7012:PortabilityNotRequired"
        ),
    }
    if obligations.data_access:
        process["dpv:hasRight"] = {
            "@type": "dpv:DataSubjectRight",
            "dct:title": "copy of all data held",
        }
    if obligations.resale == "forbidden":
        process["dpv:hasRule"] = {
            "@type": "dpv:Prohibition",
            "dpv:hasPurpose": "dpv:SellDataToThirdParties",
        }
    process["dpv:hasStorageCondition"] = _storage_conditions(obligations)
    return process


def _ai_training_process(ai_training: str, vendor: str) -> Json:
    """Training and operating AI systems, on the data as is or anonymised."""
    return {
        "@type": "dpv:Process",
        "dpv:hasPurpose": [
            {
                "@type": "dpv:Purpose",
                "skos:broader": "dpv:ResearchAndDevelopment",
                "dct:description": "training and operating AI systems",
            }
        ],
        "dpv:hasPersonalData": (
            "p7012:ServiceData" if ai_training == "allowed" else "dpv:AnonymisedData"
        ),
        "dpv:hasLegalBasis": "dpv:Contract",
        "dpv:hasDataController": vendor,
    }


def _purpose(use: str) -> str | Json:
    """The DPV purpose of one ``use`` value."""
    if use == "intent":
        return {
            "@type": "dpv:Purpose",
            "skos:broader": "dpv:ServiceProvision",
            "dct:description": "answering the person's intent",
        }
    return {
        "service": "p7012:ServiceDelivery",
        "public-good": "dpv:PublicBenefit",
        "marketing": "dpv:Marketing",
    }[use]


def _tracking_term(tracking: str | None) -> str | list[str]:
    """The P7012 tracking term for a ``tracking`` value."""
    if tracking == "first-party":
        return ["p7012:Tracking2PAllowed", "p7012:Tracking3PDisallowed"]
    return "p7012:TrackingAllowed" if tracking == "any" else "p7012:TrackingDisallowed"


def _sharing_term(sharing: str | None) -> str:
    """The P7012 data sharing term for a ``sharing`` value."""
    if sharing == "any":
        return "p7012:SharingData3PAllowed"
    if sharing == "processors":
        return "p7012:SharingData3PDisallowed"
    return "p7012:SharingDataDisallowed"


def _recipients(sharing: str | None, vendor: str) -> list[str | Json]:
    """Who receives the data: the vendor, and unnamed third parties if sharing is open."""
    recipients: list[str | Json] = [vendor]
    if sharing == "any":
        recipients.append({"@type": "dpv:ThirdParty"})
    return recipients


def _storage_conditions(obligations: Obligations) -> list[Json]:
    """How long the data is kept, and its deletion when the relationship ends."""
    if obligations.retention == "any":
        duration: Json = {"@type": "dpv:EndlessDuration"}
    else:
        duration = _until(
            "relationship ended" if obligations.retention == "relationship" else "purpose fulfilled"
        )
    conditions: list[Json] = [{"@type": "dpv:StorageDuration", "dpv:hasDuration": duration}]
    if obligations.delete_on_end:
        conditions.append(
            {
                "@type": ["dpv:StorageDeletion", "p7012:DataDeletionRequired"],
                "dpv:hasDuration": _until("relationship ended"),
            }
        )
    return conditions


def _consent_status(agreement: Agreement) -> Json:
    """The person's signature: consent given explicitly, when they signed."""
    statement = agreement.statement
    proffered = statement.proffered_by == "person"
    how = "proffered" if proffered else "accepted"
    return {
        "@type": ["dpv:ConsentGiven", "dpv:ExplicitlyExpressedConsent"],
        "dpv:isIndicatedBy": statement.person,
        "dpv:isIndicatedAtTime": _iso_time(
            statement.proffered_time if proffered else agreement.accepted_time
        ),
        "dpv:hasIndicationMethod": f"{how} the terms, {SIGNED_AS}",
        "dpv:hasDuration": _until("terms replaced or relationship ended"),
    }


def _acceptance(agreement: Agreement) -> Json:
    """The accepting party's signature, which made the agreement."""
    statement = agreement.statement
    return {
        "@type": "p7012:AgreementAccepted",
        "dpv:isIndicatedBy": statement.signer(statement.accepting_party),
        "dpv:isIndicatedAtTime": _iso_time(agreement.accepted_time),
        "dpv:hasIndicationMethod": f"accepted the terms, {SIGNED_AS}",
    }


def _until(event: str) -> Json:
    """A duration that lasts until ``event``."""
    return {"@type": "dpv:UntilEventDuration", "rdf:value": event}


def _iso_time(seconds: int) -> str:
    """Unix seconds as an ISO 8601 / xsd:dateTime in UTC, e.g. ``2026-01-01T00:00:00Z``."""
    cycles, rest = divmod(seconds, _GREGORIAN_CYCLE_SECONDS)
    moment = datetime.fromtimestamp(rest, tz=UTC)
    return f"{moment.year + 400 * cycles:04d}-{moment:%m-%dT%H:%M:%S}Z"
