"""The agent's settings: safe defaults, changed one at a time, refused when they do not fit."""

from __future__ import annotations

import pytest

from vrm.agent.config import DEFAULT_PORT, AgentConfig
from vrm.agent.personal_agent import PersonalAgent


def test_defaults_are_safe(person: PersonalAgent) -> None:
    """Out of the box: public addresses only, three days of retries, replies to the local port."""
    config = person.config()
    assert config == AgentConfig()
    assert (config.public_url, config.allow_loopback, config.allow_private) == (None, False, False)
    assert config.delivery_max_age == 3 * 24 * 3600
    policy = person.address_policy()
    assert (policy.allow_loopback, policy.allow_private) == (False, False)
    assert person.reply_url() == f"http://127.0.0.1:{DEFAULT_PORT}/inbox"


def test_set_values_are_kept_and_used(person: PersonalAgent) -> None:
    """Each setting changed is stored, shown, and used by the agent's actions."""
    person.set_config("allow_loopback", "true")
    person.set_config("allow_private", "yes")
    changed = person.set_config("delivery_max_age", "3600")
    assert changed.delivery_max_age == 3600.0
    reopened = PersonalAgent(person.engine, person.sealer)
    assert reopened.config() == changed
    assert changed.allow_loopback
    assert changed.allow_private
    policy = reopened.address_policy()
    assert (policy.allow_loopback, policy.allow_private) == (True, True)
    assert reopened.set_config("allow_private", "false").allow_private is False


def test_replies_go_to_the_public_url_else_where_the_agent_listens(person: PersonalAgent) -> None:
    """The reply address is the public URL when set; unset, where ``vrm up`` last listened."""
    person.listening_at("http://127.0.0.1:9123")
    assert person.reply_url() == "http://127.0.0.1:9123/inbox"
    person.set_config("public_url", "https://ann.example/agent/")
    assert person.reply_url() == "https://ann.example/agent/inbox"
    assert person.set_config("public_url", "unset").public_url is None
    assert person.reply_url() == "http://127.0.0.1:9123/inbox"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("colour", "blue", "no setting 'colour'; the settings are public_url, allow_loopback"),
        ("delivery_max_age", "0", "delivery_max_age: Input should be greater than 0"),
        ("delivery_max_age", "-60", "delivery_max_age: Input should be greater than 0"),
        ("delivery_max_age", "9999999999", "delivery_max_age: Input should be less than"),
        ("delivery_max_age", "soon", "delivery_max_age: Input should be a valid number"),
        ("allow_loopback", "maybe", "allow_loopback: Input should be a valid boolean"),
        ("public_url", "ftp://ann.example", "public_url: String should match pattern"),
        ("public_url", "https://ann example", "public_url: String should match pattern"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    person: PersonalAgent, name: str, value: str, message: str
) -> None:
    """An unknown setting or a value that does not fit is a ValueError naming it."""
    person.set_config("delivery_max_age", "600")
    before = person.config()
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        person.set_config(name, value)
    assert person.config() == before
