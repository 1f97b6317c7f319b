"""``vrm reviews`` as a person types it: write, list, show, edit, feed, send, withdraw."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.agent.vendors import Clock, VendorNetwork, connect
from tests.cli.homes import filled_home
from tests.commandline import one_line_error, run_vrm
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import PartyState, verify_review

PASSPHRASE = "correct horse"
KETTLE = (
    "--item",
    "Blue kettle",
    "--rating",
    "4",
    "--title",
    "Quick and quiet",
    "--licence",
    "cc-by-nc",
    "--no-ai-training",
)


def vrm(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=PASSPHRASE, stdin=stdin)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An agent related with Book Barn, which refused the relationship; no review yet."""
    folder = tmp_path / "agent"

    async def fill(person: PersonalAgent, network: VendorNetwork, clock: Clock) -> None:
        await connect(person, network, "Book Barn", clock=clock, state=PartyState.REFUSED)

    filled_home(folder, PASSPHRASE, fill)
    return folder


def write_teapot(home: Path) -> str:
    """A review of a teapot signed as Kestrel; its number."""
    written = vrm(
        home,
        "reviews",
        "write",
        *KETTLE,
        "--item",
        "Teapot",
        "--body",
        "Leaks.",
        "--author",
        "Kestrel",
    )
    assert written.returncode == 0, written.stderr
    return written.stdout.split()[1]


def test_a_first_review_needs_a_name_to_sign_with(home: Path) -> None:
    """Without --author and no review yet, one line says what to give; nothing is written."""
    one_line_error(vrm(home, "reviews", "write", *KETTLE, "--body", "Fine."), "give --author NAME")
    assert json.loads(vrm(home, "reviews", "list", "--json").stdout) == []


def test_write_list_show_and_edit(home: Path) -> None:
    """Written with its body from standard input, listed, shown in words, edited as version 2."""
    body = "Boils a litre in two minutes without a whistle."
    written = vrm(
        home, "reviews", "write", *KETTLE, "--author", "Kestrel", "--body", "-", stdin=body
    )
    assert written.returncode == 0, written.stderr
    assert "written: Blue kettle, 4 stars, CC BY-NC 4.0 (AI training reserved)" in written.stdout
    [listed] = [
        r
        for r in json.loads(vrm(home, "reviews", "list", "--json").stdout)
        if r["review"]["itemReviewed"]["name"] == "Blue kettle"
    ]
    assert listed["review"]["reviewBody"] == body
    assert verify_review(listed["signed"]).review.author.name == "Kestrel"
    table = vrm(home, "reviews", "list")
    assert "Blue kettle" in table.stdout
    assert "CC BY-NC" in table.stdout

    number = str(listed["id"])
    shown = vrm(home, "reviews", "show", number)
    assert shown.returncode == 0, shown.stderr
    assert "Product Blue kettle, 4 of 5 stars" in shown.stdout
    assert "AI training included, is reserved" in shown.stdout
    assert "private: in no feed" in shown.stdout
    assert listed["signed"] in shown.stdout.replace("\n", "")

    edited = vrm(home, "reviews", "edit", number, "--rating", "2", "--ai-training", "--public")
    assert edited.returncode == 0, edited.stderr
    assert "is now version 2: Blue kettle, 2 stars, CC BY-NC 4.0, public" in edited.stdout
    again = json.loads(vrm(home, "reviews", "show", number, "--json").stdout)
    assert (again["review"]["tdm:reservation"], again["public"]) == (0, True)
    assert again["review"]["author"]["name"] == "Kestrel"


def test_the_feed_is_turned_on_and_off(home: Path) -> None:
    """Off at first; on prints the address vrm up serves it at; status as JSON."""
    assert "feed off" in vrm(home, "reviews", "feed", "status").stdout
    on = vrm(home, "reviews", "feed", "on")
    assert on.returncode == 0, on.stderr
    assert "feed on: http://127.0.0.1:8470/reviews" in on.stdout
    assert "reviewer: did:key:z6Mk" in on.stdout
    status = json.loads(vrm(home, "reviews", "feed", "status", "--json").stdout)
    assert (status["on"], status["url"]) == (True, "http://127.0.0.1:8470/reviews")
    assert "feed off" in vrm(home, "reviews", "feed", "off").stdout


def test_withdrawn_a_review_changes_no_more(home: Path) -> None:
    """Withdrawn says how many vendors were told; then edits and sending are one-line errors."""
    number = write_teapot(home)
    again = vrm(home, "reviews", "write", *KETTLE, "--body", "Still leaks.")
    assert again.returncode == 0, again.stderr  # signed with the last name used
    withdrawn = vrm(home, "reviews", "withdraw", number)
    assert f"review {number} withdrawn; 0 vendors told" in withdrawn.stdout
    one_line_error(vrm(home, "reviews", "edit", number, "--rating", "1"), "was withdrawn")
    one_line_error(vrm(home, "reviews", "send", number, "--to", "Book Barn"), "was withdrawn")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("reviews", "write", *KETTLE, "--rating", "7", "--body", "x", "--author", "K"), "1 to 5"),
        (
            ("reviews", "write", *KETTLE, "--licence", "mine", "--body", "x", "--author", "K"),
            "No licence 'mine'",
        ),
        (
            ("reviews", "write", *KETTLE, "--licence", "cc0", "--body", "x", "--author", "K"),
            "CC0 gives up every right",
        ),
        (("reviews", "show", "99"), "no review 99"),
        (("reviews", "edit", "1"), "say what changes"),
        (("reviews", "send", "1", "--to", "Book Barn"), "accepted and neither side ended"),
        (("reviews", "send", "1", "--to", "Nobody Ltd"), "Nobody Ltd"),
    ],
)
def test_mistakes_are_one_line(home: Path, args: tuple[str, ...], expected: str) -> None:
    """Stars out of range, an unknown licence, CC0 reserved, no such review or vendor: one line."""
    if args[2:3] == ("1",):  # about review 1: write it first
        assert write_teapot(home) == "1"
    one_line_error(vrm(home, *args), expected)
