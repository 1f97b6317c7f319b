"""``vrm terms`` and ``vrm agreements verify --file`` as a person types them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agent.vendors import VendorNetwork
from tests.commandline import one_line_error, run_vrm
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent, unlocked
from vrm.protocol import Identity
from vrm.terms import Agreement, Terms, accept, library, proffer
from vrm.terms.consent_record import consent_record
from vrm.vault import FAST_INSECURE_KDF

PASSPHRASE = "correct horse"
AGREEMENTS = ["SD-BASE", "SD-BASE-DP", "PDC-AI", "PDC-GOOD", "PDC-INTENT"]
TERMS = ["NoStalking", "delete-on-end", "mine-too", "no-resale"]


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=PASSPHRASE)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    init_agent(AgentHome(tmp_path), PASSPHRASE, kdf=FAST_INSECURE_KDF)
    return tmp_path


def signed_agreement() -> dict[str, Any]:
    """SD-BASE + NoStalking, proffered by a person and accepted by a vendor, as JSON."""
    person, vendor = Identity.generate(), Identity.generate()
    found = library()
    terms = Terms(agreement=found.agreement("SD-BASE"), additional=(found.term("NoStalking"),))
    offer = proffer(
        terms,
        person,
        person=person.did,
        vendor=vendor.did,
        proffered_by="person",
        now=int(time.time()),
    )
    agreement = accept(offer, vendor, now=int(time.time()))
    return agreement.model_dump(mode="json", exclude_none=True)


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_list_shows_the_roster_and_the_additional_terms(tmp_path: Path) -> None:
    """The five roster agreements and four additional terms are listed, with their obligations."""
    table = vrm(tmp_path, "terms", "list")
    assert table.returncode == 0, table.stderr
    for term_id in (*AGREEMENTS, *TERMS):
        assert term_id in table.stdout, term_id
    assert "tracking none" in table.stdout

    listed = json.loads(vrm(tmp_path, "terms", "list", "--json").stdout)
    assert [t["id"] for t in listed["agreements"]] == AGREEMENTS
    assert [t["id"] for t in listed["terms"]] == TERMS


def test_show_prints_the_text_and_its_source(tmp_path: Path) -> None:
    """One term: title, every sentence, its obligations and where it comes from."""
    term = library().term("NoStalking")
    shown = vrm(tmp_path, "terms", "show", "nostalking")
    assert shown.returncode == 0, shown.stderr
    assert f"NoStalking (version {term.version}): {term.title}" in shown.stdout
    for sentence in term.text:
        assert sentence in shown.stdout
    assert "obligations: tracking none" in shown.stdout
    assert term.source is not None
    assert f"source: {term.source.name} — {term.source.url}" in shown.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("terms", "show", "nope"), "no agreement or term 'nope' (known: SD-BASE,"),
        (("terms", "default", "SD-EVERYTHING"), "no agreement 'SD-EVERYTHING' (known: SD-BASE,"),
        (("terms", "default", "--add", "nope"), "no additional term 'nope' (known: NoStalking,"),
        (("agreements", "verify"), "give an agreement number or --file FILE"),
    ],
)
def test_mistakes_are_one_line(home: Path, args: tuple[str, ...], expected: str) -> None:
    """An unknown id or a missing argument is one line on stderr and exit status 1."""
    one_line_error(vrm(home, *args), expected)


def test_the_default_terms_are_set_and_shown(home: Path) -> None:
    """--add adds to the default's terms, --remove and --no-additional take them away."""
    before = json.loads(vrm(home, "terms", "default", "--json").stdout)
    assert before == {
        "default": {"agreement": "SD-BASE", "additional": ["mine-too", "delete-on-end"]},
        "alternatives": "ask",
    }

    changed = vrm(home, "terms", "default", "sd-base-dp", "--add", "NoStalking")
    assert changed.returncode == 0, changed.stderr
    assert "default terms: SD-BASE-DP + mine-too + delete-on-end + NoStalking" in changed.stdout
    assert "vendors' alternatives: ask" in changed.stdout
    removed = vrm(home, "terms", "default", "--remove", "delete-on-end", "--remove", "mine-too")
    assert "default terms: SD-BASE-DP + NoStalking" in removed.stdout
    alone = vrm(home, "terms", "default", "--no-additional", "--json")
    assert json.loads(alone.stdout)["default"]["additional"] == []
    vrm(home, "terms", "default", "--add", "NoStalking")

    rule = json.loads(vrm(home, "terms", "default", "--alternatives", "reject", "--json").stdout)
    assert rule == {
        "default": {"agreement": "SD-BASE-DP", "additional": ["NoStalking"]},
        "alternatives": "reject",
    }


