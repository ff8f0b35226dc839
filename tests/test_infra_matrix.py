"""Every platform x database x SLA choice, with the strategies and monitoring levels spread over
them: the generated program runs under mocks for each of its stacks, exports what the pipelines
read, passes the guardrails, and would deploy (the deployability rules)."""

from __future__ import annotations

import itertools

import pytest
import yaml
from conftest import render
from platform_pair import PLATFORM, PLATFORM_STACK, run_pair, shared_service

from pulumi_components.deployability import RepositoryView, check_repository, check_stack, stack_view
from pulumi_components.deployability.failover import supported_failover
from pulumi_components.guardrails import Context, check_resources
from pulumi_components.reliability import Answers, from_config, plan_service
from pulumi_components.reliability.answers import DEPLOYMENT_STRATEGIES, MONITORING_LEVELS, SLA_CHOICES
from pulumi_components.reliability.availability import FAILOVER_ORDER, feasibility
from pulumi_components.reliability.cost import environment_cost, kms_key_count
from pulumi_components.testing import RELEASE_IMAGE, run_program, stack_config

# What the deploy workflow passes: the image it pushed to the environment's registry, by digest.

# Each strategy and level meets every platform and database: the i-th combination takes the i-th
# strategy and the (i // 3)-th level, so no extra stacks run for them.
COMBINATIONS = [
    (platform, database, sla, DEPLOYMENT_STRATEGIES[i % 3], MONITORING_LEVELS[(i // 3) % 3])
    for i, (platform, database, sla) in enumerate(
        itertools.product(("aws-eks", "aws-lambda"), ("postgres", "none"), SLA_CHOICES)
    )
]
OUTPUTS = {
    "aws-eks": {"cluster_name", "kubeconfig", "oidc_provider_arn", "node_role_arn", "workload_security_group_id"},
    "aws-lambda": {"function_name", "alias_name", "function_version", "base_url"},
}
DATABASE_OUTPUTS = {
    "db_endpoint",
    "db_secret_arn",
    "db_instance_identifier",
    "db_subnet_group_name",
    "db_security_group_id",
}


@pytest.mark.parametrize(("platform", "database", "sla", "strategy", "level"), COMBINATIONS)
def test_generated_program_runs_every_stack_and_passes_the_guardrails(
    tmp_path, platform, database, sla, strategy, level
):
    repo = render(
        tmp_path / "svc",
        platform=platform,
        database=database,
        sla=sla,
        deployment_strategy=strategy,
        monitoring_level=level,
        service_slug="svc",
    )
    stacks = sorted(p.name.split(".")[1] for p in repo.glob("Pulumi.*.yaml"))
    assert stacks == ["dev", "prod", "staging"]
    service = plan_service(Answers.from_mapping(yaml.safe_load((repo / ".copier-answers.yml").read_text())))
    views = {}
    for stack in stacks:
        config = stack_config(repo / f"Pulumi.{stack}.yaml") | {"svc:image": RELEASE_IMAGE}
        plan = from_config(config["svc:plan"])
        run = run_program(repo / "infra", project="svc", stack=stack, config=config)

        violations = check_resources(run.resources, Context.from_plan(plan))
        assert not violations, f"{stack}:\n" + "\n".join(map(str, violations))
        views[stack] = stack_view("svc", stack, run, config)
        findings = check_stack(views[stack])
        assert not findings, f"{stack} would not deploy:\n" + "\n".join(map(str, findings))

        expected = OUTPUTS[platform] | (DATABASE_OUTPUTS if database == "postgres" else set())
        assert expected <= set(run.outputs), f"{stack} misses {expected - set(run.outputs)}"
        replicas = [r for r in run.of_type("aws:rds/instance:Instance") if r.inputs.get("replicateSourceDb")]
        assert len(replicas) == (1 if database == "postgres" and sla >= 99.99 and stack == "prod" else 0)
        assert bool(run.of_type("aws:eks/cluster:Cluster")) is (platform == "aws-eks")
        assert bool(run.of_type("aws:lambda/function:Function")) is (platform == "aws-lambda")
        assert bool(run.of_type("aws:ec2/vpc:Vpc")) is (platform == "aws-eks" or database == "postgres")
        # The availability figure counts no failover stronger than what the stack contains...
        supported = supported_failover(views[stack], plan.database is not None)
        assert FAILOVER_ORDER.index(plan.recovery.failover) <= FAILOVER_ORDER.index(supported)
        if stack == "prod":
            figures = {a.kind.key: a.percent for a in feasibility(service).alternatives}
            assert feasibility(service).composite_percent <= figures[supported] + 1e-9
        # ...and the cost estimate prices what it creates: keys, NAT gateways and their addresses.
        env_cost = {line.item: line for line in environment_cost(service, service.environments[stack]).lines}
        assert kms_key_count(service, service.environments[stack]) == len(run.of_type("aws:kms/key:Key"))
        nat_lines = [line for item, line in env_cost.items() if item.startswith("NAT gateway")]
        priced_nats = sum(int(line.quantity.split(" x ")[0]) for line in nat_lines)
        assert priced_nats == len(run.of_type("aws:ec2/natGateway:NatGateway")) == len(run.of_type("aws:ec2/eip:Eip"))
    findings = check_repository(RepositoryView(repo, views))
    assert not findings, "the repository would not deploy:\n" + "\n".join(map(str, findings))


# A platform and a service on its shared cluster, at every SLA, the monitoring levels and strategies
# spread over them as above: both programs run every stack together (the platform's exports are what
# the service reads), pass the guardrails and would deploy.
# (99.99 takes comprehensive: the platform every other test renders, platform_pair.PLATFORM.)
SHARED_COMBINATIONS = [
    (sla, MONITORING_LEVELS[(i + 2) % 3], DEPLOYMENT_STRATEGIES[(i + 1) % 3]) for i, sla in enumerate(SLA_CHOICES)
]


@pytest.mark.parametrize(("sla", "level", "strategy"), SHARED_COMBINATIONS)
def test_a_platform_and_a_shared_service_run_every_stack_and_would_deploy(tmp_path, sla, level, strategy):
    levels = {"sla": sla, "monitoring_level": level}
    platform = render(tmp_path / "platform", **(PLATFORM | levels))
    service = render(tmp_path / "shop", **shared_service(deployment_strategy=strategy, **levels))
    runs = run_pair(platform, service, PLATFORM_STACK, ("dev", "staging", "prod"))
    views = {}
    for env, pair in runs.items():
        for project, config, run in (
            ("platform", pair.platform_config, pair.platform_run),
            ("shop", pair.service_config, pair.service_run),
        ):
            violations = check_resources(run.resources, Context.from_plan(from_config(config[f"{project}:plan"])))
            assert not violations, f"{project} {env}:\n" + "\n".join(map(str, violations))
            findings = check_stack(stack_view(project, env, run, config))
            assert not findings, f"{project} {env} would not deploy:\n" + "\n".join(map(str, findings))
        views[env] = stack_view("shop", env, pair.service_run, pair.service_config)
    findings = check_repository(RepositoryView(service, views))
    assert not findings, "the service repository would not deploy:\n" + "\n".join(map(str, findings))
