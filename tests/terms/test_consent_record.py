"""An agreement exported as an ISO/IEC TS 27560 consent record (DPV JSON-LD)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import pytest
import rfc8785

from vrm.protocol import Identity
from vrm.terms import Agreement, Term, Terms, accept, library, proffer
from vrm.terms.consent_record import consent_record

# The identities and times of the example in docs/terms.md.
PERSON = Identity.from_seed(bytes(31) + b"\x01")
VENDOR = Identity.from_seed(bytes(31) + b"\x02")
PROFFERED = 1_767_225_600  # 2026-01-01T00:00:00Z
ACCEPTED = PROFFERED + 60
TERMS_DOC = Path(__file__).parents[2] / "docs" / "terms.md"


def signed(
    terms: Terms,
    *,
    proffered_by: Literal["person", "vendor"] = "person",
    proffered: int = PROFFERED,
) -> Agreement:
    proposer, acceptor = (PERSON, VENDOR) if proffered_by == "person" else (VENDOR, PERSON)
    offer = proffer(
        terms,
        proposer,
        person=PERSON.did,
        vendor=VENDOR.did,
        proffered_by=proffered_by,
        now=proffered,
    )
    return accept(offer, acceptor, now=proffered + 60)


def shipped(agreement: str, *additional: str) -> Terms:
    return Terms(
        agreement=library().agreement(agreement),
        additional=tuple(library().term(term_id) for term_id in additional),
    )


def with_obligations(**changes: Any) -> Terms:
    """SD-BASE with some obligations changed, as an agreement of its own."""
    data = library().agreement("SD-BASE").model_dump(mode="json")
    data["id"] = "SD-CUSTOM"
    data["obligations"].update(changes)
    return Terms(agreement=Term.model_validate(data), additional=())


def term_ids(terms: dict[str, Any]) -> list[str]:
    """The ids of terms given as JSON, agreement first."""
    return [terms["agreement"]["id"], *(term["id"] for term in terms["additional"])]


def example() -> Agreement:
    """docs/terms.md's example: Alice proffers SD-BASE + NoStalking + delete-on-end to Bob."""
    return signed(shipped("SD-BASE", "NoStalking", "delete-on-end"))


def process(agreement: Agreement) -> dict[str, Any]:
    """The record's first process: the agreed purposes and the obligations that bound them."""
    first: dict[str, Any] = consent_record(agreement)["dpv:hasProcess"][0]
    return first


def test_record_conforms_to_the_27560_profile_and_is_named_by_what_was_signed() -> None:
    """The record id is the SHA-256 of the RFC 8785 JSON the accepting party signed."""
    agreement = example()
    signed_by_vendor = {**agreement.statement.model_dump(mode="json"), "accepted_time": ACCEPTED}
    record_id = hashlib.sha256(rfc8785.dumps(signed_by_vendor)).hexdigest()

    record = consent_record(agreement)

    assert record["dct:conformsTo"] == "https://w3id.org/dpv/schema/dpv-27560#record"
    assert record["@type"] == "dpv:ConsentRecord"
    assert record["dct:identifier"] == record_id
    assert record["@id"] == f"urn:vrm:agreement:{record_id}"
    assert record["@context"]["@version"] == 1.1
    assert record["@context"]["vrm:agreement"] == {"@type": "@json"}


def test_record_names_the_person_as_subject_and_the_vendor_as_controller() -> None:
    """The person is the data subject and first party; the vendor the controller and second."""
    record = consent_record(example())

    assert record["dpv:hasDataSubject"] == PERSON.did
    assert record["p7012:hasFirstParty"] == PERSON.did
    assert record["dpv:hasDataController"] == VENDOR.did
    assert record["p7012:hasSecondParty"] == VENDOR.did
    assert all(p["dpv:hasDataController"] == VENDOR.did for p in record["dpv:hasProcess"])


def test_notice_is_the_terms_named_by_their_hash() -> None:
    """The notice consented to is the signed terms, each part with its id, version, source."""
    agreement = example()

    notice = consent_record(agreement)["dpv:hasNotice"]

    assert notice["@id"] == f"urn:sha256:{agreement.statement.terms_sha256}"
    assert notice["dct:identifier"] == agreement.terms.sha256()
    assert notice["dct:title"] == "SD-BASE + NoStalking + delete-on-end"
    assert notice["dct:language"] == "en"
    assert [(p["dct:identifier"], p["dct:hasVersion"]) for p in notice["dct:hasPart"]] == [
        ("SD-BASE", "1"),
        ("NoStalking", "1"),
        ("delete-on-end", "1"),
    ]
    assert notice["dct:hasPart"][1]["dct:source"] == (
        "http://customercommons.org/home/tools/terms/p2b1/"
    )


def test_record_names_the_roster_agreement() -> None:
    """Which roster agreement, at which version, was agreed."""
    assert consent_record(example())["p7012:hasAgreement"] == {
        "@type": "p7012:Agreement",
        "dct:identifier": "SD-BASE",
        "dct:hasVersion": "1",
    }


