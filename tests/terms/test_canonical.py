"""The fast canonical JSON writes exactly what the RFC 8785 reference implementation does."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from vrm.terms.canonical import canonical_json

names = st.text(max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
    | st.floats(allow_nan=False, allow_infinity=False)
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(names, children, max_size=5),
    max_leaves=30,
)


@given(documents)
def test_any_json_is_written_as_rfc8785_writes_it(document: Any) -> None:
    assert canonical_json(document) == rfc8785.dumps(document)


def test_control_characters_and_non_ascii_text_are_escaped_as_rfc8785_says() -> None:
    document = {"b": "tab\there\u001f\u007f é 𝄞 \u2028", "a": [1, True, None, '"\\']}
    assert canonical_json(document) == rfc8785.dumps(document)
    assert canonical_json(document).startswith(
        b'{"a":[1,true,null,"\\"\\\\"],"b":"tab\\there\\u001f'
    )


def test_an_integer_json_cannot_carry_exactly_is_refused_like_rfc8785_does() -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_json({"time": 2**53})
