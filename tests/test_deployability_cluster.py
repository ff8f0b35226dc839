"""The cluster's deployability rules: each holds on a generated EKS stack and reports the defect it
names when that stack is changed to have it."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
from conftest import render

from pulumi_components.deployability import RepositoryView, check_repository, check_stack, stack_view
from pulumi_components.deployability.cluster import (
    ACCESS_ENTRY,
    ACCESS_POLICY,
    ADDON,
    KMS_KEY,
    NETWORK_POLICY,
    NODE_GROUP,
    RELEASE,
    ROLE_POLICY,
    STORAGE_CLASS,
    UPSTREAM_LOAD_BALANCER_POLICY,
    claims_without_class,
    missing_grants,
    unclassed_claims,
)
from pulumi_components.testing import RELEASE_IMAGE, run_program, stack_config

STORAGE = "volume-claims-have-a-default-storage-class"
KEY = "storage-class-key-usable-by-ebs-csi"
NETWORK = "network-policies-are-enforced"
ACCESS = "workflow-roles-have-access-entries"
LBC = "load-balancer-controller-policy-covers-upstream"
AUTOSCALING = "nodes-autoscale-when-the-plan-allows"


@pytest.fixture(scope="module")
def eks(tmp_path_factory):
    """A generated EKS repository and its prod stack, run under mocks."""
    repo = render(
        tmp_path_factory.mktemp("eks") / "svc",
        platform="aws-eks",
        deployment_strategy="blue-green",
        monitoring_level="comprehensive",
        database="none",
        service_slug="svc",
    )
    config = stack_config(repo / "Pulumi.prod.yaml") | {"svc:image": RELEASE_IMAGE}
    run = run_program(repo / "infra", project="svc", stack="prod", config=config)
    return repo, stack_view("svc", "prod", run, config)


def changed(view, *, drop=lambda r: False, edit=None):
    """A copy of `view` without the resources `drop` selects, and with `edit(resource, inputs)`
    applied to a deep copy of every other resource's inputs."""
    resources = []
    for resource in view.resources:
        if drop(resource):
            continue
        inputs = copy.deepcopy(resource.inputs)
        if edit:
            edit(resource, inputs)
        resources.append(dataclasses.replace(resource, inputs=inputs))
    return dataclasses.replace(view, resources=tuple(resources))


def findings(view, rule):
    return [f.message for f in check_stack(view, only=[rule])]


# --- storage ----------------------------------------------------------------------------------


def test_the_generated_stack_claims_volumes_and_has_a_default_class(eks):
    _, view = eks
    claims = list(claims_without_class(view))
    assert any("storageSpec.volumeClaimTemplate" in where for _, where in claims)  # Prometheus
    assert any(where.endswith("persistence") for _, where in claims)  # Loki, Grafana, Tempo
    assert findings(view, STORAGE) == []


def test_a_claim_without_a_default_class_is_reported(eks):
    _, view = eks
    messages = findings(changed(view, drop=lambda r: r.type == STORAGE_CLASS), STORAGE)
    assert any("prometheusSpec.storageSpec.volumeClaimTemplate claims a volume" in m for m in messages)
    assert all("creates no default StorageClass" in m for m in messages)


def test_claims_that_name_a_class_need_no_default():
    values = {
        "a": {"volumeClaimTemplate": {"spec": {"storageClassName": "fast"}}},
        "b": {"persistence": {"enabled": True, "storageClassName": "fast"}},
        "c": {"persistence": {"enabled": False}},
        "d": {"volumeClaimTemplates": [{"spec": {}}]},
    }
    assert list(unclassed_claims(values)) == ["d.volumeClaimTemplates[0]"]


def test_a_bare_persistent_volume_claim_counts(eks):
    _, view = eks
    claim = dataclasses.replace(
        view.resources[0], type="kubernetes:core/v1:PersistentVolumeClaim", name="scratch", inputs={"spec": {}}
    )
    bare = changed(
        dataclasses.replace(view, resources=(*view.resources, claim)), drop=lambda r: r.type == STORAGE_CLASS
    )
    assert any(
        "kubernetes:core/v1:PersistentVolumeClaim scratch" == f.subject for f in check_stack(bare, only=[STORAGE])
    )


