"""The vendor endpoint opened on PostgreSQL: store, migrations and seen ids all there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vendor.test_records import VENDOR, request, update
from vrm.protocol import Identity
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import VendorEndpoint

pytestmark = pytest.mark.services


@pytest.mark.anyio
async def test_endpoint_keeps_everything_in_postgres(postgres_url: str, tmp_path: Path) -> None:
    """Records, migrations and the store of received ids all live in the one database."""
    settings = settings_from({"name": "Harbour Bank", "database": postgres_url})
    endpoint = VendorEndpoint.open(settings, home=tmp_path, identity=VENDOR)
    try:
        person = Identity.generate()
        await endpoint.handle(request(person))
        await endpoint.handle(update(person, "address.home", 1, {"streetAddress": "9 Quay St"}))
        [held] = endpoint.records.customers()
        assert held["fields"] == {"address.home": {"streetAddress": "9 Quay St"}}
        assert endpoint.engine.dialect.name == "postgresql"
        assert type(endpoint.seen_ids).__name__ == "PostgresSeenIds"
        assert not (tmp_path / "vendor.db").exists()
    finally:
        await endpoint.aclose()
