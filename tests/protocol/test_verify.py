"""The Verifier: one test per refusal code, the accepted path, and the type registry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from vrm.protocol import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CLOCK_SKEW,
    LEGACY_ALG,
    PING,
    PING_RESPONSE,
    PROBLEM_REPORT,
    Identity,
    MemorySeenIds,
    Message,
    MessageTypes,
    Ping,
    PingResponse,
    ProblemReport,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    kid_for,
    new_envelope,
    sign_compact,
    sign_message,
    v1_types,
    x25519_from_did,
    x25519_multibase,
)
from vrm.protocol.encoding import b64url_encode

from .support import T0, FakeClock, compact_with_header

BLOB = "vrm/1/test.blob"
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class Blob(BaseModel):
    """A test body that can be made as large as a test needs."""

    model_config = ConfigDict(extra="forbid")

    data: str


def _types_with_blob() -> MessageTypes:
    types = v1_types()
    types.add(BLOB, Blob)
    return types


def _verifier(
    receiver: Identity | None,
    clock: FakeClock,
    *,
    seen_ids: MemorySeenIds | None = None,
    types: MessageTypes | None = None,
    **options: Any,
) -> Verifier:
    return Verifier(
        receiver=None if receiver is None else receiver.did,
        types=v1_types() if types is None else types,
        seen_ids=seen_ids,
        clock=clock,
        **options,
    )


def _refusal(verifier: Verifier, token: str | bytes) -> RefusalCode:
    with pytest.raises(ProtocolError) as caught:
        verifier.verify(token)
    assert str(caught.value).startswith(caught.value.code.value + ": ")
    return caught.value.code


def _ping(sender: Identity, receiver: Identity, **options: Any) -> str:
    options.setdefault("now", T0)
    return compose(sender, type=PING, to=receiver.did, body=Ping(), **options)[1]


def _envelope_dict(sender: str, receiver: str, **changes: Any) -> dict[str, Any]:
    envelope = {
        "id": "msg-1",
        "type": PING,
        "from": sender,
        "to": receiver,
        "created_time": T0,
        "expires_time": T0 + 3600,
        "body": {},
    }
    envelope.update(changes)
    return envelope


def _signed_dict(envelope: dict[str, Any], identity: Identity) -> str:
    return sign_compact(json.dumps(envelope).encode(), identity)


# --- the accepted path -------------------------------------------------------------------


def test_accepted_message_carries_envelope_body_sender_and_type(alice, bob, clock):
    """A good message comes back with its envelope, typed body, sender, type and the JWS."""
    envelope, token = compose(
        alice, type=PING, to=bob.did, body=Ping(comment="hello", response_requested=False), now=T0
    )
    message = _verifier(bob, clock, seen_ids=MemorySeenIds(clock)).verify(token)
    assert isinstance(message, Message)
    assert message.envelope == envelope
    assert message.body == Ping(comment="hello", response_requested=False)
    assert isinstance(message.body, Ping)
    assert message.sender == alice.did
    assert message.type == PING
    assert message.id == envelope.id
    assert message.compact == token
    assert message.header == {"alg": "Ed25519", "kid": alice.kid, "typ": "vrm+jws"}


def test_accepted_message_given_as_bytes(alice, bob, clock):
    """A message handed over as raw request bytes is verified like the text."""
    envelope, token = compose(alice, type=PING, to=bob.did, body=Ping(), now=T0)
    message = _verifier(bob, clock).verify(token.encode("ascii"))
    assert message.envelope == envelope
    assert message.compact == token


def test_reply_with_thid_is_accepted(alice, bob, clock):
    """A ping response threaded to a ping keeps its thid through verification."""
    ping, _ = compose(alice, type=PING, to=bob.did, body=Ping(), now=T0)
    _, reply = compose(
        bob, type=PING_RESPONSE, to=alice.did, body=PingResponse(), thid=ping.id, now=T0
    )
    message = _verifier(alice, clock).verify(reply)
    assert message.envelope.thid == ping.id
    assert message.body == PingResponse()


def test_problem_report_with_refusal_code_is_accepted(alice, bob, clock):
    """A problem report naming a refusal code verifies with that code in its body."""
    body = ProblemReport(code=RefusalCode.REPLAY, detail="seen it")
    _, token = compose(alice, type=PROBLEM_REPORT, to=bob.did, body=body, now=T0)
    message = _verifier(bob, clock).verify(token)
    assert message.body == body
    assert message.body.code == RefusalCode.REPLAY


def test_legacy_alg_eddsa_is_accepted(alice, bob, clock):
    """A message whose header says alg EdDSA (the pre-RFC 9864 name) is accepted."""
    envelope = new_envelope(type=PING, sender=alice.did, to=bob.did, body=Ping(), now=T0)
    token = compact_with_header({"alg": LEGACY_ALG, "kid": alice.kid}, envelope.to_json(), alice)
    message = _verifier(bob, clock).verify(token)
    assert message.envelope == envelope
    assert message.header["alg"] == "EdDSA"


def test_verifier_without_receiver_or_store_accepts_any_recipient_and_repeats(
    alice, bob, carol, clock
):
    """With receiver=None and seen_ids=None any addressee is fine and repeats are let through."""
    verifier = _verifier(None, clock)
    to_bob = _ping(alice, bob)
    to_carol = _ping(alice, carol)
    assert verifier.verify(to_bob).envelope.to == bob.did
    assert verifier.verify(to_carol).envelope.to == carol.did
    assert verifier.verify(to_bob).envelope.to == bob.did


def test_verifier_keeps_verifying_many_senders(alice, bob, carol, clock):
    """One verifier checks messages from several senders, each under its own key."""
    verifier = _verifier(bob, clock, seen_ids=MemorySeenIds(clock))
    for _ in range(3):
        assert verifier.verify(_ping(alice, bob)).sender == alice.did
        assert verifier.verify(_ping(carol, bob)).sender == carol.did


def test_sign_message_refuses_envelope_of_another_sender(alice, bob):
    """sign_message will not sign an envelope whose from is not the signer."""
    envelope = new_envelope(type=PING, sender=bob.did, to=alice.did, body=Ping())
    with pytest.raises(ValueError, match="from"):
        sign_message(envelope, alice)


# --- malformed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param("a.b.c", id="short-signature"),
        pytest.param("a.b.c.d.e", id="five-segments"),
        pytest.param(b"\xff\xfe\x00", id="binary"),
        pytest.param("é" * 10, id="non-ascii-text"),
    ],
)
def test_garbage_is_malformed(bob, clock, token):
    """Text that is not a compact JWS is refused as malformed."""
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.MALFORMED


def test_two_segments_are_malformed(alice, bob, clock):
    """A JWS cut down to header and payload (no signature) is malformed."""
    header, payload, _ = _ping(alice, bob).split(".")
    assert _refusal(_verifier(bob, clock), f"{header}.{payload}") == RefusalCode.MALFORMED


def test_padded_or_non_canonical_signature_is_malformed(alice, bob, clock):
    """A signature segment with padding or stray low bits is malformed, not reinterpreted."""
    token = _ping(alice, bob)
    verifier = _verifier(bob, clock)
    assert _refusal(verifier, token + "==") == RefusalCode.MALFORMED
    header, payload, signature = token.split(".")
    # The last of 86 characters carries 2 data bits; flipping its lowest bit changes no byte.
    last = B64URL_ALPHABET.index(signature[-1])
    tampered = signature[:-1] + B64URL_ALPHABET[last ^ 1]
    assert _refusal(verifier, f"{header}.{payload}.{tampered}") == RefusalCode.MALFORMED


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'{"hello": "world"}', id="other-object"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_payload_that_is_not_an_envelope_is_malformed(alice, bob, clock, payload):
    """A properly signed payload that is not an envelope is malformed."""
    assert _refusal(_verifier(bob, clock), sign_compact(payload, alice)) == RefusalCode.MALFORMED


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"expires_time": T0 - 1}, id="expires-before-created"),
        pytest.param({"expires_time": T0}, id="expires-at-created"),
        pytest.param({"id": ""}, id="empty-id"),
        pytest.param({"id": "has space"}, id="id-with-space"),
        pytest.param({"to": "bob"}, id="to-not-a-did"),
        pytest.param({"type": "ping"}, id="type-not-versioned"),
        pytest.param({"created_time": -1}, id="negative-time"),
        pytest.param({"body": []}, id="body-not-object"),
    ],
)
def test_invalid_envelope_is_malformed(alice, bob, clock, changes):
    """A signed envelope that breaks the envelope rules is malformed."""
    token = _signed_dict(_envelope_dict(alice.did, bob.did, **changes), alice)
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.MALFORMED


def test_envelope_missing_a_member_is_malformed(alice, bob, clock):
    """A signed envelope without expires_time is malformed."""
    envelope = _envelope_dict(alice.did, bob.did)
    del envelope["expires_time"]
    assert _refusal(_verifier(bob, clock), _signed_dict(envelope, alice)) == RefusalCode.MALFORMED


def test_hand_built_envelope_is_accepted(alice, bob, clock):
    """The hand-built envelopes the malformed tests change are themselves accepted."""
    token = _signed_dict(_envelope_dict(alice.did, bob.did), alice)
    assert _verifier(bob, clock).verify(token).id == "msg-1"


def test_new_envelope_refuses_non_positive_lifetime(alice, bob):
    """An envelope cannot be built to expire when (or before) it is created."""
    with pytest.raises(ValueError, match="expires_time"):
        new_envelope(type=PING, sender=alice.did, to=bob.did, body=Ping(), lifetime=0)


# --- oversize ----------------------------------------------------------------------------


def test_message_over_configured_limit_is_oversize(alice, bob, clock):
    """A message one byte over a receiver's max_bytes is refused; at the limit it passes."""
    token = _ping(alice, bob)
    assert _refusal(_verifier(bob, clock, max_bytes=len(token) - 1), token) == RefusalCode.OVERSIZE
    assert _verifier(bob, clock, max_bytes=len(token)).verify(token).sender == alice.did


