"""Settings from the environment: defaults, validation naming variable and value."""

from __future__ import annotations

import pytest

from triage.core.errors import SettingsError
from triage.core.settings import Settings


def test_defaults_match_the_contract() -> None:
    """With nothing set, the documented local defaults apply."""
    s = Settings.from_env({})
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.mongodb_uri == "mongodb://127.0.0.1:27017"
    assert (s.db, s.topic_prefix, s.http_port) == ("triage", "hotline", 8080)
    assert s.topics.tickets == "hotline.tickets"
    assert s.topics.routed("x") == "hotline.routed.x"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRIAGE_HTTP_PORT", "eighty"),
        ("TRIAGE_BATCH_SIZE", "0"),
        ("MONGODB_URI", "http://x"),
        ("TRIAGE_TOPIC_PREFIX", "bad prefix"),
        ("KAFKA_BOOTSTRAP_SERVERS", "nohost"),
        ("TRIAGE_MODEL", "/does/not/exist"),
        ("TRIAGE_RESOLVE_HOURS", "5"),  # below the default 7 hours to accept
        ("TRIAGE_ACCEPT_HOURS", "0"),
    ],
)
def test_bad_value_names_variable_and_value(name: str, value: str) -> None:
    """A bad value fails with the variable and the value in the message."""
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: value})
    assert info.value.variable == name
    assert name in str(info.value) and value in str(info.value)
