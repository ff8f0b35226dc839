"""FeatureFlags under mocks (the flag document in AppConfig's feature-flag format), and
the deployability rules `flags-exist-per-environment` and `workload-reads-its-flags` with the
defects they catch."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from pulumi_components._base import ComponentArgsError, service_trust
from pulumi_components.deployability import StackView, check_stack
from pulumi_components.feature_flags import (
    FLAG_KEY,
    FeatureFlags,
    FeatureFlagsArgs,
    Flag,
    flag_document,
    flags_from_file,
    reader_environment,
)
from pulumi_components.testing import CapturedResource, resolve, run_with_mocks

TEMPLATE_FLAGS = Path(__file__).parents[1] / "template" / "app" / "flags.json"
RULES = ["flags-exist-per-environment", "workload-reads-its-flags"]
ALARM = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:svc-prod-page"
TAGS = {"service": "svc", "environment": "prod", "team": "core", "managed-by": "pulumi"}


def test_the_flag_document_has_appconfigs_feature_flag_shape():
    # The AWS.AppConfig.FeatureFlags type reference: schema version "1", `flags` and `values` keyed
    # by the same flag keys (pattern ^[a-z][a-zA-Z\\d_-]{0,63}$), each value's `enabled` a boolean.
    document = json.loads(flag_document(flags_from_file(json.loads(TEMPLATE_FLAGS.read_text()))))
    assert set(document) == {"version", "flags", "values"} and document["version"] == "1"
    assert set(document["flags"]) == set(document["values"]) == {"home-greeting"}
    assert all(FLAG_KEY.match(key) for key in document["flags"])
    assert document["flags"]["home-greeting"]["name"] == "home-greeting"
    assert document["values"] == {"home-greeting": {"enabled": False}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"Home": {"description": "x", "enabled": False}}, "keys match"),
        ({"home": {"enabled": "no", "description": "x"}}, "must be {'description'"),
        ({"home": {"enabled": True}}, "must be {'description'"),
    ],
)
def test_bad_flags_files_are_refused(data, message):
    with pytest.raises(ComponentArgsError, match=message):
        flags_from_file(data)


def function_stack(
    flags=True,
    reader=True,
    env_name="svc-prod",
    monitors=True,
    profile_type="AWS.AppConfig.FeatureFlags",
    settings=True,
):
    """A service function, its role, and (optionally) its FeatureFlags: the shape __main__ builds."""

    def build():
        role = aws.iam.Role("svc-prod-fn", assume_role_policy=service_trust("lambda.amazonaws.com"), tags=TAGS)
        variables = {"SERVICE": "svc", **(reader_environment("svc-prod") if settings else {})}
        aws.lambda_.Function(
            "svc-prod",
            role=role.arn,
            runtime="python3.13",
            handler="service.lambda_handler.handle",
            code=pulumi.AssetArchive({}),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=variables),
            tags=TAGS,
        )
        if flags:
            FeatureFlags(
                "svc-prod",
                FeatureFlagsArgs(
                    name="svc-prod",
                    flags={"home-greeting": Flag("sample", False)},
                    rollback_alarm_arns=[ALARM],
                    reader_role_names=[role.name] if reader else ["someone-else"],
                    tags=TAGS,
                ),
            )

    run = run_with_mocks(build)
    resources = [dataclasses.replace(r, inputs=resolve(r.inputs)) for r in run.resources]
    for r in resources:
        if r.type == "aws:appconfig/environment:Environment":
            r.inputs["name"] = env_name
            if not monitors:
                r.inputs["monitors"] = []
        if r.type == "aws:appconfig/configurationProfile:ConfigurationProfile":
            r.inputs["type"] = profile_type
    return resources


def findings(resources, rule=None):
    return [
        f"{f.rule}: {f.message}" for f in check_stack(StackView("svc", "prod", tuple(resources)), only=rule or RULES)
    ]


def test_the_component_creates_flags_the_workload_reads():
    resources = function_stack()
    assert findings(resources) == []
    types = {r.type for r in resources}
    assert {
        "aws:appconfig/application:Application",
        "aws:appconfig/environment:Environment",
        "aws:appconfig/configurationProfile:ConfigurationProfile",
        "aws:appconfig/hostedConfigurationVersion:HostedConfigurationVersion",
        "aws:appconfig/deploymentStrategy:DeploymentStrategy",
        "aws:appconfig/deployment:Deployment",
    } <= types
    (environment,) = [r for r in resources if r.type == "aws:appconfig/environment:Environment"]
    assert environment.inputs["monitors"][0]["alarmArn"] == ALARM
    (policy,) = [r for r in resources if r.type == "aws:iam/rolePolicy:RolePolicy" and "flags-read" in r.name]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"]
    assert statement["Resource"].endswith("/environment/svc-prod-flags-envid/configuration/svc-prod-flags-profileid")


@pytest.mark.parametrize(
    ("kwargs", "rule", "message"),
    [
        ({"flags": False}, "flags-exist-per-environment", "no AppConfig application 'svc-prod'"),
        ({"settings": False}, "flags-exist-per-environment", "its settings name no APPCONFIG_APPLICATION"),
        ({"env_name": "svc-staging"}, "flags-exist-per-environment", "has no environment 'svc-prod'"),
        ({"monitors": False}, "flags-exist-per-environment", "has no rollback alarm"),
        ({"profile_type": "AWS.Freeform"}, "flags-exist-per-environment", "is not of type AWS.AppConfig.FeatureFlags"),
        ({"reader": False}, "workload-reads-its-flags", "may not appconfig:StartConfigurationSession"),
    ],
)
def test_each_defect_is_reported(kwargs, rule, message):
    reported = findings(function_stack(**kwargs), [rule])
    assert reported and all(rule in line for line in reported)
    assert any(message in line for line in reported), reported


def test_a_flag_version_that_is_never_deployed_is_reported():
    resources = [r for r in function_stack() if r.type != "aws:appconfig/deployment:Deployment"]
    assert findings(resources) == [
        "flags-exist-per-environment: no deployment of profile 'svc-prod-flags' to environment 'svc-prod'"
    ]


def test_a_deny_on_the_profile_is_reported():
    resources = function_stack()
    role = next(r for r in resources if r.type == "aws:iam/role:Role" and r.name == "svc-prod-fn")
    deny = {"Effect": "Deny", "Action": "appconfig:GetLatestConfiguration", "Resource": "*"}
    resources.append(
        CapturedResource(
            "aws:iam/rolePolicy:RolePolicy",
            "deny",
            {"role": role.name, "policy": json.dumps({"Version": "2012-10-17", "Statement": [deny]})},
        )
    )
    assert findings(resources, ["workload-reads-its-flags"]) == [
        "workload-reads-its-flags: role svc-prod-fn may not appconfig:GetLatestConfiguration on its flag profile "
        "(application/svc-prod-flags/environment/svc-prod-flags-envid/configuration/svc-prod-flags-profileid)"
    ]


def eks_workload(resources, role_arn):
    """The EKS shape: a Rollout whose pods read a ConfigMap and run as an IRSA service account."""
    settings = reader_environment("svc-prod")
    return [
        *resources,
        CapturedResource("kubernetes:core/v1:ConfigMap", "cm", {"metadata": {"name": "svc-config"}, "data": settings}),
        CapturedResource(
            "kubernetes:core/v1:ServiceAccount",
            "sa",
            {"metadata": {"name": "svc", "annotations": {"eks.amazonaws.com/role-arn": role_arn}}},
        ),
        CapturedResource(
            "kubernetes:argoproj.io/v1alpha1:Rollout",
            "svc",
            {
                "metadata": {"name": "svc"},
                "spec": {
                    "template": {
                        "spec": {
                            "serviceAccountName": "svc",
                            "containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "svc-config"}}]}],
                        }
                    }
                },
            },
        ),
    ]


def test_the_rules_follow_an_eks_workload_to_its_irsa_role():
    base = [r for r in function_stack() if r.type != "aws:lambda/function:Function"]
    role = "arn:aws:iam::123456789012:role/svc-prod-fn"
    assert findings(eks_workload(base, role)) == []
    assert findings(eks_workload(base, "arn:aws:iam::123456789012:role/other"), ["workload-reads-its-flags"]) == [
        "workload-reads-its-flags: no IAM role found for its identity: nothing can read its flags"
    ]


def test_args_are_checked_before_any_resource():
    args = FeatureFlagsArgs("svc-prod", {"home-greeting": Flag("x", False)}, [], ["role"])
    with pytest.raises(ComponentArgsError, match="rollback_alarm_arns"):
        args.validate()
    with pytest.raises(ComponentArgsError, match="reader_role_names"):
        dataclasses.replace(args, rollback_alarm_arns=[ALARM], reader_role_names=[]).validate()
    with pytest.raises(ComponentArgsError, match="defines no flag"):
        dataclasses.replace(args, flags={}).validate()
