"""vrm.transport exports exactly what services and vendors build on."""

from __future__ import annotations

import types

import vrm.transport


def test_all_lists_every_public_name_and_only_those() -> None:
    """Every name in __all__ exists, and every public non-module attribute is listed."""
    for name in vrm.transport.__all__:  # loaded on first use
        getattr(vrm.transport, name)
    public = {
        name
        for name, value in vars(vrm.transport).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(vrm.transport.__all__) == public
    assert len(vrm.transport.__all__) == len(set(vrm.transport.__all__))
