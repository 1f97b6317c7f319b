"""The Health pages in-process: records by kind, one record, import, export, present, withdraw."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.agent.health.bundles import resource, sample, text
from tests.agent.vendors import Clock, VendorNetwork, connect, from_vendor
from tests.agent.web.test_pages import csrf_of
from vrm.agent.health.desk import HealthDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import HEALTH_DELETED

pytestmark = pytest.mark.anyio
PAGE = "/health-records"


def numbers(person: PersonalAgent, *resource_ids: str) -> list[int]:
    held = {record.resource["id"]: record.id for record in person.health_resources()}
    return [held[resource_id] for resource_id in resource_ids]


async def import_form(client: httpx.AsyncClient) -> str:
    """The import form's address, with the session's token in it."""
    page = await client.get(PAGE)
    found = re.search(r'action="(/health-records/import\?csrf_token=[^"]+)"', page.text)
    assert found, page.text
    return found.group(1).replace("&amp;", "&")


async def test_records_are_shown_by_kind_in_words_and_one_by_one(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Each kind under its heading, each record in a line; a record's page shows it whole."""
    person.import_health_bundle(text(sample()), "clinic.json")
    page = await signed_in.get(PAGE)
    assert page.status_code == 200
    headings = re.findall(r'<h3 id="kind-\d+">([^<]+)</h3>', page.text)
    assert headings == [
        "Patient",
        "Conditions",
        "Allergies",
        "Medicines",
        "Immunisations",
        "Observations",
    ]
    assert "Type 2 diabetes mellitus — active, onset 2019-03-12" in page.text
    assert 'aria-current="page">Health</a>' in page.text

    [number] = numbers(person, "cond-diabetes")
    shown = await signed_in.get(f"{PAGE}/{number}")
    assert shown.status_code == 200
    assert "<h1>Type 2 diabetes mellitus</h1>" in shown.text
    assert "clinic.json" in shown.text
    assert "cond-diabetes" in shown.text  # the resource itself, as imported
    for missing in ("999", "x²"):
        assert (await signed_in.get(f"{PAGE}/{missing}")).status_code == 404


