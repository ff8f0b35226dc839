"""The reliability documents of the generated repo: they render for every answer combination,
their figures are the model's, every alert has its runbook and every runbook its alert.

The full matrix (platform x strategy x monitoring x SLA x database, 144 combinations) renders
only `template/docs/` through Copier's Jinja setup (its default filters, this template's
extension, StrictUndefined, filename conditions), which takes milliseconds per combination;
a few combinations go through `copier copy` itself for the checks that need the whole repo.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEFAULTS, ROOT, render
from copier._jinja_ext import YieldExtension, get_yield_context
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from pulumi_components.reliability import ALL_ALERT_NAMES, Answers, alert_names, plan_service
from pulumi_components.reliability.availability import feasibility
from pulumi_components.reliability.cost import estimate_cost
from pulumi_components.reliability.recovery import recovery_objectives

PLATFORMS = ("aws-eks", "aws-lambda")
STRATEGIES = ("rolling", "canary", "blue-green")
LEVELS = ("basic", "standard", "comprehensive")
SLAS = (99.5, 99.9, 99.95, 99.99)
DATABASES = ("postgres", "none")
MATRIX = list(itertools.product(PLATFORMS, STRATEGIES, LEVELS, SLAS, DATABASES))

DOCS = ROOT / "template" / "docs"
LEFTOVER = re.compile(r"\{%|%\}|\{\{\s*[A-Za-z_$.]")


@cache
def docs_env() -> SandboxedEnvironment:
    spec = importlib.util.spec_from_file_location("groundwork_docs_ext", ROOT / "extensions" / "groundwork.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(ROOT)),
        extensions=[
            "jinja2_ansible_filters.AnsibleCoreFiltersExtension",
            module.GroundworkExtension,
            YieldExtension,  # Copier's `{% yield x from list %}` in file names, as Copier loads it
        ],
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def answers_context(**answers: Any) -> dict[str, Any]:
    """Every question's answer: the given ones, else copier.yml's default rendered in order."""
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    context: dict[str, Any] = {}
    given = {**DEFAULTS, **answers}
    for name, spec in questions.items():
        if name.startswith("_"):
            continue
        if name in given:
            context[name] = given[name]
            continue
        default = spec.get("default")
        if isinstance(default, str) and "{{" in default:
            default = docs_env().from_string(default).render(context)
        context[name] = default
    return context


def _paths(env: SandboxedEnvironment, parts: list[str], context: dict[str, Any]) -> list[tuple[str, dict]]:
    """(rendered path, context) of each file a templated path yields, as Copier renders paths: a part
    rendering empty drops the file, a part with a `yield` tag gives one file per item of its list."""
    if not parts:
        return [("", context)]
    rendered = env.from_string(parts[0]).render(context)
    yielded = get_yield_context(env)
    if yielded.yield_name:
        name, items = yielded.yield_name, list(yielded.yield_iterable or ())
        choices = [
            ({**context, name: item}, env.from_string(parts[0]).render({**context, name: item})) for item in items
        ]
    else:
        choices = [(context, rendered)]
    out = []
    for inner, part in choices:
        if part:
            out += [(f"{part}/{rest}".rstrip("/"), ctx) for rest, ctx in _paths(env, parts[1:], inner)]
    return out


def render_docs(**answers: Any) -> dict[str, str]:
    """{path under docs/: text} of every docs file these answers produce."""
    env, context = docs_env(), answers_context(**answers)
    out = {}
    for source in sorted(p for p in DOCS.rglob("*.jinja")):
        relative_source = source.relative_to(DOCS).as_posix().removesuffix(".jinja")
        template = env.get_template(source.relative_to(ROOT).as_posix())
        for relative, file_context in _paths(env, relative_source.split("/"), context):
            out[relative] = template.render(file_context)
    return out


def plan_for(**answers: Any):
    return plan_service(Answers.from_mapping(answers_context(**answers)))


def runbooks_in(docs: dict[str, str]) -> set[str]:
    return {Path(p).stem for p in docs if re.fullmatch(r"runbooks/[A-Za-z]+\.md", p)}


# -- the whole matrix, docs only --------------------------------------------------------------


@pytest.mark.parametrize(("platform", "strategy", "level", "sla", "database"), MATRIX)
def test_documents_render_and_follow_the_model(platform, strategy, level, sla, database):
    answers = dict(platform=platform, deployment_strategy=strategy, monitoring_level=level, sla=sla, database=database)
    docs = render_docs(**answers)
    plan = plan_for(**answers)
    for path, text in docs.items():
        leftover = LEFTOVER.search(text)
        assert not leftover, f"{path}: unrendered Jinja near {text[max(0, leftover.start() - 60) : leftover.end()]!r}"
    # one runbook and one team-notes file per alert, nothing else
    assert runbooks_in(docs) == set(alert_names(plan))
    assert {Path(p).stem for p in docs if p.startswith("runbooks/notes/")} == set(alert_names(plan))
    # no Chaos Mesh manifests: no stack installs Chaos Mesh (docs/chaos-experiments.md says how to, for a run)
    assert not any(p.startswith("chaos/") for p in docs)
    dr = docs["disaster-recovery.md"]
    assert ("## Regional failover" in dr) == plan.prod.recovery.fails_over
    assert ("## Restore the database" in dr) == (database == "postgres")
    assert f"RTO of {plan.prod.recovery.rto_minutes} min" in dr or database == "none"
    # the report's figures are the model's
    report = docs["reliability-report.md"]
    result = feasibility(plan)
    assert f"**{result.composite_display}%**" in report
    assert ("**not reachable**" in report) == (not result.reachable)
    assert f"**{estimate_cost(plan).total_usd:,.2f}**" in report
    slo = docs["slo.md"]
    assert f"{plan.availability.budget_minutes} min of full outage" in slo


def test_runbooks_and_notes_are_one_template_each_looping_over_the_catalogue():
    # Adding an alert to the catalogue adds its runbook and notes: no file per alert to add.
    loop = "{% yield alert from alert_catalogue() %}{{ alert.name }}{% endyield %}.md.jinja"
    for folder in (DOCS / "runbooks", DOCS / "runbooks" / "notes"):
        assert [p.name for p in folder.iterdir() if p.is_file()] == [loop], folder
    docs = render_docs(platform="aws-eks", monitoring_level="comprehensive", database="postgres")
    docs |= render_docs(platform="aws-lambda", monitoring_level="comprehensive")
    assert runbooks_in(docs) == set(ALL_ALERT_NAMES)
    assert {Path(p).stem for p in docs if p.startswith("runbooks/notes/")} == set(ALL_ALERT_NAMES)


def test_a_runbook_has_every_section_with_service_specific_commands():
    docs = render_docs()
    runbook = docs["runbooks/AvailabilityBudgetBurnPage.md"]
    for section in (
        "## What it means",
        "## User impact",
        "## First checks",
        "## Mitigation",
        "## Escalation",
        "## Dashboards",
        "## Team notes",
    ):
        assert section in runbook
    assert 'slo:sli_error:ratio_rate1h{service="example-service", slo="availability"} > 0.0144' in runbook
    assert "kubectl -n example-service get pods -l app.kubernetes.io/name=example-service" in runbook
    assert "kube_release.py undo --namespace example-service --name example-service --kind rollout" in runbook
    assert "PagerDuty" in runbook
    lambda_runbook = render_docs(platform="aws-lambda")["runbooks/FunctionThrottled.md"]
    assert "aws lambda get-alias --region us-east-1 --function-name example-service-prod --name live" in lambda_runbook


def test_incident_response_is_wired_to_the_chosen_oncall_tool():
    for tool, name in (("pagerduty", "PagerDuty"), ("opsgenie", "Opsgenie"), ("slack", "Slack"), ("email", "e-mail")):
        text = render_docs(oncall=tool)["incident-response.md"]
        assert f"Alerts route to **{name}**" in text
        for level in ("SEV-1", "SEV-2", "SEV-3", "SEV-4"):
            assert f"**{level}**" in text
        assert ("cannot page or escalate by itself" in text) == (tool in ("slack", "email"))


def test_dr_plan_reads_backups_and_objectives_from_the_plan():
    plan = plan_for(sla=99.99)
    text = render_docs(sla=99.99)["disaster-recovery.md"]
    prod = plan.prod
    # each environment states its own objective: dev and staging restore in working hours, not in production's RTO
    rtos = [f"{env.recovery.rto_minutes} min" for env in plan.environments.values()]
    assert f"| RTO (time to restore service) | {' | '.join(rtos)} |" in text
    assert rtos[0] != rtos[-1]
    assert f"any second of the last {prod.database.backup_retention_days} days" in text
    # the promotion is the failover workflow's, in the DR region; the doc names the workflow, not a hand command
    assert "2. **Promote** (workflow `fail-over`" in text
    assert f"has RDS create its master secret in {prod.recovery.dr_region}" in text
    assert f"--rto-minutes {prod.recovery.rto_minutes}" in text


# -- whole repos through copier --------------------------------------------------------------


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("docs")
    return {
        "default": render(base / "default"),
        "platinum": render(base / "platinum", sla=99.99, monitoring_level="comprehensive"),
        "lambda": render(base / "lambda", platform="aws-lambda", database="none"),
    }


def rendered_alerts(repo: Path) -> set[str]:
    """Alert names of every Prometheus/Loki rule file in the repo."""
    names = set()
    for path in repo.rglob("*.y*ml"):
        if "components" in path.parts or ".github" in path.parts:
            continue
        for document in yaml.safe_load_all(path.read_text()):
            groups = (document or {}).get("groups") if isinstance(document, dict) else None
            if groups is None and isinstance(document, dict) and document.get("kind") == "PrometheusRule":
                groups = document["spec"]["groups"]
            for group in groups or []:
                names |= {rule["alert"] for rule in group.get("rules", []) if "alert" in rule}
    return names


@pytest.mark.parametrize("name", ["default", "platinum"])
def test_runbooks_match_the_rendered_alert_rules(repos, name):
    repo = repos[name]
    runbooks = {p.stem for p in (repo / "docs" / "runbooks").glob("*.md")}
    rules = rendered_alerts(repo)
    assert rules, "no Prometheus alert rules were rendered"
    assert rules == runbooks, f"alerts without runbook: {rules - runbooks}; runbooks without alert: {runbooks - rules}"


def test_the_report_in_a_generated_repo_is_the_model_s(repos):
    for name, answers in (("default", {}), ("platinum", {"sla": 99.99, "monitoring_level": "comprehensive"})):
        text = (repos[name] / "docs" / "reliability-report.md").read_text()
        plan = plan_for(**answers)
        assert f"**{feasibility(plan).composite_display}%**" in text
        for env in estimate_cost(plan).environments:
            assert f"| {env.total_usd:,.2f} | {env.high_usd:,.2f} |" in text
            for line in env.lines:
                assert f"| {line.item} | {line.quantity} | {line.monthly_usd:,.2f} | {line.high:,.2f} |" in text
                assert f"| `{line.price_key}` | {line.price.usd} |" in text  # every line's price has its source row
        for objective in recovery_objectives(plan):
            assert f"| {objective.failure} | {objective.rpo} | {objective.rto} |" in text


def copier_copy(dst: Path, *data: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults"]
    for item in ("project_name=Example Service", "team=platform", *data):
        args += ["--data", item]
    return subprocess.run([*args, str(ROOT), str(dst)], capture_output=True, text=True, timeout=300)


def test_copy_warns_when_the_sla_is_not_reachable(tmp_path):
    result = copier_copy(tmp_path / "lambda", "platform=aws-lambda")
    assert result.returncode == 0, result.stderr
    reason = feasibility(plan_for(platform="aws-lambda")).reason
    assert f"WARNING: {reason}" in result.stderr
    # no failover is built at 99.9; only serving from both regions would reach it, and the copy says what that needs
    assert "active-active serving in us-east-1 and us-west-2" in result.stderr
    assert "keeping the database off the synchronous request path" in result.stderr


def test_copy_does_not_warn_when_the_sla_is_reachable(tmp_path):
    result = copier_copy(tmp_path / "eks")
    assert result.returncode == 0, result.stderr
    assert "docs/reliability-report.md" in result.stderr
    assert "WARNING" not in result.stderr


@pytest.mark.parametrize("name", ["default", "platinum", "lambda"])
def test_runbooks_match_the_rendered_alert_list(repos, name):
    """monitoring/alerts.yaml is the rendered list the CloudWatch alarms (aws-lambda) and the
    Alertmanager routes are built from; every entry's runbook exists, and no runbook is extra."""
    repo = repos[name]
    listed = yaml.safe_load((repo / "monitoring" / "alerts.yaml").read_text())
    runbooks = {p.stem for p in (repo / "docs" / "runbooks").glob("*.md")}
    assert {alert["name"] for alert in listed} == runbooks
    for alert in listed:
        assert (repo / alert["runbook"]).is_file(), alert["runbook"]
        assert (repo / "docs" / "runbooks" / "notes" / f"{alert['name']}.md").is_file()


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("sla", (99.9, 99.99))
def test_dr_restore_is_the_stack_config_the_program_reads(platform, sla):
    """The restore procedure is numbered steps of config the component accepts, the commands name
    only outputs the program exports, and the restored instance is named as the component names it."""
    from pulumi_components import DatabaseRestore, PostgresDatabaseArgs

    plan = plan_for(sla=sla, platform=platform)
    text = render_docs(sla=sla, platform=platform)["disaster-recovery.md"]
    section = text[text.index("## Restore the database") : text.index("## Rebuild the whole stack")]
    assert [int(n) for n in re.findall(r"^(\d+)\. ", section, re.M)] == list(range(1, 9))
    slug = plan.answers.service_slug
    key = f"{slug}:database_restore"
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]
    assert len(blocks) == 2 and all(set(b) == {key} for b in blocks)
    restores = [DatabaseRestore.from_config(b[key]) for b in blocks]
    assert {r.point_in_time for r in restores} == {True, False}
    name = f"{slug}-prod"
    args = PostgresDatabaseArgs(
        name=name, region="us-east-1", plan=plan.prod.database, vpc_id="v", isolated_subnet_ids=[], log_retention_days=1
    )
    assert f"`{args.identifier}-<id>`" in section and f"(`{args.identifier}`)" in section
    assert f"source: {args.identifier}\n" in section
    exported = set(re.findall(r'pulumi\.export\("(\w+)"', (ROOT / "template" / "infra" / "__main__.py").read_text()))
    named = set(re.findall(r"pulumi stack output (\w+)", text)) | set(
        re.findall(r"out\(\) \{[^}]*\}.*?\$\(out (\w+)\)", text)
    )
    assert named and named <= exported, named - exported
    # The security group and subnet group every restore command attaches.
    assert '--subnet-group "$(out db_subnet_group_name)" --security-group "$(out db_security_group_id)"' in text
    assert ("cross-region read replica (Multi-AZ)" in text) is plan.prod.database.replica_multi_az
