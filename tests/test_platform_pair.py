"""The contract test: a platform and a service on its shared cluster, rendered from this template,
work together. The platform's program runs under mocks; its outputs, exactly as exported, are what
the service program's StackReference reads. Both pass the guardrails and the deployability rules, and
the pair holds: the service builds on the platform's cluster, network, identity provider and runners."""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml
from conftest import assert_own_suite_and_lint_pass, render
from platform_pair import PLATFORM, run_pair

from pulumi_components.deployability import RepositoryView, check_repository, check_stack, stack_view
from pulumi_components.deployability.reachability import scale_set_names
from pulumi_components.guardrails import Context, check_resources
from pulumi_components.reliability import from_config
from pulumi_components.reliability.contract import PlatformContract

ORG = "acme"
STACK = ORG + "/platform/{env}"
ENVS = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("pair")
    platform = render(root / "platform", **PLATFORM)
    service = render(
        root / "shop",
        project_name="Shop",
        team=ORG,
        cluster="shared",
        platform_stack=STACK,
        sla=99.9,
        deployment_strategy="blue-green",
        oncall="slack",
    )
    runs = run_pair(platform, service, STACK, ENVS)
    return platform, service, runs


def test_the_platform_exports_and_the_service_reads_the_same_contract(pair):
    _, _, runs = pair
    for env, (_, _, exported, _, service_run) in runs.items():
        contract = PlatformContract.from_outputs(exported, STACK.format(env=env))
        (reference,) = service_run.of_type("pulumi:pulumi:StackReference")
        assert reference.inputs["name"] == f"acme/platform/{env}"
        assert service_run.output("platform_stack") == f"acme/platform/{env}"
        assert service_run.output("runner_label") == contract.runner_label == f"platform-{env}"


def test_renaming_an_output_breaks_the_service(pair):
    _, _, runs = pair
    _, _, exported, _, _ = runs["prod"]
    renamed = copy.deepcopy(exported)
    renamed["database_subnet_ids"] = renamed.pop("isolated_subnet_ids")
    with pytest.raises(ValueError, match="acme/platform/prod does not export isolated_subnet_ids"):
        PlatformContract.from_outputs(renamed, "acme/platform/prod")


def test_the_service_builds_on_the_platforms_resources(pair):
    _, _, runs = pair
    for env, (_, platform_run, exported, _, service_run) in runs.items():
        assert not service_run.of_type("aws:eks/cluster:Cluster") and not service_run.of_type("aws:ec2/vpc:Vpc")
        assert not service_run.of_type("kubernetes:helm.sh/v3:Release")  # no add-ons or monitoring of its own
        (group,) = service_run.of_type("aws:rds/subnetGroup:SubnetGroup")
        assert group.inputs["subnetIds"] == exported["isolated_subnet_ids"]
        (db_group,) = [g for g in service_run.of_type("aws:ec2/securityGroup:SecurityGroup") if g.name.endswith("-sg")]
        assert db_group.inputs["vpcId"] == exported["vpc_id"]
        rules = service_run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        assert exported["workload_security_group_id"] in {r.inputs.get("referencedSecurityGroupId") for r in rules}
        trust = [r.inputs["assumeRolePolicy"] for r in service_run.of_type("aws:iam/role:Role") if "irsa" in r.name]
        assert exported["oidc_provider_arn"] in trust[0] and f"{exported['oidc_issuer']}:sub" in trust[0]
        entries = service_run.of_type("aws:eks/accessEntry:AccessEntry")
        assert {e.inputs["clusterName"] for e in entries} == {exported["cluster_name"]}
        (provider,) = service_run.of_type("pulumi:providers:kubernetes")
        assert exported["cluster_endpoint"] in provider.inputs["kubeconfig"]
        assert scale_set_names(stack_view("platform", env, platform_run)) == {exported["runner_label"]}


def test_the_hosted_service_has_its_flags_and_migrations_and_no_probe_alert(pair):
    _, _, runs = pair
    for env, (_, _, _, _, service_run) in runs.items():
        name = f"shop-{env}"
        (environment,) = service_run.of_type("aws:appconfig/environment:Environment")
        (alarm,) = environment.inputs["monitors"]
        assert alarm["alarmArn"]  # a flag change rolls back on the load balancer's 5xx ratio
        (settings,) = [c for c in service_run.of_type("kubernetes:core/v1:ConfigMap") if c.name == f"{name}-config"]
        assert settings.inputs["data"]["APPCONFIG_PROFILE"] == f"{name}-flags"
        (job,) = service_run.of_type("kubernetes:batch/v1:Job")
        assert service_run.output("migration_job") == job.inputs["metadata"]["name"]
        # The platform's monitoring probes no tenant: the hosted service has no alert that would never fire.
        rules = service_run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        alerts = {r.get("alert") for rule in rules for g in rule.inputs["spec"]["groups"] for r in g["rules"]}
        assert "ServiceCPUSaturation" in alerts and "SyntheticProbeFailing" not in alerts  # standard, less the probe


def test_both_pass_the_guardrails_and_would_deploy(pair):
    platform, service, runs = pair
    views = {}
    for env, (platform_config, platform_run, _, config, service_run) in runs.items():
        for project, stack_config_, run in (("platform", platform_config, platform_run), ("shop", config, service_run)):
            plan = from_config(stack_config_[f"{project}:plan"])
            violations = check_resources(run.resources, Context.from_plan(plan))
            assert not violations, f"{project} {env}:\n" + "\n".join(map(str, violations))
            view = stack_view(project, env, run, stack_config_)
            findings = check_stack(view)
            assert not findings, f"{project} {env} would not deploy:\n" + "\n".join(map(str, findings))
        views[env] = stack_view("shop", env, service_run, config)
    findings = check_repository(RepositoryView(service, views))
    assert not findings, "the service repository would not deploy:\n" + "\n".join(map(str, findings))


def test_a_job_off_the_platforms_runners_is_reported(pair, tmp_path):
    _, service, runs = pair
    copy_ = shutil.copytree(service, tmp_path / "shop", symlinks=True)
    deploy = copy_ / ".github" / "workflows" / "deploy.yml"
    deploy.write_text(deploy.read_text().replace("runs-on: platform-prod", "runs-on: shop-prod"))
    views = {env: stack_view("shop", env, run[4], run[3]) for env, run in runs.items()}
    findings = check_repository(RepositoryView(copy_, views), only=["hosted-jobs-run-on-platform-runners"])
    assert findings and all("the platform's runners are 'platform-prod'" in f.message for f in findings)
    assert yaml.safe_load(deploy.read_text())  # still a workflow: only the label changed


@pytest.mark.slow
def test_the_platform_passes_its_own_suite_and_lint(pair):
    """The platform repository's own test command (its stacks, its bootstrap program, the deployability
    rules over its workflows) and its CI's lint job, as generated."""
    platform, _, _ = pair
    assert_own_suite_and_lint_pass(platform)