async def test_a_bundle_uploaded_or_pasted_is_imported(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """A file: every record, named after the file; pasted text: the same, said so."""
    action = await import_form(signed_in)
    sent = await signed_in.post(
        action, files={"bundle_file": ("portal.json", text(sample()), "application/json")}
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{PAGE}?imported=8"
    assert "Imported 8 health records." in (await signed_in.get(sent.headers["location"])).text
    assert {record.source for record in person.health_resources()} == {"portal.json"}

    pasted = await signed_in.post(
        await import_form(signed_in), files={"bundle_text": (None, text(sample()))}
    )
    assert pasted.status_code == 303
    assert {record.source for record in person.health_resources()} == {"pasted on the Health page"}


async def test_an_invalid_bundle_says_which_entry_and_field_and_imports_nothing(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """422 with the entry and field named, the pasted text kept; nothing is kept; no form: 422;
    no token: 403."""
    bundle = sample()
    resource(bundle, "obs-hba1c")["valueQuantity"]["value"] = "high"
    refused = await signed_in.post(
        await import_form(signed_in), files={"bundle_text": (None, text(bundle))}
    )
    assert refused.status_code == 422
    assert "Nothing was imported: invalid FHIR R5 Bundle: entry 7 (Observation): " in refused.text
    assert "valueQuantity.value: not a number" in refused.text
    assert "&#34;high&#34;" in refused.text  # the pasted Bundle, there to mend
    empty = await signed_in.post(await import_form(signed_in), files={"bundle_text": (None, "")})
    assert empty.status_code == 422
    assert "Choose a FHIR Bundle file, or paste one." in empty.text
    forged = await signed_in.post(f"{PAGE}/import", files={"bundle_text": (None, text(sample()))})
    assert forged.status_code == 403
    assert person.health_resources() == []


async def test_the_export_is_a_post_and_is_audited(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """POST with the token: a FHIR Bundle to download, logged once as gone to the web."""
    person.import_health_bundle(text(sample()), "clinic.json")
    page = await signed_in.get(PAGE)
    download = await signed_in.post(f"{PAGE}/export", data={"csrf_token": csrf_of(page)})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/fhir+json")
    assert "attachment" in download.headers["content-disposition"]
    assert len(json.loads(download.text)["entry"]) == 8
    assert (await signed_in.get(f"{PAGE}/export")).status_code == 404  # a link exports nothing
    [details] = [e.details for e in person.audit_entries() if e.kind == "health.exported"]
    assert details["to"] == "web"


async def test_records_are_presented_listed_withdrawn_and_their_deletion_shown(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Two records chosen for 7 days; listed active; withdrawn; the doctor's word is shown."""
    person.import_health_bundle(text(sample()), "clinic.json")
    doctor, relationship = await connect(person, network, "Leith Practice", clock=clock)
    page = await signed_in.get(PAGE)
    assert f'<option value="{relationship.id}">Leith Practice</option>' in page.text
    chosen = numbers(person, "cond-diabetes", "allergy-penicillin")
    form = {
        "csrf_token": csrf_of(page),
        **{f"record-{number}": "on" for number in chosen},
        "vendor": str(relationship.id),
        "for": "7d",
        "until": "",
        "purpose": "First visit",
    }
    sent = await signed_in.post(f"{PAGE}/present", data=form)
    assert sent.status_code == 303
    [presented] = HealthDesk(person).presentations()
    assert sent.headers["location"] == f"{PAGE}?presented={presented.id}#presentations"
    assert [record.id for record in presented.records] == chosen
    listed = await signed_in.get(PAGE)
    assert "To Leith Practice" in listed.text
    assert 'class="state state-active">active' in listed.text
    assert "held by the doctor until then" in listed.text

    withdrawn = await signed_in.post(
        f"{PAGE}/presentations/{presented.id}/withdraw", data={"csrf_token": csrf_of(listed)}
    )
    assert withdrawn.status_code == 303
    after = await signed_in.get(withdrawn.headers["location"])
    assert f"Withdrew presentation {presented.id}" in after.text
    assert 'class="state state-withdrawn">withdrawn' in after.text
    assert "not confirmed yet" in after.text
    again = await signed_in.post(
        f"{PAGE}/presentations/{presented.id}/withdraw", data={"csrf_token": csrf_of(after)}
    )
    assert again.status_code == 409
    assert "withdrawn already" in again.text

    body = {
        "presentation": presented.presentation,
        "deleted_time": int(clock()),
        "reason": "revoked",
    }
    person.receive(
        from_vendor(
            person,
            doctor.identity,
            relationship.our_did,
            body,
            type=HEALTH_DELETED,
            clock=clock,
        )
    )
    assert "deleted, confirmed at" in (await signed_in.get(PAGE)).text


async def test_a_presentation_refused_says_why_and_keeps_the_choices(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """No record, no doctor, a date missing: 422 in words, what was chosen still chosen."""
    person.import_health_bundle(text(sample()), "clinic.json")
    _doctor, relationship = await connect(person, network, "Leith Practice", clock=clock)
    page = await signed_in.get(PAGE)
    [number] = numbers(person, "obs-hba1c")
    base = {"csrf_token": csrf_of(page), "vendor": str(relationship.id), "purpose": "Check-up"}
    cases = [
        ({**base, "for": "7d"}, "Choose at least one health record to present."),
        ({**base, f"record-{number}": "on", "vendor": "", "for": "7d"}, "Choose the doctor"),
        ({**base, f"record-{number}": "on", "for": "until", "until": ""}, "Give how long"),
    ]
    for form, said in cases:
        refused = await signed_in.post(f"{PAGE}/present", data=form)
        assert refused.status_code == 422, refused.text
        assert said in refused.text
        assert 'value="Check-up"' in refused.text
    assert f'name="record-{number}" value="on" checked' in refused.text
    assert HealthDesk(person).presentations() == []


async def test_without_an_active_relationship_the_page_says_where_to_add_a_doctor(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Records held, no doctor yet: no form, a pointer to Vendors."""
    person.import_health_bundle(text(sample()), "clinic.json")
    page = await signed_in.get(PAGE)
    assert "add their endpoint on" in page.text
    assert 'action="/health-records/present"' not in page.text
