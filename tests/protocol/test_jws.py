"""Compact JWS: RFC 8037 Appendix A, interop with joserfc and jwcrypto, and header refusals."""

from __future__ import annotations

import json

import pytest
from joserfc import jws as joserfc_jws
from joserfc.errors import BadSignatureError as JoseBadSignatureError
from joserfc.errors import SecurityWarning
from joserfc.jwk import OctKey, OKPKey
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from vrm.protocol import (
    ACCEPTED_ALGS,
    ALG,
    LEGACY_ALG,
    PING,
    Identity,
    Ping,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    new_envelope,
    sign_compact,
    v1_types,
)
from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.protocol.jws import JWS_TYP, split_compact

from .support import compact_with_header, decode_segment_json, load_vectors

RFC8037 = load_vectors("rfc8037_ed25519_jws.json")


def _public_jwk(identity: Identity) -> dict[str, str]:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(identity.public_key)}


def _private_jwk(identity: Identity) -> dict[str, str]:
    return {**_public_jwk(identity), "d": b64url_encode(identity.seed)}


def _verifier(receiver: Identity) -> Verifier:
    return Verifier(receiver=receiver.did, types=v1_types(), seen_ids=None)


# --- RFC 8037 Appendix A -----------------------------------------------------------------


def test_rfc8037_compact_jws_verifies_with_pynacl():
    """The RFC 8037 example JWS splits into parts whose signature verifies with libsodium."""
    parts = split_compact(RFC8037["compact_jws"])
    assert parts.header_b64 == RFC8037["protected_header_b64"]
    assert parts.signing_input == RFC8037["signing_input"].encode("ascii")
    assert b64url_decode(parts.payload_b64) == RFC8037["payload"].encode()
    assert b64url_decode(parts.header_b64) == RFC8037["protected_header"].encode()
    verify_key = VerifyKey(b64url_decode(RFC8037["public_jwk"]["x"]))
    verify_key.verify(parts.signing_input, parts.signature)


def test_rfc8037_tampered_signature_does_not_verify():
    """The RFC 8037 check above is real: a changed signing input fails with libsodium."""
    parts = split_compact(RFC8037["compact_jws"])
    verify_key = VerifyKey(b64url_decode(RFC8037["public_jwk"]["x"]))
    with pytest.raises(BadSignatureError):
        verify_key.verify(parts.signing_input + b"x", parts.signature)


def test_rfc8037_private_key_gives_public_key_and_signature():
    """An identity from the RFC's private key has its public key and signs byte-for-byte alike."""
    identity = Identity.from_seed(b64url_decode(RFC8037["private_jwk"]["d"]))
    assert identity.public_key == b64url_decode(RFC8037["public_jwk"]["x"])
    signature = identity.sign(RFC8037["signing_input"].encode("ascii"))
    assert b64url_encode(signature) == RFC8037["signature"]


def test_sign_compact_of_rfc8037_payload_verifies():
    """sign_compact with the RFC's key gives a JWS (alg Ed25519, our kid) that verifies."""
    identity = Identity.from_seed(b64url_decode(RFC8037["private_jwk"]["d"]))
    token = sign_compact(RFC8037["payload"].encode(), identity)
    parts = split_compact(token)
    header = decode_segment_json(parts.header_b64)
    assert header == {"alg": ALG, "kid": identity.kid, "typ": JWS_TYP}
    assert parts.payload_b64 == RFC8037["payload_b64"]
    VerifyKey(b64url_decode(RFC8037["public_jwk"]["x"])).verify(
        parts.signing_input, parts.signature
    )


def test_verifier_refuses_rfc8037_example_without_kid(bob):
    """A JWS without a kid (like the RFC example) cannot be attributed and is malformed."""
    with pytest.raises(ProtocolError) as caught:
        _verifier(bob).verify(RFC8037["compact_jws"])
    assert caught.value.code == RefusalCode.MALFORMED


def test_algorithm_names():
    """We sign with the RFC 9864 name Ed25519 and accept exactly it and legacy EdDSA."""
    assert ALG == "Ed25519"
    assert LEGACY_ALG == "EdDSA"
    assert frozenset({"Ed25519", "EdDSA"}) == ACCEPTED_ALGS


# --- our messages verify elsewhere -------------------------------------------------------


