"""Each environment of the platform: what it builds, its guardrails, and the contract it exports."""

import yaml
from components.guardrails import Context, check_resources
from components.reliability.contract import PlatformContract, conventions
from conftest import PROJECT, ROOT

# The deployability rules, over every stack and over the repository (its workflows, bootstrap
# program and documents), run in test_deployability.py, as in a service repository.


def test_the_stack_passes_the_guardrails(run, plan):
    violations = check_resources(run.resources, Context.from_plan(plan))
    assert not violations, "\n".join(map(str, violations))


def test_it_exports_the_whole_contract_for_its_environment(stack, run, plan):
    outputs = {name: run.output(name) for name in PlatformContract.output_names()}
    contract = PlatformContract.from_outputs(outputs, f"<organization>/{PROJECT}/{stack}")
    assert (contract.platform, contract.environment, contract.runner_label) == (PROJECT, stack, f"{PROJECT}-{stack}")
    assert len(contract.isolated_subnet_ids) == len(contract.private_subnet_ids) == plan.network.az_count
    assert {name: getattr(contract, name) for name in conventions()} == conventions()


def test_monitoring_accepts_the_hosted_services_objects(run):
    releases = {r.inputs["chart"]: r.inputs["values"] for r in run.of_type("kubernetes:helm.sh/v3:Release")}
    prometheus = releases["kube-prometheus-stack"]["prometheus"]["prometheusSpec"]
    assert prometheus["enforcedNamespaceLabel"] == "namespace"
    spec = releases["kube-prometheus-stack"]["alertmanager"]["alertmanagerSpec"]
    assert spec["alertmanagerConfigMatcherStrategy"] == {"type": "OnNamespace"}
    assert "argo-rollouts" in releases  # whatever strategy a hosted service chooses


def test_its_own_alerts_each_have_a_runbook(run):
    rules = [r for r in run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")]
    alerts = [rule for r in rules for group in r.inputs["spec"]["groups"] for rule in group["rules"] if "alert" in rule]
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    assert len(alerts) >= 4
    for alert in alerts:
        assert f"## {alert['alert']}\n" in runbooks
        assert alert["annotations"]["runbook_url"].endswith(f"docs/runbooks.md#{alert['alert'].lower()}")


def test_fixed_rules_are_the_repositorys_file(run):
    (fixed,) = [
        r
        for r in run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        if r.inputs["metadata"]["name"] == f"{PROJECT}-slo"
    ]
    assert fixed.inputs["spec"] == yaml.safe_load((ROOT / "monitoring/prometheus/rules.yml").read_text())