def test_small_limit_refuses_bytes_too(alice, bob, clock):
    """The size limit applies to a message given as bytes."""
    token = _ping(alice, bob).encode()
    assert _refusal(_verifier(bob, clock, max_bytes=100), token) == RefusalCode.OVERSIZE


def test_oversize_is_checked_before_anything_else(bob, clock):
    """Huge garbage is refused for its size, without being parsed."""
    assert _refusal(_verifier(bob, clock, max_bytes=10), "x" * 11) == RefusalCode.OVERSIZE


def _blob_token(sender: Identity, receiver: Identity, size: int) -> str:
    """Return the signed blob message whose length is the largest not above ``size``."""

    def token_with(pad: int) -> str:
        body = Blob(data="x" * pad)
        return compose(sender, type=BLOB, to=receiver.did, body=body, now=T0)[1]

    # Each padding character adds 4/3 characters of base64url: jump close, then step.
    pad = max(0, (size - len(token_with(0))) * 3 // 4 - 3)
    token = token_with(pad)
    assert len(token) <= size
    while len(candidate := token_with(pad + 1)) <= size:
        token, pad = candidate, pad + 1
    return token


def test_default_limit_is_256_kib(alice, bob, clock):
    """By default a message just over 256 KiB is refused and one just under it is accepted."""
    assert DEFAULT_MAX_BYTES == 256 * 1024
    verifier = _verifier(bob, clock, types=_types_with_blob())
    fits = _blob_token(alice, bob, DEFAULT_MAX_BYTES)
    assert DEFAULT_MAX_BYTES - 2 <= len(fits) <= DEFAULT_MAX_BYTES
    assert verifier.verify(fits).sender == alice.did
    too_big = _blob_token(alice, bob, DEFAULT_MAX_BYTES + 3)
    assert DEFAULT_MAX_BYTES < len(too_big) <= DEFAULT_MAX_BYTES + 3
    assert _refusal(verifier, too_big) == RefusalCode.OVERSIZE


# --- unsupported algorithm ---------------------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "none", "ES256K"])
def test_unsupported_algorithm(alice, bob, clock, alg):
    """A header with an algorithm other than Ed25519/EdDSA is refused as unsupported."""
    envelope = new_envelope(type=PING, sender=alice.did, to=bob.did, body=Ping(), now=T0)
    token = compact_with_header({"alg": alg, "kid": alice.kid}, envelope.to_json(), alice)
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.UNSUPPORTED_ALGORITHM


# --- unresolvable key --------------------------------------------------------------------


def _unresolvable_kids(alice: Identity, bob: Identity) -> dict[str, str]:
    x25519_did = "did:key:" + x25519_multibase(x25519_from_did(bob.did))
    return {
        "did-web": "did:web:example.com#key-1",
        "fragment-of-another-did": alice.did + "#" + bob.did.removeprefix("did:key:"),
        "no-fragment": alice.did,
        "x25519-did-key": kid_for(x25519_did),
        "not-base58": kid_for("did:key:z0OIl"),
    }


@pytest.mark.parametrize(
    "case", ["did-web", "fragment-of-another-did", "no-fragment", "x25519-did-key", "not-base58"]
)
def test_unresolvable_key(alice, bob, clock, case):
    """A kid that does not name an Ed25519 did:key verification method is unresolvable."""
    kid = _unresolvable_kids(alice, bob)[case]
    envelope = new_envelope(type=PING, sender=alice.did, to=bob.did, body=Ping(), now=T0)
    token = compact_with_header({"alg": "Ed25519", "kid": kid}, envelope.to_json(), alice)
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.UNRESOLVABLE_KEY


# --- bad signature -----------------------------------------------------------------------


def test_signature_of_another_key_is_bad_signature(alice, bob, carol, clock):
    """Alice's header and payload with carol's signature over them is a bad signature."""
    header, payload, _ = _ping(alice, bob).split(".")
    signature = b64url_encode(carol.sign(f"{header}.{payload}".encode()))
    token = f"{header}.{payload}.{signature}"
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.BAD_SIGNATURE


def test_signature_of_another_message_is_bad_signature(alice, bob, clock):
    """A signature alice made for one message does not carry over to another."""
    header, payload, _ = _ping(alice, bob).split(".")
    _, _, other_signature = _ping(alice, bob).split(".")
    token = f"{header}.{payload}.{other_signature}"
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.BAD_SIGNATURE


def test_bad_signature_after_good_one_from_same_sender(alice, bob, carol, clock):
    """A verifier that already knows alice's header still checks every signature."""
    verifier = _verifier(bob, clock)
    good = _ping(alice, bob)
    verifier.verify(good)
    header, payload, _ = good.split(".")
    forged = f"{header}.{payload}." + b64url_encode(carol.sign(f"{header}.{payload}".encode()))
    assert _refusal(verifier, forged) == RefusalCode.BAD_SIGNATURE


# --- sender mismatch ---------------------------------------------------------------------


def test_kid_of_one_party_and_from_of_another_is_sender_mismatch(alice, bob, carol, clock):
    """Alice signing an envelope that claims to be from carol is a sender mismatch."""
    envelope = new_envelope(type=PING, sender=carol.did, to=bob.did, body=Ping(), now=T0)
    token = sign_compact(envelope.to_json(), alice)
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.SENDER_MISMATCH


# --- wrong recipient ---------------------------------------------------------------------


def test_message_to_another_party_is_wrong_recipient(alice, bob, carol, clock):
    """A message addressed to carol is refused by bob's verifier."""
    assert _refusal(_verifier(bob, clock), _ping(alice, carol)) == RefusalCode.WRONG_RECIPIENT


# --- expired -----------------------------------------------------------------------------


def test_message_at_its_expiry_is_expired(alice, bob, clock):
    """A message is refused once the receiver's clock reaches its expires_time."""
    token = _ping(alice, bob, lifetime=60)
    clock.now = T0 + 60
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.EXPIRED
    clock.now = T0 + 10_000
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.EXPIRED


def test_message_just_before_expiry_is_accepted(alice, bob, clock):
    """A message is accepted up to the second before its expires_time."""
    token = _ping(alice, bob, lifetime=60)
    clock.now = T0 + 59.5
    assert _verifier(bob, clock).verify(token).sender == alice.did


# --- created in the future ---------------------------------------------------------------


def test_message_created_301_seconds_ahead_is_refused(alice, bob, clock):
    """A message created more than 300 s ahead of the receiver's clock is refused."""
    assert DEFAULT_MAX_CLOCK_SKEW == 300
    token = _ping(alice, bob, now=T0 + 301)
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.CREATED_IN_FUTURE


@pytest.mark.parametrize("ahead", [299, 300])
def test_message_created_up_to_300_seconds_ahead_is_accepted(alice, bob, clock, ahead):
    """Clock skew of up to 300 s between sender and receiver is tolerated."""
    token = _ping(alice, bob, now=T0 + ahead)
    assert _verifier(bob, clock).verify(token).envelope.created_time == T0 + ahead


def test_configured_clock_skew_is_used(alice, bob, clock):
    """A receiver's max_clock_skew replaces the default tolerance."""
    token = _ping(alice, bob, now=T0 + 11)
    verifier = _verifier(bob, clock, max_clock_skew=10)
    assert _refusal(verifier, token) == RefusalCode.CREATED_IN_FUTURE
    clock.now = T0 + 1
    assert verifier.verify(token).sender == alice.did


def test_early_message_is_not_remembered(alice, bob, clock):
    """A message refused as early is accepted once the clock catches up (not seen as a replay)."""
    verifier = _verifier(bob, clock, seen_ids=MemorySeenIds(clock))
    token = _ping(alice, bob, now=T0 + 1000)
    assert _refusal(verifier, token) == RefusalCode.CREATED_IN_FUTURE
    clock.now = T0 + 1000
    assert verifier.verify(token).sender == alice.did


# --- unknown type ------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["vrm/1/unheard-of", "vrm/2/ping", "vrm/1/ping.request"])
def test_unregistered_type_is_unknown(alice, bob, clock, type_name):
    """A well-formed type name this receiver has not registered is refused as unknown."""
    _, token = compose(alice, type=type_name, to=bob.did, body={}, now=T0)
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.UNKNOWN_TYPE


def test_empty_registry_knows_no_type(alice, bob, clock):
    """A receiver with an empty registry refuses even ping as unknown."""
    verifier = _verifier(bob, clock, types=MessageTypes())
    assert _refusal(verifier, _ping(alice, bob)) == RefusalCode.UNKNOWN_TYPE


# --- invalid body ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "body"),
    [
        pytest.param(PING, {"unknown": 1}, id="ping-unknown-member"),
        pytest.param(PING, {"comment": "x" * 1025}, id="ping-comment-too-long"),
        pytest.param(PING, {"comment": 5}, id="ping-comment-not-text"),
        pytest.param(PING, {"response_requested": "maybe"}, id="ping-flag-not-bool"),
        pytest.param(PROBLEM_REPORT, {}, id="problem-report-without-code"),
        pytest.param(PROBLEM_REPORT, {"code": "Not A Code"}, id="problem-report-bad-code"),
        pytest.param(PING_RESPONSE, {"comment": None, "extra": True}, id="response-extra"),
    ],
)
def test_body_breaking_its_schema_is_invalid(alice, bob, clock, type_name, body):
    """A body that does not fit its type's model is refused as an invalid body."""
    _, token = compose(alice, type=type_name, to=bob.did, body=body, now=T0)
    assert _refusal(_verifier(bob, clock), token) == RefusalCode.INVALID_BODY