@pytest.mark.parametrize(
    ("terms", "purposes"),
    [
        pytest.param(shipped("SD-BASE"), ["p7012:ServiceDelivery"], id="service"),
        pytest.param(shipped("PDC-GOOD"), ["dpv:PublicBenefit"], id="public-good"),
        pytest.param(
            shipped("PDC-INTENT"),
            [
                {
                    "@type": "dpv:Purpose",
                    "skos:broader": "dpv:ServiceProvision",
                    "dct:description": "answering the person's intent",
                }
            ],
            id="intent",
        ),
        pytest.param(
            with_obligations(use=["service", "marketing"]),
            ["p7012:ServiceDelivery", "dpv:Marketing"],
            id="service and marketing",
        ),
        pytest.param(with_obligations(use=[]), [], id="none"),
    ],
)
def test_purposes_are_mapped_from_use(terms: Terms, purposes: list[Any]) -> None:
    """Each purpose the terms allow appears as its DPV purpose, in order."""
    assert process(signed(terms))["dpv:hasPurpose"] == purposes


def test_process_is_under_contract_on_service_data() -> None:
    """The legal basis is the contract the agreement is; the data is the service's."""
    first = process(example())

    assert first["dpv:hasLegalBasis"] == "dpv:Contract"
    assert first["dpv:hasPersonalData"] == "p7012:ServiceData"


@pytest.mark.parametrize(
    ("tracking", "term"),
    [
        ("none", "p7012:TrackingDisallowed"),
        ("first-party", ["p7012:Tracking2PAllowed", "p7012:Tracking3PDisallowed"]),
        ("any", "p7012:TrackingAllowed"),
    ],
)
def test_tracking_term_follows_the_tracking_obligation(tracking: str, term: Any) -> None:
    """The P7012 tracking term says what tracking the vendor agreed to."""
    assert process(signed(with_obligations(tracking=tracking)))["p7012:hasTrackingTerm"] == term


@pytest.mark.parametrize(
    ("sharing", "term", "recipients"),
    [
        ("none", "p7012:SharingDataDisallowed", [VENDOR.did]),
        ("processors", "p7012:SharingData3PDisallowed", [VENDOR.did]),
        ("any", "p7012:SharingData3PAllowed", [VENDOR.did, {"@type": "dpv:ThirdParty"}]),
    ],
)
def test_sharing_term_and_recipients_follow_the_sharing_obligation(
    sharing: str, term: str, recipients: list[Any]
) -> None:
    """Third parties appear as recipients only when the terms let the vendor share."""
    first = process(signed(with_obligations(sharing=sharing)))

    assert first["p7012:hasDataSharingTerm"] == term
    assert first["dpv:hasRecipient"] == recipients


def test_portability_with_data_access() -> None:
    """With data access, the record states the right to a copy and requires portability."""
    first = process(signed(shipped("SD-BASE", "mine-too")))

    assert first["p7012:hasPortabilityTerm"] == "p7012:PortabilityRequiredOnRequest"
    assert first["dpv:hasRight"] == {
        "@type": "dpv:DataSubjectRight",
        "dct:title": "copy of all data held",
    }


def test_no_portability_without_data_access() -> None:
    """Without data access, portability is not required and no right is claimed."""
    first = process(signed(shipped("SD-BASE")))

    assert first["p7012:hasPortabilityTerm"] == "p7012:PortabilityNotRequired"
    assert "dpv:hasRight" not in first


def test_resale_prohibited_when_forbidden() -> None:
    """Forbidden resale becomes a prohibition on selling data to third parties."""
    assert process(example())["dpv:hasRule"] == {
        "@type": "dpv:Prohibition",
        "dpv:hasPurpose": "dpv:SellDataToThirdParties",
    }


def test_no_prohibition_when_resale_is_allowed() -> None:
    """Allowed resale states no prohibition."""
    assert "dpv:hasRule" not in process(signed(with_obligations(resale="allowed")))


@pytest.mark.parametrize(
    ("retention", "duration"),
    [
        ("purpose", {"@type": "dpv:UntilEventDuration", "rdf:value": "purpose fulfilled"}),
        ("relationship", {"@type": "dpv:UntilEventDuration", "rdf:value": "relationship ended"}),
        ("any", {"@type": "dpv:EndlessDuration"}),
    ],
)
def test_retention_is_the_storage_duration(retention: str, duration: dict[str, Any]) -> None:
    """How long data is kept is the first storage condition."""
    conditions = process(signed(with_obligations(retention=retention)))["dpv:hasStorageCondition"]

    assert conditions == [{"@type": "dpv:StorageDuration", "dpv:hasDuration": duration}]


def test_deletion_on_end_is_a_storage_condition() -> None:
    """delete-on-end adds the requirement to delete the data when the relationship ends."""
    conditions = process(example())["dpv:hasStorageCondition"]

    assert conditions[1] == {
        "@type": ["dpv:StorageDeletion", "p7012:DataDeletionRequired"],
        "dpv:hasDuration": {"@type": "dpv:UntilEventDuration", "rdf:value": "relationship ended"},
    }


