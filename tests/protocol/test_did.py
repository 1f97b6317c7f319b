"""did:key identifiers: the W3C CCG vectors and the refusals of keys we cannot use."""

from __future__ import annotations

import base58
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.public import PrivateKey

from vrm.protocol import (
    Identity,
    ProtocolError,
    RefusalCode,
    did_from_ed25519,
    did_from_kid,
    ed25519_from_did,
    key_agreement_kid,
    kid_for,
    x25519_from_did,
    x25519_multibase,
)
from vrm.protocol.did import _b58decode

from .support import load_vectors

VECTORS = load_vectors("did_key_ed25519.json")["vectors"]
VECTOR_IDS = [f"seed-{v['seed_hex'][-2:]}" for v in VECTORS]


def _did_key(raw: bytes) -> str:
    return "did:key:z" + base58.b58encode(raw).decode("ascii")


def test_vectors_are_present():
    """The did:key vector file holds the five W3C CCG Ed25519 vectors."""
    assert len(VECTORS) == 5
    assert len({v["did"] for v in VECTORS}) == 5


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_identity_from_seed_has_vector_did(vector):
    """An identity rebuilt from a seed is known by the DID the did:key spec gives that seed."""
    identity = Identity.from_seed(bytes.fromhex(vector["seed_hex"]))
    assert identity.did == vector["did"]
    assert identity.public_key == bytes.fromhex(vector["public_key_hex"])
    assert identity.seed == bytes.fromhex(vector["seed_hex"])


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_did_from_ed25519_matches_vector(vector):
    """An Ed25519 public key maps to exactly the spec's did:key string."""
    assert did_from_ed25519(bytes.fromhex(vector["public_key_hex"])) == vector["did"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_ed25519_from_did_matches_vector(vector):
    """A did:key resolves back to the spec's Ed25519 public key."""
    assert ed25519_from_did(vector["did"]) == bytes.fromhex(vector["public_key_hex"])


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_x25519_from_did_matches_vector(vector):
    """The key-agreement key derived from a did:key is the spec's X25519 key."""
    assert x25519_from_did(vector["did"]) == bytes.fromhex(vector["x25519_public_key_hex"])


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_x25519_multibase_matches_vector(vector):
    """The X25519 key is written as the spec's z6LS… multibase value."""
    x25519 = bytes.fromhex(vector["x25519_public_key_hex"])
    assert x25519_multibase(x25519) == vector["x25519_multibase"]
    assert x25519_multibase(x25519_from_did(vector["did"])) == vector["x25519_multibase"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_key_agreement_kid_matches_vector(vector):
    """The JWE key id of a did:key is the DID, '#', and its X25519 multibase value."""
    expected = vector["did"] + "#" + vector["x25519_multibase"]
    assert key_agreement_kid(vector["did"]) == expected
    identity = Identity.from_seed(bytes.fromhex(vector["seed_hex"]))
    assert identity.key_agreement_kid == expected


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_x25519_private_key_matches_published_x25519_key(vector):
    """The X25519 private key an identity decrypts with belongs to the key its DID publishes."""
    identity = Identity.from_seed(bytes.fromhex(vector["seed_hex"]))
    public = bytes(PrivateKey(identity.x25519_private_key).public_key)
    assert public == bytes.fromhex(vector["x25519_public_key_hex"])


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_kid_is_did_and_its_own_multibase(vector):
    """The JWS kid of a did:key is the DID, '#', and the DID's own multibase value."""
    did = vector["did"]
    assert kid_for(did) == did + "#" + did.removeprefix("did:key:")
    assert Identity.from_seed(bytes.fromhex(vector["seed_hex"])).kid == kid_for(did)


def test_kid_round_trip(alice):
    """did_from_kid gives back the DID kid_for was built from."""
    assert did_from_kid(kid_for(alice.did)) == alice.did
    assert did_from_kid(alice.kid) == alice.did


def test_did_from_kid_refuses_fragment_of_another_did(alice, bob):
    """A kid naming one DID with another DID's key fragment is refused."""
    forged = alice.did + "#" + bob.did.removeprefix("did:key:")
    with pytest.raises(ProtocolError) as caught:
        did_from_kid(forged)
    assert caught.value.code == RefusalCode.UNRESOLVABLE_KEY


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", id="no-fragment"),
        pytest.param(
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#key-1", id="named-fragment"
        ),
        pytest.param(
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#"
            "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW",
            id="key-agreement-fragment",
        ),
        pytest.param("did:web:example.com#example.com", id="did-web"),
        pytest.param("", id="empty"),
    ],
)
def test_did_from_kid_refuses_other_key_ids(kid):
    """Only a did:key's own verification method id is accepted as a kid."""
    with pytest.raises(ProtocolError) as caught:
        did_from_kid(kid)
    assert caught.value.code == RefusalCode.UNRESOLVABLE_KEY


