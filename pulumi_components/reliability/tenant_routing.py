"""A hosted service's alert routing on its platform's Alertmanager: the service's Alertmanager
config (`alertmanager.alertmanager_config`, the file a dedicated cluster loads whole) as the
`spec` of an `AlertmanagerConfig` (monitoring.coreos.com/v1alpha1) in the service's namespace.

The platform's Alertmanager merges every selected AlertmanagerConfig under its own route, with a
`namespace="<the object's namespace>"` matcher in front (the operator's `OnNamespace` strategy),
so a service routes only its own alerts; the platform's Prometheus enforces the namespace label
on every rule of a PrometheusRule (`enforcedNamespaceLabel`), so the service's alerts carry it.

What does not carry over: the Watchdog heartbeat routes and receivers. On a shared cluster the
alerting pipeline (Prometheus, Alertmanager, their Watchdog) is the platform's, and the platform
team's heartbeat watches it; a service's own heartbeat would watch the same pipeline twice.
Credential files (`*_file` under SECRETS_DIR/<secret>/<key>) become references to keys of a Secret
of that name in the service's namespace, which the service program creates from its stack config.
"""

from __future__ import annotations

import re
from typing import Any

from .alertmanager import SECRETS_DIR

_MATCHER = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)(=~|!~|!=|=)"(.*)"$')
_ROUTE_KEYS = {
    "receiver": "receiver",
    "group_by": "groupBy",
    "group_wait": "groupWait",
    "group_interval": "groupInterval",
    "repeat_interval": "repeatInterval",
    "continue": "continue",
}
# Alertmanager config key -> AlertmanagerConfig key, per receiver kind; `*_file` keys become Secret refs.
_RECEIVER_KEYS: dict[str, dict[str, str]] = {
    "pagerduty_configs": {
        "routing_key_file": "routingKey",
        "severity": "severity",
        "send_resolved": "sendResolved",
    },
    "opsgenie_configs": {
        "api_key_file": "apiKey",
        "priority": "priority",
        "tags": "tags",
        "send_resolved": "sendResolved",
    },
    "slack_configs": {
        "api_url_file": "apiURL",
        "channel": "channel",
        "send_resolved": "sendResolved",
        "title": "title",
        "text": "text",
        "link_names": "linkNames",
        "pretext": "pretext",
    },
    "email_configs": {"to": "to", "send_resolved": "sendResolved"},
}
_KINDS = {
    "pagerduty_configs": "pagerdutyConfigs",
    "opsgenie_configs": "opsgenieConfigs",
    "slack_configs": "slackConfigs",
    "email_configs": "emailConfigs",
}


def matcher(text: str) -> dict[str, str]:
    """`severity=~"critical|warning"` as the CRD's {name, matchType, value}."""
    found = _MATCHER.match(text)
    if not found:
        raise ValueError(f'matcher {text!r}: expected <label><=|!=|=~|!~>"<value>"')
    name, match_type, value = found.groups()
    return {"name": name, "matchType": match_type, "value": value}


def secret_ref(path: str) -> dict[str, str]:
    """SECRETS_DIR/<secret>/<key> as a reference to that key of that Secret (in the same namespace)."""
    prefix = SECRETS_DIR + "/"
    if not path.startswith(prefix) or path[len(prefix) :].count("/") != 1:
        raise ValueError(f"credential file {path!r} is not {prefix}<secret>/<key>")
    name, key = path[len(prefix) :].split("/")
    return {"name": name, "key": key}


def _heartbeats(config: dict[str, Any]) -> set[str]:
    """The heartbeat receivers: the only ones that call a webhook (alertmanager._heartbeat_receiver)."""
    return {r["name"] for r in config["receivers"] if "webhook_configs" in r}


def _route(route: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
    converted = {crd: route[key] for key, crd in _ROUTE_KEYS.items() if key in route}
    if route.get("matchers"):
        converted["matchers"] = [matcher(text) for text in route["matchers"]]
    children = [_route(child, dropped) for child in route.get("routes", []) if child.get("receiver") not in dropped]
    if children:
        converted["routes"] = children
    return converted


def _receiver_config(kind: str, config: dict[str, Any], smtp: dict[str, Any]) -> dict[str, Any]:
    keys = _RECEIVER_KEYS[kind]
    unknown = sorted(set(config) - set(keys) - ({"headers"} if kind == "email_configs" else set()))
    if unknown:
        raise ValueError(f"{kind}: {', '.join(unknown)} has no AlertmanagerConfig counterpart here")
    converted = {
        crd: secret_ref(config[key]) if key.endswith("_file") else config[key]
        for key, crd in keys.items()
        if key in config
    }
    if kind == "email_configs":
        converted["headers"] = [{"key": key, "value": value} for key, value in config.get("headers", {}).items()]
        converted |= {
            "smarthost": smtp["smtp_smarthost"],
            "from": smtp["smtp_from"],
            "authUsername": smtp["smtp_auth_username"],
            "authPassword": secret_ref(smtp["smtp_auth_password_file"]),
            "requireTLS": smtp["smtp_require_tls"],
        }
    return converted


def _receiver(receiver: dict[str, Any], smtp: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"name": receiver["name"]}
    for kind, configs in receiver.items():
        if kind == "name":
            continue
        if kind not in _KINDS:
            raise ValueError(f"receiver {receiver['name']}: {kind} has no AlertmanagerConfig counterpart here")
        converted[_KINDS[kind]] = [_receiver_config(kind, config, smtp) for config in configs]
    return converted


def alertmanager_config_spec(config: dict[str, Any]) -> dict[str, Any]:
    """The AlertmanagerConfig spec routing what `config` routes, heartbeats left to the platform."""
    smtp = config.get("global") or {}
    heartbeats = _heartbeats(config)
    return {
        "route": _route(config["route"], heartbeats),
        "receivers": [_receiver(r, smtp) for r in config["receivers"] if r["name"] not in heartbeats],
        "inhibitRules": [
            {
                "sourceMatch": [matcher(text) for text in rule["source_matchers"]],
                "targetMatch": [matcher(text) for text in rule["target_matchers"]],
                "equal": rule["equal"],
            }
            for rule in config.get("inhibit_rules", [])
        ],
    }


def referenced_secrets(spec: dict[str, Any]) -> dict[str, set[str]]:
    """Secret name -> keys, for every Secret reference in an AlertmanagerConfig spec."""
    found: dict[str, set[str]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if set(value) == {"name", "key"}:
                found.setdefault(value["name"], set()).add(value["key"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(spec)
    return found
