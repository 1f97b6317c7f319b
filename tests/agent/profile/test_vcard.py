"""The profile as a vCard 4, and vCards (3 and 4) read back into fields."""

from __future__ import annotations

import pytest

from vrm.agent.profile.fields import InvalidField
from vrm.agent.profile.vcard import from_vcard, to_vcard

PROFILE = {
    "name.given": "Ann",
    "name.family": "Quince",
    "name.nickname": "Q",
    "email.primary": "ann@example.org",
    "email.grandmas-house": "g@example.org",
    "phone.mobile": "+44 7700 900123",
    "phone.work": "+44 20 7946 0000",
    "address.home": {
        "streetAddress": "17 Quince Lane",
        "addressLocality": "Wrexford",
        "postalCode": "WX1 2AB",
        "addressCountry": "GB",
    },
    "address.shipping": {"streetAddress": "Depot 4", "addressCountry": "GB"},
    "birth_date": "1990-04-01",
    "language": "en-GB",
}


def test_round_trip_keeps_every_contact_field_and_label() -> None:
    """Exporting then importing gives back the same fields, own labels included."""
    result = from_vcard(to_vcard(PROFILE))
    assert result.fields == PROFILE
    assert result.skipped == []


def test_export_is_vcard_4_with_standard_properties() -> None:
    """The export is a vCard 4 using FN, N, EMAIL, TEL, ADR, BDAY and LANG with TYPE/PREF."""
    card = to_vcard(PROFILE)
    assert card.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    for line in [
        "FN:Ann Quince",
        "N:Quince;Ann;;;",
        "EMAIL;PREF=1;X-VRM-LABEL=primary:ann@example.org",
        "TEL;TYPE=cell;X-VRM-LABEL=mobile:+44 7700 900123",
        "ADR;TYPE=home;X-VRM-LABEL=home:;;17 Quince Lane;Wrexford;;WX1 2AB;GB",
        "BDAY:1990-04-01",
        "LANG:en-GB",
    ]:
        assert line in card


def test_preferences_stay_out_of_the_vcard() -> None:
    """Preferences are not contact data and are not exported."""
    assert "42" not in to_vcard({"preference.shoe_size": "42", "name.given": "Ann"})


def test_vcard_3_from_another_address_book() -> None:
    """A vCard 3 from another program maps its TYPEs onto labels and checks each value."""
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob Smith\r\nN:Smith;Bob;;;\r\n"
        "EMAIL;TYPE=INTERNET,WORK:bob@work.example\r\nEMAIL:bob@home.example\r\n"
        "TEL;TYPE=CELL:+1 555 0100\r\n"
        "ADR;TYPE=HOME:;;1 Main St;Springfield;IL;62701;United States\r\n"
        "BDAY:19800102\r\nEND:VCARD\r\n"
    )
    result = from_vcard(card)
    assert result.fields == {
        "name.given": "Bob",
        "name.family": "Smith",
        "email.work": "bob@work.example",
        "email.primary": "bob@home.example",
        "phone.mobile": "+1 555 0100",
        "address.home": {
            "streetAddress": "1 Main St",
            "addressLocality": "Springfield",
            "addressRegion": "IL",
            "postalCode": "62701",
        },
        "birth_date": "1980-01-02",
    }
    assert result.skipped == [
        "address.home: country 'United States' is not an ISO 3166 code; left out"
    ]


def test_bad_values_in_a_card_are_skipped_with_reasons() -> None:
    """A value the profile would refuse is listed as skipped, and the rest still imports."""
    card = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:X\r\nEMAIL:not-an-email\r\nLANG:en\r\nEND:VCARD\r\n"
    result = from_vcard(card)
    assert result.fields == {"name.full": "X", "language": "en"}
    assert result.skipped == ["'not-an-email' is not a valid email"]


@pytest.mark.parametrize(
    "text", ["", "hello", '{"name.given": "Ann"}', "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"]
)
def test_unreadable_input_is_refused(text: str) -> None:
    """Something that is not a vCard is refused with a clear message."""
    with pytest.raises(InvalidField, match="vCard"):
        from_vcard(text)
