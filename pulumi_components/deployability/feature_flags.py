"""Feature flags: every environment has its flags, and the workload can read them.

Two rules.

`flags-exist-per-environment`: the AppConfig application and environment the workload is told
to read (`APPCONFIG_APPLICATION`, `APPCONFIG_ENVIRONMENT`, `APPCONFIG_PROFILE` in its ConfigMap on
EKS, its function environment on Lambda) exist in this stack, with a `AWS.AppConfig.FeatureFlags`
profile of that name holding a hosted version that is deployed to that environment, and the
environment has a rollback alarm. Miss one and every flag evaluates to its default: a flag turned
on changes nothing, silently.

`workload-reads-its-flags`: the workload's identity (the IRSA role of its pods' service account,
or the function's execution role) is allowed `appconfig:StartConfigurationSession` and
`appconfig:GetLatestConfiguration` on that profile in that environment
(`<application ARN>/environment/<id>/configuration/<id>`), with no Deny. Without it the first
read fails with AccessDenied on the real account while every mock passes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from . import ResourceLike, StackView, stack_rule
from .pipelines import pod_spec
from .rules_common import subject
from .secrets import allows, arn_tail, readers

APPLICATION = "aws:appconfig/application:Application"
ENVIRONMENT = "aws:appconfig/environment:Environment"
PROFILE = "aws:appconfig/configurationProfile:ConfigurationProfile"
VERSION = "aws:appconfig/hostedConfigurationVersion:HostedConfigurationVersion"
DEPLOYMENT = "aws:appconfig/deployment:Deployment"
FUNCTION = "aws:lambda/function:Function"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:argoproj.io/v1alpha1:Rollout")
READ_ACTIONS = ("appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration")
FLAG_PROFILE_TYPE = "AWS.AppConfig.FeatureFlags"
KEYS = ("APPCONFIG_APPLICATION", "APPCONFIG_ENVIRONMENT", "APPCONFIG_PROFILE")


def _state(resource: ResourceLike) -> Mapping[str, Any]:
    """Inputs plus what the provider computed (ids, ARNs), where the run captured it."""
    return {**resource.inputs, **(getattr(resource, "state", None) or {})}


def _refers(reference: Any, resource: ResourceLike, *id_keys: str) -> bool:
    state = _state(resource)
    return reference in {f"{resource.name}-id", *(state.get(k) for k in id_keys if state.get(k))}


def workloads(stack: StackView) -> Iterator[tuple[str, Mapping[str, Any], ResourceLike | None]]:
    """The service's workload (a function with SERVICE=<service>, or a Deployment or Rollout named
    after the service): its subject, the settings it reads its flags by, and its identity's role."""
    roles = stack.of_type("aws:iam/role:Role")

    def role_by_arn(arn: Any) -> ResourceLike | None:
        tail = arn_tail(str(arn))
        return next((r for r in roles if tail in (f"role/{r.name}", f"role/{r.inputs.get('name')}")), None)

    for function in stack.of_type(FUNCTION):
        variables = ((function.inputs.get("environment") or {}).get("variables")) or {}
        if variables.get("SERVICE") == stack.service:  # the service's function, not a deployment hook
            yield subject(function), variables, role_by_arn(function.inputs.get("role"))
    config_maps = {(r.inputs.get("metadata") or {}).get("name"): r for r in stack.of_type(CONFIG_MAP)}
    accounts = {(r.inputs.get("metadata") or {}).get("name"): r for r in stack.of_type(SERVICE_ACCOUNT)}
    for workload in stack.of_type(*WORKLOADS):
        if (workload.inputs.get("metadata") or {}).get("name") != stack.service:
            continue  # another workload in the cluster
        spec = pod_spec(workload)
        settings: dict[str, Any] = {}
        for container in spec.get("containers") or []:
            for source in container.get("envFrom") or []:
                name = (source.get("configMapRef") or {}).get("name")
                if name in config_maps:
                    settings |= config_maps[name].inputs.get("data") or {}
            settings |= {e.get("name"): e.get("value") for e in container.get("env") or [] if "value" in e}
        account = accounts.get(spec.get("serviceAccountName"))
        annotations = ((account.inputs.get("metadata") or {}).get("annotations") or {}) if account else {}
        yield subject(workload), settings, role_by_arn(annotations.get("eks.amazonaws.com/role-arn"))


