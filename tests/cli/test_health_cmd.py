"""``vrm health`` as a person types it: a Bundle imported, listed, shown, exported, presented."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle

from tests.agent.health.bundles import SAMPLE, resource, sample, text
from tests.agent.vendors import Clock, VendorNetwork, connect
from tests.cli.homes import filled_home
from tests.commandline import run_vrm
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent
from vrm.vault import FAST_INSECURE_KDF

PASSPHRASE = "correct horse"


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=PASSPHRASE)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An agent that imported the sample Bundle with vrm health import."""
    folder = tmp_path_factory.mktemp("health")
    init_agent(AgentHome(folder), PASSPHRASE, kdf=FAST_INSECURE_KDF)
    imported = vrm(folder, "health", "import", str(SAMPLE))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(
        "Imported 8 health records from sample_bundle.json (FHIR R5): 1 AllergyIntolerance, "
        "2 Condition, 1 Immunization, 1 MedicationStatement, 2 Observation, 1 Patient"
    )
    return folder


def test_list_and_show(home: Path) -> None:
    """The list as a table and as JSON, by kind; one record in words, and as JSON."""
    table = vrm(home, "health", "list")
    assert table.returncode == 0, table.stderr
    for words in ("Anne Louise Marsh", "1981-04-12", "Penicillin", "criticality high", "72.4 kg"):
        assert words in table.stdout
    listed = json.loads(vrm(home, "health", "list", "--kind", "allergy", "--json").stdout)
    assert [r["summary"]["what"] for r in listed] == ["Penicillin"]
    shown = vrm(home, "health", "show", str(listed[0]["id"]))
    assert shown.returncode == 0, shown.stderr
    assert "allergy" in shown.stdout
    assert "Penicillin — criticality high" in shown.stdout
    assert "from sample_bundle.json" in shown.stdout
    as_json = json.loads(vrm(home, "health", "show", str(listed[0]["id"]), "--json").stdout)
    assert as_json["resource"]["id"] == "allergy-penicillin"
    none = vrm(home, "health", "list", "--kind", "Encounter")
    assert none.stdout.strip() == "No Encounter records."


def test_a_bad_bundle_is_one_line_and_imports_nothing(home: Path, tmp_path: Path) -> None:
    """The error names the entry and the path; the records are as they were."""
    before = vrm(home, "health", "list", "--json").stdout
    bundle = sample()
    resource(bundle, "obs-weight")["valueQuantity"]["value"] = "heavy"
    bundle["entry"].append({"resource": {"resourceType": "Patient", "id": "new"}})
    spoiled = tmp_path / "spoiled.json"
    spoiled.write_text(text(bundle), encoding="utf-8")
    result = vrm(home, "health", "import", str(spoiled))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "entry 8 (Observation): valueQuantity.value: not a number" in result.stderr
    assert "Traceback" not in result.stderr
    assert vrm(home, "health", "list", "--json").stdout == before
    missing = vrm(home, "health", "import", str(tmp_path / "absent.json"))
    assert missing.returncode == 1
    assert "Traceback" not in missing.stderr


def test_export_chosen_records_to_a_file(home: Path, tmp_path: Path) -> None:
    """--id twice and --output: a FHIR Bundle of those two, readable only by the person."""
    listed = json.loads(vrm(home, "health", "list", "--kind", "Observation", "--json").stdout)
    output = tmp_path / "for-dr-jones.json"
    ids = [str(r["id"]) for r in listed]
    result = vrm(home, "health", "export", "--id", ids[0], "--id", ids[1], "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert "not encrypted" in result.stderr
    bundle = Bundle.model_validate_json(output.read_text(encoding="utf-8"))
    assert bundle.entry is not None
    assert [entry.resource.id for entry in bundle.entry] == ["obs-hba1c", "obs-weight"]
    assert output.stat().st_mode & 0o077 == 0
    everything = json.loads(vrm(home, "health", "export").stdout)
    assert len(everything["entry"]) == 8
    unknown = vrm(home, "health", "export", "--id", "999")
    assert unknown.returncode == 1
    assert "no health record 999" in unknown.stderr


@pytest.fixture
def doctor_home(tmp_path: Path) -> Path:
    """An agent holding the sample's records and an active relationship with a doctor."""

    async def relate(person: PersonalAgent, network: VendorNetwork, clock: Clock) -> None:
        person.import_health_bundle(text(sample()), "clinic.json")
        await connect(person, network, "Leith Practice", clock=clock)

    filled_home(tmp_path, PASSPHRASE, relate)
    return tmp_path


def test_present_list_and_withdraw(doctor_home: Path) -> None:
    """Two records presented for 7 days; listed active; withdrawn; listed withdrawn."""
    asked = ["2", "4", "--to", "Leith Practice", "--for", "7d", "--purpose", "First visit"]
    presented = vrm(doctor_home, "health", "present", *asked)
    assert presented.returncode == 0, presented.stderr
    assert "Presented 2 health records to Leith Practice until " in presented.stdout
    assert "(presentation 1), encrypted to it" in presented.stdout
    assert "not delivered yet" in presented.stdout  # the doctor is not on this network
    listed = json.loads(vrm(doctor_home, "health", "presentations", "--json").stdout)
    assert [(p["id"], p["state"], p["purpose"]) for p in listed] == [(1, "active", "First visit")]
    assert [r["kind"] for r in listed[0]["records"]] == ["condition", "allergy"]
    table = vrm(doctor_home, "health", "presentations").stdout
    assert "Leith Practice" in table
    assert "active" in table

    withdrawn = vrm(doctor_home, "health", "withdraw", "1")
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert "Withdrew presentation 1: Leith Practice is told to delete the records" in (
        withdrawn.stdout
    )
    listed = json.loads(vrm(doctor_home, "health", "presentations", "--json").stdout)
    assert listed[0]["state"] == "withdrawn"


REFUSED = [
    (["2", "--to", "Leith Practice", "--for", "soon", "--purpose", "x"], "not a duration"),
    (["2", "--to", "Leith Practice", "--for", "1m", "--purpose", "x"], "at least 15 minutes"),
    (["2", "--to", "Leith Practice", "--purpose", "x"], "not both"),
    (["2", "--to", "Nobody", "--for", "7d", "--purpose", "x"], "no vendor called 'Nobody'"),
    (["99", "--to", "Leith Practice", "--for", "7d", "--purpose", "x"], "no health record 99"),
]


def test_a_presentation_that_does_not_fit_is_one_line(doctor_home: Path) -> None:
    """One line on stderr saying why, each time; nothing presented; nothing to withdraw."""
    for args, said in REFUSED:
        refused = vrm(doctor_home, "health", "present", *args)
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert said in refused.stderr
        assert "Traceback" not in refused.stderr
    assert "No presentations yet" in vrm(doctor_home, "health", "presentations").stdout
    missing = vrm(doctor_home, "health", "withdraw", "7")
    assert missing.returncode == 1
    assert "no health presentation 7" in missing.stderr