def test_verify_file_accepts_a_good_agreement_and_its_consent_record(tmp_path: Path) -> None:
    """A signed agreement, or the consent record carrying it, verifies offline: status 0."""
    document = signed_agreement()
    good = vrm(
        tmp_path, "agreements", "verify", "--file", str(write(tmp_path / "a.json", document))
    )
    assert good.returncode == 0, good.stderr
    assert "verified: SD-BASE + NoStalking" in good.stdout
    assert document["statement"]["person"] in good.stdout
    assert document["statement"]["vendor"] in good.stdout

    record = consent_record(Agreement.model_validate(document))
    as_record = vrm(
        tmp_path, "agreements", "verify", "--file", str(write(tmp_path / "r.jsonld", record))
    )
    assert as_record.returncode == 0, as_record.stderr


def test_verify_file_refuses_a_changed_term(tmp_path: Path) -> None:
    """One sentence of a term changed after signing: status 1, "terms do not match"."""
    document = signed_agreement()
    document["terms"]["additional"][0]["text"][0] = "You may track me a little."
    changed = vrm(
        tmp_path, "agreements", "verify", "--file", str(write(tmp_path / "a.json", document))
    )
    assert changed.returncode == 1
    assert "does not verify: the terms do not match" in changed.stdout
    assert "Traceback" not in changed.stderr


def test_verify_file_refuses_another_signature(tmp_path: Path) -> None:
    """The vendor's signature replaced by the person's: status 1, the vendor's is named."""
    document = signed_agreement()
    document["signatures"]["vendor"] = document["signatures"]["person"]
    swapped = vrm(
        tmp_path, "agreements", "verify", "--file", str(write(tmp_path / "a.json", document))
    )
    assert swapped.returncode == 1
    assert "does not verify: the vendor's signature" in swapped.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("this is not { json", "is not JSON: Expecting value (line 1)"),
        ('{"terms": {}}', "is not an agreement: terms.agreement: Field required"),
    ],
    ids=["not JSON", "not an agreement"],
)
def test_verify_file_that_is_not_an_agreement_is_one_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    """A file that is not JSON, or not an agreement, is one clear line naming the file."""
    path = tmp_path / "shop-agreement.json"
    path.write_text(content, encoding="utf-8")
    result = vrm(tmp_path, "agreements", "verify", "--file", str(path))
    one_line_error(result, expected)
    assert "shop-agreement.json" in result.stderr


def add_vendor_that_has_not_answered(home: Path) -> None:
    """Add "Corner Shop" (in-process, over the test network); it does not answer."""

    async def add() -> None:
        network = VendorNetwork()
        try:
            shop = network.add("Corner Shop")
            with unlocked(AgentHome(home), PASSPHRASE) as opened:
                agent = PersonalAgent(opened.engine, opened.sealer)
                await agent.add_vendor(shop.url, transport=network)
        finally:
            await network.aclose()

    asyncio.run(add())


def test_terms_chosen_before_the_vendor_answers_are_not_called_agreed(home: Path) -> None:
    """Choosing terms for a vendor that has not answered does not claim they are agreed."""
    add_vendor_that_has_not_answered(home)
    chosen = vrm(home, "vendors", "terms", "Corner Shop", "SD-BASE-DP")
    assert chosen.returncode == 0, chosen.stderr
    shown = vrm(home, "vendors", "terms", "Corner Shop")
    assert "your terms are SD-BASE-DP" in shown.stdout
    assert "agreed with the vendor: none yet" in shown.stdout
    assert "already agreed" not in chosen.stdout


def test_verify_file_refuses_a_consent_record_with_edited_claims(tmp_path: Path) -> None:
    """A consent record saying tracking is allowed, around an agreement forbidding it, fails."""
    record = consent_record(Agreement.model_validate(signed_agreement()))
    record["dpv:hasProcess"][0]["p7012:hasTrackingTerm"] = "p7012:TrackingAllowed"
    edited = vrm(
        tmp_path, "agreements", "verify", "--file", str(write(tmp_path / "r.jsonld", record))
    )
    assert edited.returncode == 1, edited.stdout