def test_the_volume_key_is_usable_by_the_ebs_csi_driver(eks):
    _, view = eks
    (storage,) = view.of_type(STORAGE_CLASS)
    assert storage.inputs["parameters"]["kmsKeyId"].endswith("key/svc-prod-volumes")
    assert findings(view, KEY) == []


def test_an_ebs_csi_role_without_the_key_grants_is_reported(eks):
    _, view = eks

    def no_grants(resource, inputs):
        if resource.type == ROLE_POLICY and resource.name.endswith("ebs-csi-inline"):
            document = json.loads(inputs["policy"])
            document["Statement"] = [s for s in document["Statement"] if "kms:CreateGrant" not in s["Action"]]
            inputs["policy"] = json.dumps(document)

    (message,) = findings(changed(view, edit=no_grants), KEY)
    assert "may not kms:CreateGrant" in message


def test_a_key_policy_that_admits_no_one_is_reported(eks):
    _, view = eks

    def closed(resource, inputs):
        if resource.type == KMS_KEY and resource.name == "svc-prod-volumes":
            inputs["policy"] = json.dumps({"Version": "2012-10-17", "Statement": []})

    (message,) = findings(changed(view, edit=closed), KEY)
    assert "key policy neither lets IAM policies grant its use" in message


def test_an_unencrypted_storage_class_is_reported(eks):
    _, view = eks

    def plain(resource, inputs):
        if resource.type == STORAGE_CLASS:
            inputs["parameters"]["encrypted"] = "false"

    (message,) = findings(changed(view, edit=plain), KEY)
    assert "must be encrypted" in message


# --- network policies -------------------------------------------------------------------------


def test_network_policies_are_enforced_by_the_vpc_cni(eks):
    _, view = eks
    assert view.of_type(NETWORK_POLICY)
    assert findings(view, NETWORK) == []


def test_a_cni_without_the_policy_agent_is_reported(eks):
    _, view = eks

    def without_agent(resource, inputs):
        if resource.type == ADDON and inputs["addonName"] == "vpc-cni":
            inputs.pop("configurationValues", None)

    (message,) = findings(changed(view, edit=without_agent), NETWORK)
    assert "go unenforced" in message


def test_a_cni_too_old_for_network_policies_is_reported(eks):
    _, view = eks

    def old(resource, inputs):
        if resource.type == ADDON and inputs["addonName"] == "vpc-cni":
            inputs["addonVersion"] = "v1.13.4-eksbuild.1"

    (message,) = findings(changed(view, edit=old), NETWORK)
    assert "has no network policy agent" in message


# --- access -----------------------------------------------------------------------------------


def access_findings(repo, view):
    return [f"{f.subject}: {f.message}" for f in check_repository(RepositoryView(repo, {"prod": view}), only=[ACCESS])]


def test_every_role_the_workflows_assume_has_its_access_entry(eks):
    repo, view = eks
    workflows = "".join(p.read_text() for p in (repo / ".github" / "workflows").glob("*.yml"))
    assert "vars.AWS_DEPLOY_ROLE_PROD" in workflows and "vars.AWS_READONLY_ROLE_PROD" in workflows
    assert access_findings(repo, view) == []


def test_a_workflow_role_without_an_access_entry_is_reported(eks):
    repo, view = eks
    preview = changed(view, drop=lambda r: r.type in (ACCESS_ENTRY, ACCESS_POLICY) and "preview" in r.name)
    messages = access_findings(repo, preview)
    assert messages and all("svc-prod-preview" in m and "no access entry" in m for m in messages)


