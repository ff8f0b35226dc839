"""What the platform answers mean (facts.py), the README's rows (readme.py) and delivery.md's timing
table (delivery.py), tested on the model; the templates only write the rows out."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.delivery import release_timings
from pulumi_components.reliability.facts import service_facts
from pulumi_components.reliability.readme import readme_facts

BASE = {"project_name": "Payments", "service_slug": "payments", "team": "pay", "owner_email": "pay@example.com"}
TEMPLATE = ROOT / "template"


def plan(**answers):
    return plan_service(Answers(**BASE, **answers))


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"platform": "aws-eks"}, {"runs_on_kubernetes", "has_cluster", "builds_image", "alerts_via_prometheus"}),
        (
            {"platform": "aws-eks", "cluster": "shared"},
            {"runs_on_kubernetes", "shared_cluster", "builds_image", "alerts_via_prometheus"},
        ),
        ({"platform": "aws-lambda"}, {"runs_on_lambda", "standby_created_by_workflow"}),
    ],
    ids=["dedicated", "shared", "lambda"],
)
def test_each_platform_and_cluster_has_its_facts(answers, expected):
    facts = service_facts(plan(**answers))
    assert {name for name, value in vars(facts).items() if value} == expected


def chosen(readme) -> dict[str, tuple[str, str]]:
    return {question: (answer, meaning) for question, answer, meaning in readme.chosen}


def test_what_was_chosen_says_what_each_answer_means_here():
    dedicated = chosen(readme_facts(plan(sla=99.99, deployment_strategy="blue-green", compliance=("soc2",))))
    assert dedicated["platform"] == ("`aws-eks`", "Kubernetes 1.34 on EKS, managed node groups in private subnets")
    assert dedicated["region"] == ("`us-east-1`", "disaster recovery in `us-west-2`")
    assert dedicated["deployment strategy"][1].startswith("preview colour analysed before promotion, old colour kept")
    assert dedicated["database"][1].startswith("PostgreSQL 17 on RDS, Multi-AZ, ")
    assert dedicated["compliance"] == ("soc2", "tagged on every resource")
    shared = chosen(readme_facts(plan(cluster="shared"), platform_stack="acme/platform/{env}"))
    assert "shared EKS cluster, read from the `acme/platform/{env}` stacks" in shared["platform"][1]
    serverless = chosen(readme_facts(plan(platform="aws-lambda", database="none", sla=99.5)))
    assert serverless["platform"][1] == "AWS Lambda behind an HTTP API"
    assert serverless["region"][1] == "single region"
    assert serverless["database"] == ("`none`", "none")
    assert serverless["compliance"][0] == "none"
    canary = chosen(readme_facts(plan()))["deployment strategy"][1]
    assert re.fullmatch(r"weights (\d+% → )+100%, automatic rollback on failed analysis", canary)


def test_per_environment_rows_have_one_cell_per_environment_and_database_rows_only_with_one():
    with_database = readme_facts(plan(environments=("staging", "prod")))
    assert {len(row) for row in with_database.per_environment} == {3}
    labels = [row[0] for row in with_database.per_environment]
    assert "database Multi-AZ" in labels and "backup retention (days)" in labels
    without = readme_facts(plan(database="none"))
    assert "database Multi-AZ" not in [row[0] for row in without.per_environment]
    urls = next(row for row in without.per_environment if row[0] == "public URL")
    assert urls[1:] == (
        "`https://payments.dev.example.com`",
        "`https://payments.staging.example.com`",
        "`https://payments.example.com`",
    )


def test_the_rate_limit_is_the_web_acl_on_eks_and_the_stage_throttle_on_lambda():
    eks = readme_facts(plan()).hostnames[-1]
    assert eks[0] == "prod" and eks[2].endswith("min per client IP (WAF)")
    function = plan(platform="aws-lambda").prod.function
    serverless = readme_facts(plan(platform="aws-lambda")).hostnames[-1]
    assert (
        serverless[2]
        == f"{function.api_throttle_rate} requests/s, burst {function.api_throttle_burst}, all clients (stage throttle)"
    )


def test_layout_and_monitoring_rows_follow_what_the_repository_holds():
    eks = dict(readme_facts(plan(deployment_strategy="rolling", monitoring_level="basic")).layout)
    assert eks["`deploy/`"].endswith("(load balancer controller, external-secrets, metrics-server)")
    assert "Grafana" not in eks["`monitoring/`"] and "Prometheus rules" in eks["`monitoring/`"]
    serverless = readme_facts(plan(platform="aws-lambda", database="none"))
    layout = dict(serverless.layout)
    assert "`deploy/`" not in layout and "CloudWatch alarms" in layout["`monitoring/`"]
    assert "restore test" not in layout["`scripts/`"]
    assert serverless.monitoring_files == () and serverless.release == ""
    files = dict(readme_facts(plan(monitoring_level="comprehensive", oncall="opsgenie")).monitoring_files)
    assert "error-budget report" in files["`monitoring/dashboards/`"]
    assert files["`monitoring/alertmanager/alertmanager.yml`"].startswith("critical pages opsgenie from production")


def test_release_sentence_and_step_numbers():
    canary = readme_facts(plan())
    assert canary.release.startswith("A release is an Argo Rollouts canary: ") and canary.release_step == 10
    assert readme_facts(plan(deployment_strategy="rolling")).release.startswith("A release is a rolling update")
    assert readme_facts(plan(platform="aws-lambda")).release_step == 8


def test_variables_follow_the_backend_the_database_and_failover():
    def names(readme) -> dict[str, tuple[str, ...]]:
        return {row[0]: row[1:] for row in readme.variables}

    cloud = names(readme_facts(plan(sla=99.99), pulumi_backend="pulumi-cloud"))
    assert cloud["`PULUMI_ACCESS_TOKEN`"][1] == "preview, deploy, rollback, drift, restore-test, failover"
    assert cloud["`AWS_DEPLOY_ROLE_PROD`"][1] == "deploy, rollback, failover"
    assert cloud["`AWS_DEPLOY_ROLE_DEV`"][1] == "deploy, rollback"
    s3 = names(readme_facts(plan(database="none"), pulumi_backend="s3"))
    assert "`PULUMI_ACCESS_TOKEN`" not in s3 and "`AWS_RESTORE_TEST_ROLE`" not in s3
    assert "the state bucket and `kms:Decrypt`" in s3["`AWS_READONLY_ROLE_PROD`"][2]


def test_documents_carry_the_feasibility_and_the_load_test_only_with_staging():
    documents = dict(readme_facts(plan(sla=99.99)).documents)
    assert "(**not reachable**)" in documents["[docs/reliability-report.md](docs/reliability-report.md)"]
    assert "regional failover" in documents["[docs/disaster-recovery.md](docs/disaster-recovery.md)"]
    assert "`loadtest/`" in documents
    assert "`loadtest/`" not in dict(readme_facts(plan(environments=("dev", "prod"))).documents)


def test_release_timings_per_environment():
    canary = plan(deployment_strategy="canary")
    rows = release_timings(canary)
    assert [row[0] for row in rows] == ["dev", "staging", "prod"]
    prod = canary.prod.rollout
    assert rows[-1] == (
        "prod",
        f"{prod.full_rollout_seconds} s",
        f"{prod.rollback_decision_seconds_at(1.0)} s for a release failing every request",
    )
    rolling = release_timings(plan(deployment_strategy="rolling"))[-1]
    assert rolling[1:] == (
        "paced by readiness (no timed steps)",
        "no automatic gate: SLO alerts, then the rollback workflow",
    )
    serverless = plan(platform="aws-lambda", deployment_strategy="canary")
    assert release_timings(serverless)[-1][2] == (
        f"at most {serverless.prod.rollout.lambda_rollback_decision_seconds} s while the shift runs "
        "(alarm period x (datapoints + 1))"
    )
    blue_green = release_timings(plan(platform="aws-lambda", deployment_strategy="blue-green"))[-1]
    assert blue_green[1] == "immediate after the pre-traffic check" and "never gets traffic" in blue_green[2]


def test_the_readme_template_only_formats():
    """No long lines, no answer compared with a literal inside a table row: the rows come from readme.py."""
    text = (TEMPLATE / "README.md.jinja").read_text()
    assert max(map(len, text.splitlines())) <= 200
    assert not re.search(r"platform\s*[=!]=", text)
    assert not [
        line for line in text.splitlines() if line.startswith("|") and "{%" in line and "{% for env" not in line
    ]


def test_templates_name_the_fact_instead_of_comparing_the_platform():
    """Template bodies branch on service_facts(); only file and folder names may still compare the answer
    (Copier decides those before a template renders). The restore-test workflow keeps its own conditionals."""
    kept = ("restore-test", "bootstrap/")
    comparisons = {
        str(path.relative_to(TEMPLATE)): len(re.findall(r"platform\s*[=!]=\s*['\"]aws-", path.read_text()))
        for path in TEMPLATE.rglob("*.jinja")
        if not any(part in str(path) for part in kept)
    }
    assert {path: count for path, count in comparisons.items() if count} == {}
