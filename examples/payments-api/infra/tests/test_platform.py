"""What each platform's components build, read back from the stack's resources."""

import json

import pytest
from components.identity import deploy_role_name, preview_role_name
from conftest import PROJECT, run_stack


def _one(run, type_):
    (resource,) = [r for r in run.of_type(type_) if r.provider is None or "PostgresDatabase" not in str(r.provider)]
    return resource


def test_cluster_is_private_encrypted_and_sized_by_the_plan(run, plan):
    if plan.cluster is None:
        pytest.skip("not an EKS stack")
    cluster = _one(run, "aws:eks/cluster:Cluster")
    assert cluster.inputs["version"] == plan.cluster.kubernetes_version
    assert cluster.inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is bool(plan.cluster.public_access_cidrs)
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"
    nodes = _one(run, "aws:eks/nodeGroup:NodeGroup")
    scaling = nodes.inputs["scalingConfig"]
    assert (scaling["minSize"], scaling["desiredSize"], scaling["maxSize"]) == (
        plan.cluster.node_min,
        plan.cluster.node_desired,
        plan.cluster.node_max,
    )
    assert len(nodes.inputs["subnetIds"]) == plan.network.az_count
    template = _one(run, "aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == plan.cluster.node_disk_gb
    assert {a.inputs["addonName"] for a in run.of_type("aws:eks/addon:Addon")} == {
        "vpc-cni",
        "kube-proxy",
        "coredns",
        "aws-ebs-csi-driver",
    }
    assert all(a.inputs.get("addonVersion") for a in run.of_type("aws:eks/addon:Addon"))
    kubeconfig = json.loads(run.output("kubeconfig"))
    assert kubeconfig["users"][0]["user"]["exec"]["command"] == "aws"


def test_cluster_access_is_the_pipelines_roles_and_the_configured_admins(stack, plan):
    if plan.cluster is None:
        pytest.skip("not an EKS stack")
    admin = "arn:aws:iam::123456789012:role/oncall"
    run = run_stack(stack, **{f"{PROJECT}:cluster_admins": [admin]})
    cluster = _one(run, "aws:eks/cluster:Cluster")
    assert cluster.inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    policies = {
        a.inputs["principalArn"].rsplit("/", 1)[-1]: a.inputs["policyArn"].rsplit("/", 1)[-1]
        for a in run.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    assert policies == {
        deploy_role_name(PROJECT, stack): "AmazonEKSClusterAdminPolicy",
        preview_role_name(PROJECT, stack): "AmazonEKSAdminViewPolicy",
        "oncall": "AmazonEKSClusterAdminPolicy",
    }


def test_database_follows_the_plan(run, plan):
    if plan.database is None:
        pytest.skip("no database")
    db = next(r for r in run.of_type("aws:rds/instance:Instance") if not r.inputs.get("replicateSourceDb"))
    expected = plan.database
    assert db.inputs["instanceClass"] == expected.instance_class
    assert db.inputs["multiAz"] is expected.multi_az
    assert db.inputs["backupRetentionPeriod"] == expected.backup_retention_days
    assert db.inputs["deletionProtection"] is expected.deletion_protection
    assert db.inputs["skipFinalSnapshot"] is (not expected.final_snapshot)
    assert db.inputs["publiclyAccessible"] is False
    assert db.inputs["manageMasterUserPassword"] is True and "password" not in db.inputs
    replicas = [r for r in run.of_type("aws:rds/instance:Instance") if r.inputs.get("replicateSourceDb")]
    assert len(replicas) == (1 if expected.replica_region else 0)
    # A promoted replica is the production database: Multi-AZ where the plan says so.
    assert all(r.inputs["multiAz"] is expected.replica_multi_az for r in replicas)
    (ingress,) = [
        r
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs.get("fromPort") == 5432
    ]
    assert ingress.inputs.get("referencedSecurityGroupId") and "cidrIpv4" not in ingress.inputs
    assert run.output("db_secret_arn").startswith("arn:aws:secretsmanager:")


def test_function_follows_the_plan(run, plan):
    if plan.function is None:
        pytest.skip("not a Lambda stack")
    # The service's function; a blue-green stack also has CodeDeploy's pre-traffic hook.
    (fn,) = [f for f in run.of_type("aws:lambda/function:Function") if not f.name.endswith("-pre-traffic")]
    assert fn.inputs["reservedConcurrentExecutions"] == plan.function.reserved_concurrency
    assert fn.inputs["memorySize"] == plan.function.memory_mb
    assert fn.inputs["publish"] is True
    assert ("vpcConfig" in fn.inputs) is (plan.database is not None)
    (alias,) = run.of_type("aws:lambda/alias:Alias")
    assert alias.inputs["name"] == "live"
    warm = run.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert len(warm) == (1 if plan.function.provisioned_concurrency else 0)
    stage = _one(run, "aws:apigatewayv2/stage:Stage")
    route = stage.inputs["defaultRouteSettings"]
    assert (route["throttlingRateLimit"], route["throttlingBurstLimit"]) == (
        plan.function.api_throttle_rate,
        plan.function.api_throttle_burst,
    )
    # Served on the stack's hostname only: the default execute-api endpoint is off.
    assert run.output("base_url") == f"https://{plan.edge.hostname}"
    assert _one(run, "aws:apigatewayv2/api:Api").inputs["disableExecuteApiEndpoint"] is True