def test_a_deploy_role_with_too_little_access_is_reported(eks):
    repo, view = eks

    def namespaced(resource, inputs):
        if resource.type == ACCESS_POLICY and "deploy" in resource.name:
            inputs["policyArn"] = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"

    messages = access_findings(repo, changed(view, edit=namespaced))
    assert messages and all("svc-prod-deploy has" in m and "AmazonEKSClusterAdminPolicy" in m for m in messages)


# --- the load balancer controller -------------------------------------------------------------


def test_the_load_balancer_controller_may_do_what_upstream_grants(eks):
    _, view = eks
    assert [r for r in view.of_type(RELEASE) if r.inputs["chart"] == "aws-load-balancer-controller"]
    assert findings(view, LBC) == []


def test_a_narrower_load_balancer_policy_is_reported(eks):
    _, view = eks

    def narrower(resource, inputs):
        if resource.type == ROLE_POLICY and resource.name.endswith("alb-controller-inline"):
            document = json.loads(inputs["policy"])
            # The old policy: security-group ingress only on groups the controller tagged.
            document["Statement"] = [
                s for s in document["Statement"] if "Condition" in s or "ec2:CreateSecurityGroup" not in s["Action"]
            ]
            for statement in document["Statement"]:
                if "elasticloadbalancing:CreateListener" in statement["Action"]:
                    statement["Condition"] = {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
            inputs["policy"] = json.dumps(document)

    (message,) = findings(changed(view, edit=narrower), LBC)
    assert "ec2:CreateSecurityGroup on *" in message
    assert "elasticloadbalancing:CreateListener on *" in message


def test_coverage_honours_resources_and_conditions():
    upstream = UPSTREAM_LOAD_BALANCER_POLICY.read_text()
    assert missing_grants(json.loads(upstream)["Statement"], upstream) == []
    tag_scoped = [
        {
            "Effect": "Allow",
            "Action": "elasticloadbalancing:RegisterTargets",
            "Resource": "arn:aws:elasticloadbalancing:*",
        }
    ]
    wanted = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "elasticloadbalancing:RegisterTargets",
                "Resource": "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
            },
            {"Effect": "Allow", "Action": "elasticloadbalancing:RegisterTargets", "Resource": "*"},
        ]
    }
    assert missing_grants(tag_scoped, wanted) == ["elasticloadbalancing:RegisterTargets on *"]


# --- node autoscaling -------------------------------------------------------------------------


def test_a_growing_node_group_has_an_autoscaler_with_its_role(eks):
    _, view = eks
    (group,) = view.of_type(NODE_GROUP)
    assert group.inputs["scalingConfig"]["maxSize"] > group.inputs["scalingConfig"]["minSize"]
    assert findings(view, AUTOSCALING) == []


def test_a_growing_node_group_without_an_autoscaler_is_reported(eks):
    _, view = eks
    no_autoscaler = changed(view, drop=lambda r: r.type == RELEASE and r.inputs["chart"] == "cluster-autoscaler")
    (message,) = findings(no_autoscaler, AUTOSCALING)
    assert "no cluster-autoscaler discovers cluster svc-prod" in message


def test_an_autoscaler_that_may_not_scale_is_reported(eks):
    _, view = eks

    def read_only(resource, inputs):
        if resource.type == ROLE_POLICY and resource.name.endswith("cluster-autoscaler-inline"):
            document = json.loads(inputs["policy"])
            document["Statement"] = document["Statement"][:1]
            inputs["policy"] = json.dumps(document)

    (message,) = findings(changed(view, edit=read_only), AUTOSCALING)
    assert "may not autoscaling:SetDesiredCapacity, autoscaling:TerminateInstanceInAutoScalingGroup" in message


def test_a_fixed_node_group_needs_no_autoscaler(eks):
    _, view = eks

    def fixed(resource, inputs):
        if resource.type == NODE_GROUP:
            inputs["scalingConfig"]["maxSize"] = inputs["scalingConfig"]["minSize"]

    view = changed(view, edit=fixed, drop=lambda r: r.type == RELEASE and r.inputs["chart"] == "cluster-autoscaler")
    assert findings(view, AUTOSCALING) == []
