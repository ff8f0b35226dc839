"""Feature flags: the sample flag through the OpenFeature SDK (its in-memory provider), and the
AppConfig provider against the AppConfig Data API's real request and response shapes (botocore's
Stubber checks every call against the service model): a flag turned off in AppConfig is off at the
next poll, with no deploy and no restart."""

from __future__ import annotations

import io
import json

import botocore.session
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from openfeature import api
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider
from service import core, flags

TARGET = {
    "ApplicationIdentifier": "svc-prod",
    "EnvironmentIdentifier": "svc-prod",
    "ConfigurationProfileIdentifier": "svc-prod-flags",
}


@pytest.fixture(autouse=True)
def no_provider():
    api.clear_providers()
    yield
    api.clear_providers()


def on_off(on: bool) -> InMemoryFlag:
    return InMemoryFlag("on" if on else "off", {"on": True, "off": False})


def test_the_sample_flag_is_off_by_default():
    assert flags.enabled("home-greeting") is False
    assert "greeting" not in core.home().body


def test_the_sample_flag_turned_on_greets():
    api.set_provider(InMemoryProvider({"home-greeting": on_off(True)}))
    assert core.home().body["greeting"].startswith("Hello from ")
    api.set_provider(InMemoryProvider({"home-greeting": on_off(False)}))
    assert "greeting" not in core.home().body


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def appconfig():
    session = botocore.session.get_session()
    session.set_credentials("AKIDEXAMPLE", "secret")
    client = session.create_client("appconfigdata", region_name="us-east-1")
    return client, Stubber(client)


def latest(stub: Stubber, token: str, content: dict | None, next_token: str, interval: int = 30) -> None:
    body = b"" if content is None else json.dumps(content).encode()
    stub.add_response(
        "get_latest_configuration",
        {
            "NextPollConfigurationToken": next_token,
            "NextPollIntervalInSeconds": interval,
            "ContentType": "application/json",
            "Configuration": StreamingBody(io.BytesIO(body), len(body)),
        },
        {"ConfigurationToken": token},
    )


def test_a_flag_turned_off_in_appconfig_is_off_at_the_next_poll():
    client, stub = appconfig()
    stub.add_response("start_configuration_session", {"InitialConfigurationToken": "t0"}, TARGET)
    latest(stub, "t0", {"home-greeting": {"enabled": True}}, "t1")
    latest(stub, "t1", None, "t2")  # unchanged: AppConfig sends no content
    latest(stub, "t2", {"home-greeting": {"enabled": False}}, "t3")  # the kill switch
    clock = Clock()
    api.set_provider(flags.AppConfigProvider("svc-prod", "svc-prod", "svc-prod-flags", client=client, clock=clock))
    with stub:
        assert core.home().body["greeting"]
        clock.now = 10  # within the interval AppConfig asked for: no call
        assert flags.enabled("home-greeting") is True
        clock.now = 31
        assert flags.enabled("home-greeting") is True
        clock.now = 62
        assert flags.enabled("home-greeting") is False
        assert "greeting" not in core.home().body
    stub.assert_no_pending_responses()


def test_appconfig_unreachable_keeps_the_last_flags_then_starts_a_new_session():
    client, stub = appconfig()
    stub.add_response("start_configuration_session", {"InitialConfigurationToken": "t0"}, TARGET)
    latest(stub, "t0", {"home-greeting": {"enabled": True}}, "t1", interval=15)
    stub.add_client_error("get_latest_configuration", "BadRequestException", http_status_code=400)
    stub.add_response("start_configuration_session", {"InitialConfigurationToken": "n0"}, TARGET)
    latest(stub, "n0", {"home-greeting": {"enabled": False}}, "n1")
    clock = Clock()
    provider = flags.AppConfigProvider("svc-prod", "svc-prod", "svc-prod-flags", client=client, clock=clock)
    api.set_provider(provider)
    with stub:
        assert flags.enabled("home-greeting") is True
        clock.now = 20
        assert flags.enabled("home-greeting") is True  # the refresh failed: the last flags stand
        clock.now = 20 + flags.DEFAULT_POLL_SECONDS
        assert flags.enabled("home-greeting") is False
    stub.assert_no_pending_responses()


def test_without_appconfig_or_the_flag_the_code_default_wins():
    client, stub = appconfig()
    stub.add_client_error("start_configuration_session", "ResourceNotFoundException", http_status_code=404)
    api.set_provider(flags.AppConfigProvider("svc-prod", "svc-prod", "svc-prod-flags", client=client, clock=Clock()))
    with stub:
        assert flags.enabled("home-greeting") is False
        assert flags.enabled("home-greeting", default=True) is True
    client, stub = appconfig()
    stub.add_response("start_configuration_session", {"InitialConfigurationToken": "t0"}, TARGET)
    latest(stub, "t0", {"other": {"enabled": True, "colour": "blue"}}, "t1")
    provider = flags.AppConfigProvider("svc-prod", "svc-prod", "svc-prod-flags", client=client, clock=Clock())
    api.set_provider(provider)
    with stub:
        details = api.get_client().get_boolean_details("home-greeting", False)
        assert details.value is False and details.error_code == "FLAG_NOT_FOUND"
        assert api.get_client().get_string_value("other.colour", "red") == "blue"
        assert api.get_client().get_integer_value("other.colour", 3) == 3  # a string is not an integer


def test_the_environment_selects_the_provider(monkeypatch):
    flags.configure({})
    assert api.get_provider_metadata().name != "aws-appconfig"
    flags.configure(
        {
            "APPCONFIG_APPLICATION": "svc-prod",
            "APPCONFIG_ENVIRONMENT": "svc-prod",
            "APPCONFIG_PROFILE": "svc-prod-flags",
        }
    )
    assert api.get_provider_metadata().name == "aws-appconfig"