def test_longest_allowed_comment_is_accepted(alice, bob, clock):
    """A ping comment of exactly 1024 characters is within the schema."""
    _, token = compose(alice, type=PING, to=bob.did, body={"comment": "x" * 1024}, now=T0)
    assert _verifier(bob, clock).verify(token).body == Ping(comment="x" * 1024)


# --- replay ------------------------------------------------------------------------------


def test_same_message_twice_is_replay(alice, bob, clock):
    """The second delivery of the same message is refused as a replay."""
    verifier = _verifier(bob, clock, seen_ids=MemorySeenIds(clock))
    token = _ping(alice, bob)
    verifier.verify(token)
    assert _refusal(verifier, token) == RefusalCode.REPLAY


def test_different_message_with_same_id_is_replay(alice, bob, clock):
    """A new message reusing an accepted message's id is refused as a replay."""
    verifier = _verifier(bob, clock, seen_ids=MemorySeenIds(clock))
    first = new_envelope(
        type=PING, sender=alice.did, to=bob.did, body=Ping(), now=T0, message_id="same-id"
    )
    second = new_envelope(
        type=PING,
        sender=alice.did,
        to=bob.did,
        body=Ping(comment="different"),
        now=T0 + 1,
        message_id="same-id",
    )
    verifier.verify(sign_message(first, alice))
    assert _refusal(verifier, sign_message(second, alice)) == RefusalCode.REPLAY