def test_our_message_verifies_with_joserfc(alice, bob):
    """A message we compose verifies with joserfc (alg Ed25519) and carries the envelope."""
    envelope, token = compose(alice, type=PING, to=bob.did, body=Ping(comment="hi"))
    key = OKPKey.import_key(_public_jwk(alice))
    result = joserfc_jws.deserialize_compact(token, key, algorithms=["Ed25519"])
    assert result.payload == envelope.to_json()
    assert result.protected == {"alg": "Ed25519", "kid": alice.kid, "typ": JWS_TYP}


def test_our_message_with_another_key_fails_in_joserfc(alice, bob):
    """The joserfc check above can fail: our message does not verify under another key."""
    _, token = compose(alice, type=PING, to=bob.did, body=Ping())
    key = OKPKey.import_key(_public_jwk(bob))
    with pytest.raises(JoseBadSignatureError):
        joserfc_jws.deserialize_compact(token, key, algorithms=["Ed25519"])


def test_our_message_verifies_with_jwcrypto(alice, bob):
    """A message we compose verifies with jwcrypto restricted to alg Ed25519."""
    envelope, token = compose(alice, type=PING, to=bob.did, body=Ping(comment="hi"))
    received = jwcrypto_jws.JWS()
    received.allowed_algs = ["Ed25519"]
    received.deserialize(token, key=jwcrypto_jwk.JWK(**_public_jwk(alice)))
    assert received.payload == envelope.to_json()
    assert received.jose_header["kid"] == alice.kid


def test_our_message_with_another_key_fails_in_jwcrypto(alice, bob):
    """The jwcrypto check above can fail: our message does not verify under another key."""
    _, token = compose(alice, type=PING, to=bob.did, body=Ping())
    received = jwcrypto_jws.JWS()
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        received.deserialize(token, key=jwcrypto_jwk.JWK(**_public_jwk(bob)))


# --- their messages verify here ----------------------------------------------------------


def _envelope_json(sender: Identity, receiver: Identity, comment: str) -> bytes:
    return new_envelope(
        type=PING, sender=sender.did, to=receiver.did, body=Ping(comment=comment)
    ).to_json()


def test_joserfc_message_with_alg_ed25519_is_accepted(alice, bob):
    """A message signed by joserfc with alg Ed25519 and our kid passes our Verifier."""
    payload = _envelope_json(alice, bob, "from joserfc")
    token = joserfc_jws.serialize_compact(
        {"alg": "Ed25519", "kid": alice.kid},
        payload,
        OKPKey.import_key(_private_jwk(alice)),
        algorithms=["Ed25519"],
    )
    message = _verifier(bob).verify(token)
    assert message.sender == alice.did
    assert message.body == Ping(comment="from joserfc")
    assert message.header["alg"] == "Ed25519"


def test_joserfc_message_with_legacy_alg_eddsa_is_accepted(alice, bob):
    """A message signed by joserfc with the deprecated alg EdDSA passes our Verifier."""
    payload = _envelope_json(alice, bob, "legacy joserfc")
    with pytest.warns(SecurityWarning, match="EdDSA"):
        token = joserfc_jws.serialize_compact(
            {"alg": "EdDSA", "kid": alice.kid},
            payload,
            OKPKey.import_key(_private_jwk(alice)),
            algorithms=["EdDSA"],
        )
    message = _verifier(bob).verify(token)
    assert message.body == Ping(comment="legacy joserfc")
    assert message.header["alg"] == "EdDSA"


@pytest.mark.parametrize("alg", ["Ed25519", "EdDSA"])
def test_jwcrypto_message_is_accepted(alice, bob, alg):
    """A message signed by jwcrypto (alg Ed25519 or EdDSA, our kid) passes our Verifier."""
    payload = _envelope_json(alice, bob, f"jwcrypto {alg}")
    signed = jwcrypto_jws.JWS(payload)
    signed.add_signature(
        jwcrypto_jwk.JWK(**_private_jwk(alice)),
        alg=None,
        protected=json.dumps({"alg": alg, "kid": alice.kid}),
    )
    message = _verifier(bob).verify(signed.serialize(compact=True))
    assert message.sender == alice.did
    assert message.body == Ping(comment=f"jwcrypto {alg}")
    assert message.header["alg"] == alg