def _flag_target(stack: StackView, settings: Mapping[str, Any]) -> tuple[dict[str, ResourceLike], list[str]]:
    """The application, environment and profile the settings name, and what is missing."""
    missing = [key for key in KEYS if not settings.get(key)]
    if missing:
        return {}, [f"its settings name no {', '.join(missing)}: its flags are never read"]
    found: dict[str, ResourceLike] = {}
    application = next(
        (a for a in stack.of_type(APPLICATION) if a.inputs.get("name") == settings["APPCONFIG_APPLICATION"]), None
    )
    if application is None:
        return {}, [f"no AppConfig application {settings['APPCONFIG_APPLICATION']!r} in this stack"]
    found["application"] = application
    for key, kind, label in (
        ("environment", ENVIRONMENT, "APPCONFIG_ENVIRONMENT"),
        ("profile", PROFILE, "APPCONFIG_PROFILE"),
    ):
        match = next(
            (
                r
                for r in stack.of_type(kind)
                if r.inputs.get("name") == settings[label]
                and _refers(r.inputs.get("applicationId"), application, "applicationId", "id")
            ),
            None,
        )
        if match is None:
            return found, [f"application {settings['APPCONFIG_APPLICATION']!r} has no {key} {settings[label]!r}"]
        found[key] = match
    return found, []


def _flag_defects(stack: StackView, found: Mapping[str, ResourceLike]) -> Iterator[str]:
    profile, environment = found["profile"], found["environment"]
    if profile.inputs.get("type") != FLAG_PROFILE_TYPE:
        yield f"profile {profile.inputs.get('name')!r} is not of type {FLAG_PROFILE_TYPE}"
    versions = [
        v
        for v in stack.of_type(VERSION)
        if _refers(v.inputs.get("configurationProfileId"), profile, "configurationProfileId")
    ]
    if not versions:
        yield f"profile {profile.inputs.get('name')!r} holds no hosted configuration version: no flag exists"
    deployed = [
        d
        for d in stack.of_type(DEPLOYMENT)
        if _refers(d.inputs.get("configurationProfileId"), profile, "configurationProfileId")
        and _refers(d.inputs.get("environmentId"), environment, "environmentId")
    ]
    if not deployed:
        where = f"profile {profile.inputs.get('name')!r} to environment {environment.inputs.get('name')!r}"
        yield f"no deployment of {where}"
    if not [m for m in environment.inputs.get("monitors") or [] if m.get("alarmArn") and m.get("alarmRoleArn")]:
        yield f"environment {environment.inputs.get('name')!r} has no rollback alarm: a bad flag change is never undone"


@stack_rule(
    "flags-exist-per-environment",
    "The AppConfig feature-flag profile each workload is told to read exists in its environment, holds a "
    "version deployed there, and rolls back on an alarm.",
)
def flags_exist(stack: StackView) -> Iterator[tuple[str, str]]:
    for name, settings, _role in workloads(stack):
        found, problems = _flag_target(stack, settings)
        for problem in problems:
            yield name, problem
        if not problems:
            for defect in _flag_defects(stack, found):
                yield name, defect


@stack_rule(
    "workload-reads-its-flags",
    "The workload's identity may start an AppConfig session and get the latest configuration of its "
    "flag profile in its environment.",
)
def workload_reads_flags(stack: StackView) -> Iterator[tuple[str, str]]:
    statements = {reader.role.name: reader.statements for reader in readers(stack)}
    for name, settings, role in workloads(stack):
        found, problems = _flag_target(stack, settings)
        if problems:
            continue  # flags-exist-per-environment reports it
        if role is None:
            yield name, "no IAM role found for its identity: nothing can read its flags"
            continue
        arn = (
            f"{_state(found['application']).get('arn')}/environment/{_state(found['environment']).get('environmentId')}"
            f"/configuration/{_state(found['profile']).get('configurationProfileId')}"
        )
        for action in READ_ACTIONS:
            if not allows(statements.get(role.name, ()), action, arn, {}):
                yield name, f"role {role.name} may not {action} on its flag profile ({arn_tail(arn)})"