def test_no_deletion_condition_without_delete_on_end() -> None:
    """Without delete-on-end, no deletion is claimed."""
    assert len(process(signed(shipped("SD-BASE")))["dpv:hasStorageCondition"]) == 1


@pytest.mark.parametrize(
    ("terms", "data"),
    [
        pytest.param(shipped("PDC-AI"), "p7012:ServiceData", id="allowed"),
        pytest.param(with_obligations(ai_training="anonymised"), "dpv:AnonymisedData", id="anon"),
    ],
)
def test_ai_training_is_a_process_of_its_own(terms: Terms, data: str) -> None:
    """Terms that allow AI training add a second process for it, on the data they allow."""
    processes = consent_record(signed(terms))["dpv:hasProcess"]

    assert len(processes) == 2
    assert processes[1]["dpv:hasPurpose"][0]["skos:broader"] == "dpv:ResearchAndDevelopment"
    assert processes[1]["dpv:hasPersonalData"] == data
    assert processes[1]["dpv:hasLegalBasis"] == "dpv:Contract"


def test_no_ai_process_when_ai_training_is_forbidden() -> None:
    """Forbidden AI training adds no process."""
    assert len(consent_record(example())["dpv:hasProcess"]) == 1


def test_person_gave_consent_when_proffering_and_vendor_accepted_after() -> None:
    """The person's signature is the consent, at proffer time; the vendor's the acceptance."""
    record = consent_record(example())

    consent = record["dpv:hasConsentStatus"]
    assert consent["@type"] == ["dpv:ConsentGiven", "dpv:ExplicitlyExpressedConsent"]
    assert consent["dpv:isIndicatedBy"] == PERSON.did
    assert consent["dpv:isIndicatedAtTime"] == "2026-01-01T00:00:00Z"
    acceptance = record["dpv:hasStatus"]
    assert acceptance["@type"] == "p7012:AgreementAccepted"
    assert acceptance["dpv:isIndicatedBy"] == VENDOR.did
    assert acceptance["dpv:isIndicatedAtTime"] == "2026-01-01T00:01:00Z"


def test_person_gave_consent_when_accepting_the_vendors_terms() -> None:
    """When the vendor proffered, the person consented, and accepted, at acceptance time."""
    record = consent_record(signed(shipped("SD-BASE"), proffered_by="vendor"))

    consent = record["dpv:hasConsentStatus"]
    assert consent["dpv:isIndicatedBy"] == PERSON.did
    assert consent["dpv:isIndicatedAtTime"] == "2026-01-01T00:01:00Z"
    assert consent["dpv:hasIndicationMethod"].startswith("accepted the terms")
    assert record["dpv:hasStatus"]["dpv:isIndicatedBy"] == PERSON.did


@pytest.mark.parametrize(
    ("proffered", "written"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (253_402_300_800, "10000-01-01T00:00:00Z"),
    ],
)
def test_times_are_iso_8601_utc(proffered: int, written: str) -> None:
    """Any time an agreement can hold is written, past the year 9999 included."""
    record = consent_record(signed(shipped("SD-BASE"), proffered=proffered))

    assert record["dpv:hasConsentStatus"]["dpv:isIndicatedAtTime"] == written


def test_embedded_agreement_revalidates_and_verifies() -> None:
    """Anyone holding only the record can rebuild the agreement and check both signatures."""
    agreement = example()
    record = json.loads(json.dumps(consent_record(agreement)))

    embedded = Agreement.model_validate(record["vrm:agreement"])

    assert embedded == agreement
    embedded.verify()
    assert embedded.terms.sha256() == record["dpv:hasNotice"]["dct:identifier"]


def test_record_is_a_pure_function_of_the_agreement() -> None:
    """Two exports of one agreement are identical, and changing one leaves the next intact."""
    agreement = example()
    first = consent_record(agreement)
    expected = json.dumps(first, sort_keys=True)

    first["@context"]["dpv"] = "changed"
    first["dpv:hasProcess"][0]["dpv:hasPurpose"].append("changed")
    second = consent_record(agreement)

    assert json.dumps(second, sort_keys=True) == expected


def test_record_is_json() -> None:
    """The record serialises with the standard library and reads back the same."""
    record = consent_record(example())

    assert json.loads(json.dumps(record, ensure_ascii=False)) == record


def test_docs_example_is_what_the_export_produces() -> None:
    """docs/terms.md's example record is this function's output, bar the parts it shortens."""
    section = TERMS_DOC.read_text(encoding="utf-8").split("## Consent records", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None
    documented = json.loads(block.group(1))
    record = consent_record(example())

    documented_agreement = documented.pop("vrm:agreement")
    agreement = record.pop("vrm:agreement")
    assert record == documented
    assert agreement["statement"] == documented_agreement["statement"]
    assert agreement["accepted_time"] == documented_agreement["accepted_time"]
    assert term_ids(agreement["terms"]) == term_ids(documented_agreement["terms"])
