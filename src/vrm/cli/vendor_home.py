"""Opening a vendor endpoint from the command line: settings, home folder, API token."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

from platformdirs import user_data_path

from vrm.vendor.api import create_vendor_app
from vrm.vendor.config import VendorSettings, load_settings, settings_from
from vrm.vendor.endpoint import VendorEndpoint

TOKEN_FILE = "api-token"  # noqa: S105 - a file name, not a secret


def open_vendor(
    *,
    name: str | None,
    config: Path | None,
    home: Path | None,
    policy: str | None,
    allow_loopback: bool,
) -> tuple[VendorEndpoint, str, Any]:
    """The endpoint, its API token and its app, from the options given."""
    overrides: dict[str, Any] = {"name": name}
    if allow_loopback:
        overrides["allow_loopback"] = True
    settings = (
        load_settings(config, **overrides)
        if config is not None
        else settings_from({k: v for k, v in overrides.items() if v is not None}, source="options")
    )
    if policy is not None:
        settings = _with_policy(settings, policy)
    folder = home_folder(settings, home)
    endpoint = VendorEndpoint.open(settings, home=folder)
    token = _token(folder)
    return endpoint, token, create_vendor_app(endpoint, api_token=token)


def home_folder(settings: VendorSettings, home: Path | None) -> Path:
    """The endpoint's folder: ``home``, else one named after the vendor in the user data folder."""
    return home or user_data_path("vrm") / "vendors" / _slug(settings.name)


def _with_policy(settings: VendorSettings, mode: str) -> VendorSettings:
    document = settings.model_dump()
    document["policy"] = {**document["policy"], "mode": mode}
    return settings_from(document, source="--policy")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "vendor"


def _token(folder: Path) -> str:
    """The endpoint's API token, made (mode 0600) the first time."""
    path = folder / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as written:
        written.write(token + "\n")
    return token
