"""Feature flags through OpenFeature, served by AWS AppConfig: a flag changes without a deploy.

Code asks `flags.enabled("<key>")`; the OpenFeature SDK routes that to the provider set here.
In an environment, that is `AppConfigProvider`: it reads the environment's AppConfig feature-flag
profile (created by infra/components/feature_flags.py) through the AppConfig Data API, a session
started once, then `GetLatestConfiguration` at most every poll interval AppConfig asks for. A flag
turned off in AppConfig (docs/feature-flags.md) reaches every process within that interval.

Failures never fail a request: the provider keeps the flags it last read, and when it has none
(AppConfig unreachable at start, or a flag that does not exist) the SDK returns the default the
code passed. Defaults are the safe side: a flag guards new behaviour, so its default is off.

Locally and in tests (no APPCONFIG_APPLICATION), no provider is set and every flag is its default;
tests set OpenFeature's InMemoryProvider to turn flags on.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

log = logging.getLogger("service.flags")
DEFAULT_POLL_SECONDS = 60  # until AppConfig says otherwise (NextPollIntervalInSeconds)


class AppConfigProvider(AbstractProvider):
    """Boolean flags from an AppConfig `AWS.AppConfig.FeatureFlags` profile.

    AppConfig serves the profile as `{"<flag>": {"enabled": bool, "<attribute>": value...}}`; a
    flag's `enabled` is its boolean value, and its attributes resolve string, number and object
    evaluations of `<flag>.<attribute>`.
    """

    def __init__(
        self,
        application: str,
        environment: str,
        profile: str,
        client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target = {
            "ApplicationIdentifier": application,
            "EnvironmentIdentifier": environment,
            "ConfigurationProfileIdentifier": profile,
        }
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._flags: dict[str, Any] | None = None
        self._next_poll = 0.0

    def get_metadata(self) -> Metadata:
        return Metadata(name="aws-appconfig")

    # -- reading AppConfig ------------------------------------------------------------------

    def _appconfig(self) -> Any:
        if self._client is None:
            import botocore.session  # the Lambda runtime ships it; the image installs it

            self._client = botocore.session.get_session().create_client("appconfigdata")
        return self._client

    def flags(self) -> dict[str, Any] | None:
        """The flags last read, refreshed when the poll interval has passed; None before any read."""
        with self._lock:
            if self._clock() >= self._next_poll:
                self._poll()
            return self._flags

    def _poll(self) -> None:
        try:
            if self._token is None:
                self._token = self._appconfig().start_configuration_session(**self._target)["InitialConfigurationToken"]
            reply = self._appconfig().get_latest_configuration(ConfigurationToken=self._token)
        except Exception as error:  # noqa: BLE001 (keep serving the last flags; retry next interval)
            log.warning("feature flags not refreshed: %s", error)
            self._token = None  # an expired or rejected token: start a new session next time
            self._next_poll = self._clock() + DEFAULT_POLL_SECONDS
            return
        self._token = reply["NextPollConfigurationToken"]
        self._next_poll = self._clock() + int(reply.get("NextPollIntervalInSeconds") or DEFAULT_POLL_SECONDS)
        content = reply["Configuration"].read()
        if content:  # empty: unchanged since the last read
            self._flags = json.loads(content)

    # -- evaluation ---------------------------------------------------------------------------

    def _resolve(self, key: str, default: Any, kind: type | tuple[type, ...]) -> FlagResolutionDetails:
        flags = self.flags()
        if flags is None:
            return FlagResolutionDetails(default, ErrorCode.PROVIDER_NOT_READY, "AppConfig not read yet", Reason.ERROR)
        name, _, attribute = key.partition(".")
        if name not in flags:
            return FlagResolutionDetails(default, ErrorCode.FLAG_NOT_FOUND, f"no flag {name!r}", Reason.ERROR)
        value = flags[name].get(attribute or "enabled")
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            message = f"{key} is {value!r}, not a {getattr(kind, '__name__', kind)}"
            return FlagResolutionDetails(default, ErrorCode.TYPE_MISMATCH, message, Reason.ERROR)
        return FlagResolutionDetails(value, reason=Reason.CACHED)

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, bool)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, str)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, int)

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, (int, float))

    def resolve_object_details(
        self, flag_key: str, default_value: Any, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[Any]:
        return self._resolve(flag_key, default_value, (dict, list))


def configure(environ: dict[str, str] | None = None) -> None:
    """Set the AppConfig provider when the environment names a profile (APPCONFIG_APPLICATION,
    APPCONFIG_ENVIRONMENT, APPCONFIG_PROFILE, set by the infrastructure); else leave none set."""
    environ = os.environ if environ is None else environ
    if environ.get("APPCONFIG_APPLICATION"):
        api.set_provider(
            AppConfigProvider(
                environ["APPCONFIG_APPLICATION"],
                environ["APPCONFIG_ENVIRONMENT"],
                environ["APPCONFIG_PROFILE"],
            )
        )


def enabled(key: str, default: bool = False) -> bool:
    """Whether flag `key` is on; `default` when it cannot be read."""
    return api.get_client().get_boolean_value(key, default)


configure()