def test_jwcrypto_message_signed_by_another_key_is_refused(alice, bob, carol):
    """A library-made message whose kid names alice but that carol signed is a bad signature."""
    signed = jwcrypto_jws.JWS(_envelope_json(alice, bob, "forged"))
    signed.add_signature(
        jwcrypto_jwk.JWK(**_private_jwk(carol)),
        alg=None,
        protected=json.dumps({"alg": "Ed25519", "kid": alice.kid}),
    )
    with pytest.raises(ProtocolError) as caught:
        _verifier(bob).verify(signed.serialize(compact=True))
    assert caught.value.code == RefusalCode.BAD_SIGNATURE


# --- header refusals ---------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "none", "None", "RS256", "ES256", "Ed448", "ed25519", ""])
def test_other_algorithms_are_refused(alice, bob, alg):
    """A header naming any alg but Ed25519/EdDSA is refused even with a valid Ed25519 signature."""
    token = compact_with_header(
        {"alg": alg, "kid": alice.kid}, _envelope_json(alice, bob, "x"), alice
    )
    with pytest.raises(ProtocolError) as caught:
        _verifier(bob).verify(token)
    assert caught.value.code == RefusalCode.UNSUPPORTED_ALGORITHM


def test_header_without_alg_is_refused(alice, bob):
    """A header without alg is refused as an unsupported algorithm."""
    token = compact_with_header({"kid": alice.kid}, _envelope_json(alice, bob, "x"), alice)
    with pytest.raises(ProtocolError) as caught:
        _verifier(bob).verify(token)
    assert caught.value.code == RefusalCode.UNSUPPORTED_ALGORITHM


def test_unsecured_jws_is_refused(alice, bob):
    """An unsecured JWS (alg none, empty signature) is refused."""
    header = b64url_encode(json.dumps({"alg": "none", "kid": alice.kid}).encode())
    token = header + "." + b64url_encode(_envelope_json(alice, bob, "x")) + "."
    with pytest.raises(ProtocolError) as caught:
        _verifier(bob).verify(token)
    assert caught.value.code in {RefusalCode.MALFORMED, RefusalCode.UNSUPPORTED_ALGORITHM}


def test_hmac_keyed_with_public_key_is_refused(alice, bob):
    """An HS512 JWS keyed with the sender's public key (algorithm confusion) is refused."""
    token = joserfc_jws.serialize_compact(
        {"alg": "HS512", "kid": alice.kid},
        _envelope_json(alice, bob, "confused"),
        OctKey.import_key(alice.public_key),
        algorithms=["HS512"],
    )
    with pytest.raises(ProtocolError) as caught:
        _verifier(bob).verify(token)
    assert caught.value.code == RefusalCode.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize("crit", [["exp"], ["b64"], []])
def test_header_with_crit_is_malformed(alice, bob, crit):
    """A header with crit is refused as malformed: no critical extension is understood."""
    header = {"alg": ALG, "kid": alice.kid, "crit": crit}
    if crit:
        header[crit[0]] = False
    token = compact_with_header(header, _envelope_json(alice, bob, "x"), alice)
    with pytest.raises(ProtocolError) as caught:
        _verifier(bob).verify(token)
    assert caught.value.code == RefusalCode.MALFORMED


@pytest.mark.parametrize(
    "header",
    [
        pytest.param([ALG], id="array"),
        pytest.param("Ed25519", id="string"),
        pytest.param({"alg": ALG}, id="no-kid"),
        pytest.param({"alg": ALG, "kid": 7}, id="kid-not-string"),
    ],
)
def test_header_that_is_not_an_object_with_kid_is_malformed(alice, bob, header):
    """A protected header that is not a JSON object with a string kid is malformed."""
    token = compact_with_header(header, _envelope_json(alice, bob, "x"), alice)
    with pytest.raises(ProtocolError) as caught:
        _verifier(bob).verify(token)
    assert caught.value.code == RefusalCode.MALFORMED


def test_header_that_is_not_json_is_malformed(alice, bob):
    """A protected header segment that is not JSON is malformed."""
    signing_input = b64url_encode(b"not json") + "." + b64url_encode(b"{}")
    token = signing_input + "." + b64url_encode(alice.sign(signing_input.encode()))
    with pytest.raises(ProtocolError) as caught:
        _verifier(bob).verify(token)
    assert caught.value.code == RefusalCode.MALFORMED