_X25519_OF_SEED_0 = bytes.fromhex(VECTORS[0]["x25519_public_key_hex"])
_ED25519_OF_SEED_0 = bytes.fromhex(VECTORS[0]["public_key_hex"])


@pytest.mark.parametrize(
    "did",
    [
        pytest.param("did:web:example.com", id="did-web"),
        pytest.param("did:key:z0OIl0OIl0OIl", id="not-base58"),
        pytest.param("did:key:z", id="empty-key"),
        pytest.param("did:key:" + _ED25519_OF_SEED_0.hex(), id="not-multibase"),
        pytest.param(
            "did:key:f" + (b"\xed\x01" + _ED25519_OF_SEED_0).hex(), id="multibase-hex-not-base58"
        ),
        pytest.param(_did_key(b"\xec\x01" + _X25519_OF_SEED_0), id="x25519-did-key"),
        pytest.param(_did_key(b"\xed\x01" + _ED25519_OF_SEED_0[:31]), id="truncated-key"),
        pytest.param(_did_key(b"\xed\x01" + _ED25519_OF_SEED_0 + b"\x00"), id="key-too-long"),
        pytest.param(_did_key(_ED25519_OF_SEED_0), id="no-multicodec"),
        pytest.param(VECTORS[0]["did"][:-1], id="truncated-text"),
    ],
)
def test_ed25519_from_did_refuses_unusable_dids(did):
    """A DID that is not an Ed25519 did:key is refused as an unresolvable key."""
    with pytest.raises(ProtocolError) as caught:
        ed25519_from_did(did)
    assert caught.value.code == RefusalCode.UNRESOLVABLE_KEY


def test_x25519_did_key_has_the_z6ls_form():
    """An X25519 did:key (the kind refused above) really carries the 0xec01 multicodec."""
    did = _did_key(b"\xec\x01" + _X25519_OF_SEED_0)
    assert did == "did:key:" + VECTORS[0]["x25519_multibase"]


def test_x25519_from_did_refuses_key_that_is_not_a_curve_point():
    """A did:key whose 32 bytes are a small-order point yields no key-agreement key."""
    did = did_from_ed25519(b"\x01" + b"\x00" * 31)
    with pytest.raises(ProtocolError) as caught:
        x25519_from_did(did)
    assert caught.value.code == RefusalCode.UNRESOLVABLE_KEY


def test_x25519_from_did_refuses_non_ed25519_did():
    """Deriving a key-agreement key from a did:web is refused, not guessed."""
    with pytest.raises(ProtocolError) as caught:
        x25519_from_did("did:web:example.com")
    assert caught.value.code == RefusalCode.UNRESOLVABLE_KEY


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_did_from_ed25519_refuses_wrong_key_length(size):
    """Only 32-byte Ed25519 public keys are named by a did:key."""
    with pytest.raises(ValueError, match="32 bytes"):
        did_from_ed25519(b"\x07" * size)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_identity_from_seed_refuses_wrong_seed_length(size):
    """An identity is rebuilt only from a 32-byte seed."""
    with pytest.raises(ValueError, match="32 bytes"):
        Identity.from_seed(b"\x07" * size)


def test_generated_identities_round_trip_through_their_seed(alice):
    """Storing an identity's seed and rebuilding from it gives the same DID and signatures."""
    rebuilt = Identity.from_seed(alice.seed)
    assert rebuilt.did == alice.did
    assert rebuilt.sign(b"hello") == alice.sign(b"hello")
    assert ed25519_from_did(alice.did) == alice.public_key
    assert repr(alice) == f"Identity({alice.did})"


@given(st.binary(min_size=0, max_size=40))
def test_base58_digits_decode_as_the_base58_reference_does(raw: bytes) -> None:
    """Whatever the bytes (leading zeros too), the fast decoder reads what base58 wrote."""
    assert _b58decode(base58.b58encode(raw).decode("ascii")) == raw


@given(st.binary(min_size=32, max_size=32))
def test_every_ed25519_did_key_gives_back_its_key(key: bytes) -> None:
    """did:key of any 32 bytes → the same 32 bytes."""
    assert ed25519_from_did(_did_key(b"\xed\x01" + key)) == key


def test_a_did_key_too_long_to_be_a_key_is_refused_at_once() -> None:
    """A 100,000-digit 'key' is refused as unresolvable without decoding it."""
    with pytest.raises(ProtocolError) as refused:
        ed25519_from_did("did:key:z" + "2" * 100_000)
    assert refused.value.code is RefusalCode.UNRESOLVABLE_KEY