def test_unrecorded_message_is_let_in_until_recorded(alice, bob, clock):
    """Verified with record=False a message stays new until the receiver records it."""
    seen = MemorySeenIds(clock)
    verifier = _verifier(bob, clock, seen_ids=seen)
    token = _ping(alice, bob)
    message = verifier.verify(token, record=False)
    assert verifier.verify(token, record=False).id == message.id
    assert verifier.record(message) is True
    assert _refusal(verifier, token) == RefusalCode.REPLAY
    assert verifier.record(message) is False


def test_types_whose_handler_keeps_replays_stay_out_of_the_seen_ids_store(alice, bob, clock):
    """The handler of such a type refuses repeats itself; other types are kept as usual."""
    seen = MemorySeenIds(clock)
    verifier = _verifier(bob, clock, seen_ids=seen, replays_kept_by_handler={PING})
    ping = _ping(alice, bob)
    assert verifier.verify(ping).id == verifier.verify(ping).id
    assert verifier.record(verifier.verify(ping)) is True
    assert len(seen) == 0
    _, pong = compose(alice, type=PING_RESPONSE, to=bob.did, body={}, now=T0)
    verifier.verify(pong)
    assert _refusal(verifier, pong) == RefusalCode.REPLAY


def test_refused_message_is_not_remembered(alice, bob, clock):
    """A message refused for another reason does not use up its id."""
    seen = MemorySeenIds(clock)
    strict = _verifier(bob, clock, seen_ids=seen, types=MessageTypes())
    token = _ping(alice, bob)
    assert _refusal(strict, token) == RefusalCode.UNKNOWN_TYPE
    assert len(seen) == 0
    assert _verifier(bob, clock, seen_ids=seen).verify(token).sender == alice.did
    assert len(seen) == 1


