"""KubernetesCluster under Pulumi mocks: what it creates for every SLA tier and environment."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from pulumi_components import ComponentArgsError, KubernetesCluster, KubernetesClusterArgs, Network, NetworkArgs
from pulumi_components.guardrails import Context, check_resources
from pulumi_components.kubernetes_cluster import (
    ADDON_VERSIONS,
    CLUSTER_AUTOSCALER_IMAGE_TAGS,
    CONTROL_PLANE_LOG_TYPES,
    ClusterAccess,
    check_node_capacity,
    peak_service_pods,
)
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.answers import SLA_CHOICES
from pulumi_components.testing import resolve, run_with_mocks

CLUSTER = "aws:eks/cluster:Cluster"


def env_plan(sla: float, env: str):
    answers = Answers(project_name="Pay", service_slug="pay", team="core", owner_email="core@example.com", sla=sla)
    return plan_service(answers).environments[env]


ACCESS = ClusterAccess("pay-prod-deploy", "pay-prod-preview", ("arn:aws:iam::123456789012:role/oncall",))


def build(plan, access=ACCESS, **cluster_overrides):
    """Network + KubernetesCluster for `plan`; returns (run, component)."""
    made = {}
    cluster_plan = dataclasses.replace(plan.cluster, **cluster_overrides)

    def program():
        network = Network("pay", NetworkArgs(name="pay-env", region="us-east-1", plan=plan.network, tags=plan.tags))
        made["cluster"] = KubernetesCluster(
            "pay",
            KubernetesClusterArgs(
                name="pay-env",
                region="us-east-1",
                plan=cluster_plan,
                vpc_id=network.vpc.id,
                private_subnet_ids=network.subnet_ids["private"],
                log_retention_days=plan.log_retention_days,
                access=access,
                tags=plan.tags,
            ),
        )

    return run_with_mocks(program), made["cluster"]


@pytest.mark.parametrize("sla", SLA_CHOICES)
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_cluster_follows_the_plan(sla, env):
    plan = env_plan(sla, env)
    run, cluster = build(plan)
    (eks,) = run.of_type(CLUSTER)
    assert eks.inputs["version"] == plan.cluster.kubernetes_version
    assert eks.inputs["deletionProtection"] is plan.cluster.deletion_protection
    assert len(eks.inputs["vpcConfig"]["subnetIds"]) == plan.network.az_count
    (nodes,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    scaling = nodes.inputs["scalingConfig"]
    assert [scaling["minSize"], scaling["desiredSize"], scaling["maxSize"]] == [
        plan.cluster.node_min,
        plan.cluster.node_desired,
        plan.cluster.node_max,
    ]
    assert nodes.inputs["instanceTypes"] == list(plan.cluster.node_instance_types)
    assert len(nodes.inputs["subnetIds"]) == plan.network.az_count
    (template,) = run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == plan.cluster.node_disk_gb
    violations = check_resources(run.resources, Context.from_plan(plan))
    assert not violations, "\n".join(map(str, violations))


def test_secure_defaults():
    run, cluster = build(env_plan(99.9, "prod"))
    (eks,) = run.of_type(CLUSTER)
    vpc = eks.inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc
    assert eks.inputs["enabledClusterLogTypes"] == list(CONTROL_PLANE_LOG_TYPES)
    assert eks.inputs["accessConfig"]["authenticationMode"] == "API"
    key_arn = eks.inputs["encryptionConfig"]["provider"]["keyArn"]
    assert key_arn.endswith("/pay-env-eks")
    (key,) = [k for k in run.of_type("aws:kms/key:Key") if k.name == "pay-env-eks"]
    assert key.inputs["enableKeyRotation"] is True
    (template,) = run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
        "instanceMetadataTags": "disabled",
    }
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    # The cluster's own security group stays on the nodes next to the workload group.
    assert template.inputs["vpcSecurityGroupIds"] == ["sg-pay-env-cluster", "pay-workload-sg-id"]
    (log_group,) = [g for g in run.of_type("aws:cloudwatch/logGroup:LogGroup") if "eks" in g.inputs["name"]]
    assert log_group.inputs["name"] == "/aws/eks/pay-env/cluster"


def test_addons_are_pinned_and_cni_uses_its_own_role():
    run, _ = build(env_plan(99.9, "prod"))
    addons = {a.inputs["addonName"]: a.inputs for a in run.of_type("aws:eks/addon:Addon")}
    assert {name: a["addonVersion"] for name, a in addons.items()} == ADDON_VERSIONS["1.34"]
    assert addons["vpc-cni"]["serviceAccountRoleArn"].endswith("pay-vpc-cni")
    node_policies = [
        a.inputs["policyArn"]
        for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if "-node-" in a.name
    ]
    assert not any("CNI" in arn for arn in node_policies)


def test_oidc_provider_and_irsa_role_trust_one_service_account():
    run, cluster = build(env_plan(99.9, "prod"))
    (oidc,) = run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["url"] == "https://oidc.eks.us-east-1.amazonaws.com/id/PAY-ENV"
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.name == "pay-ebs-csi"]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        "oidc.eks.us-east-1.amazonaws.com/id/PAY-ENV:sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
        "oidc.eks.us-east-1.amazonaws.com/id/PAY-ENV:aud": "sts.amazonaws.com",
    }


def test_kubeconfig_is_a_secret_that_uses_aws_eks_get_token():
    run, cluster = build(env_plan(99.9, "prod"))
    assert asyncio.get_event_loop().run_until_complete(cluster.kubeconfig.is_secret())
    config = json.loads(resolve(cluster.kubeconfig))
    assert config["clusters"][0]["cluster"]["server"] == "https://PAY-ENV.gr7.us-east-1.eks.amazonaws.com"
    assert config["users"][0]["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", "pay-env"]


def test_public_endpoint_only_for_named_cidrs():
    run, _ = build(env_plan(99.9, "prod"), public_access_cidrs=("203.0.113.0/24",))
    (eks,) = run.of_type(CLUSTER)
    assert eks.inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert eks.inputs["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_graviton_nodes_get_the_arm_image():
    run, _ = build(env_plan(99.9, "prod"), node_instance_types=("m7g.large",))
    (nodes,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    assert nodes.inputs["amiType"] == "AL2023_ARM_64_STANDARD"


def test_registers_under_the_package_token():
    run, cluster = build(env_plan(99.9, "prod"))
    assert [r.name for r in run.resources if r.type == "groundwork:index:KubernetesCluster"] == ["pay"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"node_instance_types": ("m7x.mega",)}, r"cluster\.node_instance_types: unknown instance type 'm7x\.mega'"),
        ({"node_instance_types": ("m7i.large", "m7g.large")}, r"cluster\.node_instance_types must all be"),
        ({"kubernetes_version": "1.20"}, r"cluster\.kubernetes_version: '1\.20' has no pinned add-ons"),
        ({"node_min": 5, "node_desired": 4}, r"cluster\.node_min/node_desired/node_max"),
        ({"public_access_cidrs": ("0.0.0.0/0",)}, r"cluster\.public_access_cidrs must not open"),
        ({"public_access_cidrs": ("10.0.0/8",)}, r"cluster\.public_access_cidrs: '10\.0\.0/8' is not a CIDR"),
        ({"node_disk_gb": 8}, r"cluster\.node_disk_gb"),
    ],
)
def test_bad_cluster_config_names_the_key(override, message):
    with pytest.raises(ComponentArgsError, match=message):
        build(env_plan(99.9, "prod"), **override)


def test_every_principal_has_its_own_access_entry_and_the_creator_none():
    run, _ = build(env_plan(99.9, "prod"))
    (eks,) = run.of_type(CLUSTER)
    assert eks.inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    entries = {e.inputs["principalArn"] for e in run.of_type("aws:eks/accessEntry:AccessEntry")}
    assert entries == {
        "arn:aws:iam::123456789012:role/pay-prod-deploy",
        "arn:aws:iam::123456789012:role/pay-prod-preview",
        "arn:aws:iam::123456789012:role/oncall",
    }
    policies = {
        a.inputs["principalArn"].rsplit("/", 1)[-1]: (a.inputs["policyArn"], a.inputs["accessScope"])
        for a in run.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    admin = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert policies == {
        "pay-prod-deploy": (admin, {"type": "cluster"}),
        "pay-prod-preview": ("arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy", {"type": "cluster"}),
        "oncall": (admin, {"type": "cluster"}),
    }


@pytest.mark.parametrize(
    ("admins", "message"),
    [
        (("alice",), r"cluster_admins: 'alice' is not an IAM role or user ARN"),
        (("arn:aws:iam::123456789012:group/ops",), r"cluster_admins: .* is not an IAM role or user ARN"),
        (("arn:aws:iam::123456789012:role/pay-prod-deploy",), r"is a pipeline role; it already has its access entry"),
        (("arn:aws:iam::123456789012:user/a", "arn:aws:iam::123456789012:user/a"), r"two principals share a name"),
        ("arn:aws:iam::123456789012:user/a", r"cluster_admins must be a list of IAM role or user ARNs"),
    ],
)
def test_bad_cluster_admins_name_the_setting(admins, message):
    with pytest.raises(ComponentArgsError, match=message):
        ClusterAccess("pay-prod-deploy", "pay-prod-preview", admins).validate()


def test_a_cluster_needs_its_access_named():
    with pytest.raises(ComponentArgsError, match=r"access: name the deploy and preview roles"):
        build(env_plan(99.9, "prod"), access=None)


def test_vpc_cni_enforces_network_policies():
    run, _ = build(env_plan(99.9, "prod"))
    (cni,) = [a for a in run.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
    assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}


def test_ebs_csi_role_may_use_the_volume_key():
    run, cluster = build(env_plan(99.9, "prod"))
    key_arn = resolve(cluster.volume_key.arn)
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "pay-ebs-csi-inline"]
    grants, use = json.loads(policy.inputs["policy"])["Statement"]
    assert grants["Resource"] == use["Resource"] == key_arn
    assert "kms:CreateGrant" in grants["Action"]
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert {"kms:GenerateDataKey*", "kms:Decrypt", "kms:DescribeKey"} <= set(use["Action"])


def test_autoscaler_role_only_when_the_node_count_may_change():
    run, cluster = build(env_plan(99.9, "prod"), node_min=2, node_desired=2, node_max=6)
    assert cluster.autoscaling.image_tag == CLUSTER_AUTOSCALER_IMAGE_TAGS["1.34"]
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.name == "pay-cluster-autoscaler"]
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "pay-cluster-autoscaler-inline"]
    discover, scale = json.loads(policy.inputs["policy"])["Statement"]
    assert scale["Action"] == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert scale["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/pay-env": "owned"}}
    fixed_run, fixed = build(env_plan(99.9, "prod"), node_min=2, node_desired=2, node_max=2)
    assert fixed.autoscaling is None
    assert not [r for r in fixed_run.of_type("aws:iam/role:Role") if r.name == "pay-cluster-autoscaler"]


@pytest.mark.parametrize("strategy", ["rolling", "canary", "blue-green"])
def test_the_service_peak_fits_in_node_max(strategy):
    for sla in SLA_CHOICES:
        plan = env_plan(sla, "prod")
        rollout = dataclasses.replace(plan.rollout, strategy=strategy)
        check_node_capacity(plan.cluster, plan.workload, rollout)  # every generated plan fits
    plan = env_plan(99.99, "prod")
    blue_green = dataclasses.replace(plan.rollout, strategy="blue-green")
    assert peak_service_pods(plan.workload, blue_green) == 2 * plan.workload.replicas_max
    small = dataclasses.replace(plan.cluster, node_max=plan.workload.replicas_max // 4)
    with pytest.raises(ComponentArgsError, match=r"cluster\.node_max: .* raise node_max or choose larger nodes"):
        check_node_capacity(small, plan.workload, blue_green)
