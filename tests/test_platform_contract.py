"""The platform contract: one typed definition, exported by the platform and read by its services."""

from __future__ import annotations

import copy

import pulumi
import pulumi_aws as aws
import pytest

from pulumi_components.platform_contract import export_contract, read_contract
from pulumi_components.reliability.contract import (
    CONTRACT_VERSION,
    PlatformContract,
    platform_project,
    platform_stack,
    platform_stack_error,
)
from pulumi_components.testing import platform_outputs, resolve, run_with_mocks

STACK = "acme/platform/prod"


def test_a_platforms_outputs_read_as_the_contract():
    contract = PlatformContract.from_outputs(platform_outputs("acme", "prod"), STACK)
    assert contract.contract_version == CONTRACT_VERSION
    assert contract.isolated_subnet_ids == [f"subnet-acme-prod-isolated-{i}" for i in range(3)]


def test_a_missing_output_is_named_with_the_stack():
    outputs = platform_outputs("acme", "prod")
    del outputs["isolated_subnet_ids"], outputs["oidc_issuer"]
    with pytest.raises(ValueError, match=r"acme/platform/prod does not export oidc_issuer, isolated_subnet_ids"):
        PlatformContract.from_outputs(outputs, STACK)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("private_subnet_ids", [], "private_subnet_ids must be a non-empty list"),
        ("vpc_id", "", "vpc_id must be a non-empty string"),
        ("contract_version", CONTRACT_VERSION + 1, "same template release"),
        ("monitoring_namespace", "observability", "monitoring_namespace is 'observability'"),
    ],
)
def test_an_output_a_service_cannot_build_on_is_refused(name, value, message):
    outputs = platform_outputs("acme", "prod")
    outputs[name] = value
    with pytest.raises(ValueError, match=message):
        PlatformContract.from_outputs(outputs, STACK)


def test_changed_discovery_labels_are_refused():
    outputs = copy.deepcopy(platform_outputs("acme", "prod"))
    outputs["discovery_labels"]["service_monitor"] = {"release": "prometheus"}
    with pytest.raises(ValueError, match="discovery_labels"):
        PlatformContract.from_outputs(outputs, STACK)


@pytest.mark.parametrize("template", ["acme/platform/{env}", "acme/eks-platform/eks-{env}", "o/p/{env}-use1"])
def test_platform_stack_names_the_environment(template):
    assert platform_stack_error(template) == ""
    assert platform_stack(template, "prod") == template.replace("{env}", "prod")
    assert platform_project(template) == template.split("/")[1]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("acme/platform/prod", "must contain {env}"),
        ("acme/platform/{env}/x", "<organization>/<project>/<stack>"),
        ("platform-{env}", "<organization>/<project>/<stack>"),
        ("acme platform/{env}", "<organization>/<project>/<stack>"),
        ("acme/{env}/{region}", "<organization>/<project>/<stack>"),
    ],
)
def test_a_bad_platform_stack_says_what_is_accepted(template, message):
    assert message in platform_stack_error(template)
    with pytest.raises(ValueError, match="platform_stack"):
        platform_stack(template, "prod")


def test_export_refuses_a_partial_or_padded_contract():
    outputs = platform_outputs("acme", "prod")
    with pytest.raises(ValueError, match="missing vpc_id"):
        export_contract({k: v for k, v in outputs.items() if k != "vpc_id"})
    with pytest.raises(ValueError, match="not fields kubeconfig"):
        export_contract({**outputs, "kubeconfig": "..."})


def test_a_service_reads_each_field_through_a_stack_reference():
    fields = {}

    def build():
        platform = read_contract(STACK)
        fields["vpc"] = platform.field("vpc_id")
        fields["subnets"] = platform.field("isolated_subnet_ids")
        aws.ec2.SecurityGroup("db", vpc_id=fields["vpc"])

    run = run_with_mocks(build, stack_outputs={STACK: platform_outputs("acme", "prod")})
    assert [r.inputs["name"] for r in run.of_type("pulumi:pulumi:StackReference")] == [STACK]
    assert resolve(fields["vpc"]) == "vpc-acme-prod"
    assert run.of_type("aws:ec2/securityGroup:SecurityGroup")[0].inputs["vpcId"] == "vpc-acme-prod"
    with pytest.raises(ValueError, match="not an output of the platform contract"):
        run_with_mocks(
            lambda: read_contract(STACK).field("kubeconfig"), stack_outputs={STACK: platform_outputs("acme", "prod")}
        )


def test_exported_outputs_read_back_as_the_contract():
    exported = {}
    export = pulumi.export

    def build():
        pulumi.export = lambda name, value: exported.__setitem__(name, value)
        try:
            export_contract(platform_outputs("acme", "prod"))
        finally:
            pulumi.export = export

    run_with_mocks(build)
    assert PlatformContract.from_outputs(exported, STACK) == PlatformContract.from_outputs(
        platform_outputs("acme", "prod"), STACK
    )