def test_seen_ids_are_dropped_after_expiry(alice, bob, clock):
    """The seen-ids store forgets a message once it has expired, so it does not grow forever."""
    seen = MemorySeenIds(clock)
    verifier = _verifier(bob, clock, seen_ids=seen)
    verifier.verify(_ping(alice, bob, lifetime=60))
    assert len(seen) == 1
    clock.now = T0 + 61
    verifier.verify(_ping(alice, bob, now=T0 + 61, lifetime=60))
    assert len(seen) == 1


# --- registry ----------------------------------------------------------------------------


def test_custom_type_registered_with_decorator_works_end_to_end(alice, bob, clock):
    """A service's own type registered with MessageTypes.register is composed and verified."""
    types = v1_types()

    @types.register("vrm/1/shop.order")
    class Order(BaseModel):
        model_config = ConfigDict(extra="forbid")

        sku: str
        quantity: int = Field(ge=1)

    assert "vrm/1/shop.order" in types
    assert types.model_for("vrm/1/shop.order") is Order
    _, token = compose(
        alice, type="vrm/1/shop.order", to=bob.did, body=Order(sku="A-1", quantity=2), now=T0
    )
    verifier = _verifier(bob, clock, types=types)
    message = verifier.verify(token)
    assert message.body == Order(sku="A-1", quantity=2)
    assert message.type == "vrm/1/shop.order"
    _, bad = compose(
        alice, type="vrm/1/shop.order", to=bob.did, body={"sku": "A-1", "quantity": 0}, now=T0
    )
    assert _refusal(verifier, bad) == RefusalCode.INVALID_BODY


@pytest.mark.parametrize(
    "name",
    [
        "ping",
        "vrm/ping",
        "vrm/0/ping",
        "vrm/01/ping",
        "vrm/1/Ping",
        "vrm/1/1ping",
        "vrm/1/ping.",
        "vrm/1/ping\n",
        "other/1/ping",
        "vrm/1/ping/extra",
        "",
    ],
)
def test_registering_bad_type_name_raises(name):
    """Only versioned type names like vrm/1/ping can be registered."""
    types = MessageTypes()
    with pytest.raises(ValueError, match="versioned type name"):
        types.register(name)
    with pytest.raises(ValueError, match="versioned type name"):
        types.add(name, Ping)
    assert list(types) == []


def test_registering_a_name_twice_to_different_models_raises():
    """A type name cannot be silently rebound to another body model."""
    types = v1_types()
    types.add(PING, Ping)
    with pytest.raises(ValueError, match="already registered"):
        types.add(PING, PingResponse)
    assert types.model_for(PING) is Ping


def test_update_merges_registries():
    """A registry updated from another understands both sets of types."""
    types = v1_types()
    extra = MessageTypes()
    extra.add(BLOB, Blob)
    types.update(extra)
    assert list(types) == sorted([PING, PING_RESPONSE, PROBLEM_REPORT, BLOB])


def test_v1_registries_are_independent():
    """Each v1_types() call gives a fresh registry; registering in one does not change another."""
    first = v1_types()
    first.add(BLOB, Blob)
    assert BLOB not in v1_types()


def test_json_schemas_cover_every_v1_type():
    """json_schemas() publishes a JSON Schema for every v1 message type."""
    schemas = v1_types().json_schemas()
    assert set(schemas) == {PING, PING_RESPONSE, PROBLEM_REPORT}
    assert schemas[PING] == Ping.model_json_schema()
    assert schemas[PING_RESPONSE] == PingResponse.model_json_schema()
    assert schemas[PROBLEM_REPORT] == ProblemReport.model_json_schema()
    assert {"comment", "response_requested"} <= set(schemas[PING]["properties"])
    assert schemas[PING]["additionalProperties"] is False
    assert "code" in schemas[PROBLEM_REPORT]["required"]
    assert json.loads(json.dumps(schemas)) == schemas
