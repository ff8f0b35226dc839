"""Copier Jinja extension: the reliability model, as template globals and filters.

Templates call `reliability_plan()` for the typed plan of the answers being
rendered and never compute a number themselves; copier.yml's validators call
the model's `*_error` functions so the questionnaire rejects exactly what the
model cannot plan for.

The model is loaded from this template's own checkout by file path, under a
name unique to that path, so two template versions rendered in one process
never share a cached module.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import pass_context
from jinja2.ext import Extension

MODEL_DIR = Path(__file__).resolve().parent.parent / "pulumi_components" / "reliability"


def _load_model() -> Any:
    name = "groundwork_reliability_" + hashlib.sha256(str(MODEL_DIR).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, MODEL_DIR / "__init__.py", submodule_search_locations=[str(MODEL_DIR)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


model = _load_model()


def _load_identity() -> Any:
    """pulumi_components/identity.py: the names the workflows share with the programs."""
    path = MODEL_DIR.parent / "identity.py"
    spec = importlib.util.spec_from_file_location(
        "groundwork_identity_" + hashlib.sha256(str(path).encode()).hexdigest()[:12], path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


identity = _load_identity()
# The platform contract (platform_stack's validator; a platform's exports).
contract = importlib.import_module(f"{model.__name__}.contract")
platform_alerts = importlib.import_module(f"{model.__name__}.platform_alerts")  # a platform's own alerts
hosting_cost = importlib.import_module(f"{model.__name__}.hosting_cost")


def _answers(context: Any, **changes: Any) -> Any:
    fields = model.Answers.__dataclass_fields__
    answers = {name: context[name] for name in fields if name in context}
    return _plan(json.dumps(answers | changes, sort_keys=True, default=list))


@pass_context
def cost_estimate(context: Any) -> Any:
    """The report's monthly cost: on a shared cluster, what the service owns (hosting_cost)."""
    plan = reliability_plan(context)
    if plan.answers.cluster == "shared":
        return hosting_cost.hosted_cost(plan)
    return model.cost.estimate_cost(plan)


@pass_context
def hosting_fleet(context: Any) -> Any:
    """1, 10 and 50 copies of these answers' EKS service, each on its own cluster or all on one
    platform of the same region, environments, SLA and monitoring level (kind: platform)."""
    platform = _answers(context, service_slug="platform", database="none", cluster="dedicated")
    return {
        "fleet": hosting_cost.fleet_costs(
            _answers(context, cluster="dedicated"), _answers(context, cluster="shared"), platform
        ),
        "platform": hosting_cost.platform_cost(platform),
    }


class _IndentDumper(yaml.SafeDumper):
    """Indent block sequences under their key, as hand-written YAML does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True  # a shared object is written out each time, never as an &anchor


def _str_block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line strings (PromQL, scripts) as literal blocks, readable in a diff.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_IndentDumper.add_representer(str, _str_block)


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block YAML for plain data or any part of the plan, key order kept."""
    text = yaml.dump(
        model.to_config(value), Dumper=_IndentDumper, sort_keys=False, default_flow_style=False, width=100
    ).rstrip("\n")
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in text.splitlines()).lstrip()


def to_json(value: Any, indent: int | None = None, **_copier_options: Any) -> str:
    # Copier wraps the `to_json` filter to pass `default=` for Pydantic objects; plan
    # data is already plain after to_config, so that option is not needed.
    return json.dumps(model.to_config(value), indent=indent, sort_keys=False)


@lru_cache(maxsize=64)
def _plan(answers_json: str) -> Any:
    return model.plan_service(model.Answers.from_mapping(json.loads(answers_json)))


@pass_context
def reliability_plan(context: Any) -> Any:
    """The ServicePlan for the answers in the current render context."""
    fields = model.Answers.__dataclass_fields__
    answers = {name: context[name] for name in fields if name in context}
    return _plan(json.dumps(answers, sort_keys=True, default=list))


def _of_plan(module: str, function: str) -> Any:
    """A template global calling `model.<module>.<function>(plan, *args)` for the answers rendered."""

    @pass_context
    def call(context: Any, *args: Any) -> Any:
        return getattr(getattr(model, module), function)(reliability_plan(context), *args)

    return call


feasibility_report = _of_plan("availability", "feasibility")


@pass_context
def feasibility_warning(context: Any) -> str:
    """The post-copy warning (on a paragraph of its own) when the SLA is out of reach; ''
    when it is reachable."""
    reason = feasibility_report(context).reason
    return f"\n\nWARNING: {reason}" if reason else ""


@pass_context
def incident_policy(context: Any) -> Any:
    """Severity levels, the escalation steps and the chosen on-call tool."""
    incident = model.incident
    return {
        "severities": incident.SEVERITIES,
        "escalation": incident.ESCALATION,
        "tool": incident.oncall_tool(reliability_plan(context)),
    }


class GroundworkExtension(Extension):
    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        answers = model.answers
        environment.globals.update(
            reliability_plan=reliability_plan,
            feasibility_report=feasibility_report,
            feasibility_warning=feasibility_warning,
            cost_estimate=cost_estimate,
            hosting_fleet=hosting_fleet,
            reliability_risks=_of_plan("risks", "assess_risks"),
            incident_policy=incident_policy,
            # Every alert the generated repo defines; each has a runbook at docs/runbooks/<name>.md.
            alert_catalogue=_of_plan("alerts", "alert_catalogue"),
            alert_names=_of_plan("alerts", "alert_names"),
            alert_catalogue_data=_of_plan("alerts", "catalogue_data"),
            prometheus_rules=_of_plan("prometheus_rules", "rule_file"),
            loki_rules=_of_plan("prometheus_rules", "loki_rule_file"),
            promtool_tests=_of_plan("promtool_tests", "test_files"),
            alertmanager_config=_of_plan("alertmanager", "alertmanager_config"),
            oncall_routing=_of_plan("alertmanager", "oncall_routing"),
            grafana_dashboards=_of_plan("dashboards", "dashboards"),
            sla_error=answers.sla_error,
            slug_error=answers.slug_error,
            region_error=answers.region_error,
            environments_error=answers.environments_error,
            email_error=answers.email_error,
            repository_url_error=answers.repository_url_error,
            github_repository=answers.github_repository,
            latency_error=answers.latency_error,
            dr_region_error=answers.dr_region_error,
            domain_error=answers.domain_error,
            dr_region_for=lambda region: answers.DR_REGION_PAIRS.get(region, ""),
            aws_regions=sorted(answers.AWS_REGION_AZS),
            image_repository_name=identity.image_repository_name,
            platform_stack_error=contract.platform_stack_error,
            # The runs-on label of a shared-cluster service's cluster jobs: its platform's runners.
            platform_runner=lambda stack, env: identity.runner_scale_set_name(contract.platform_project(stack), env),
            platform_fixed_rules=lambda slug, base: platform_alerts.rule_file(
                slug, platform_alerts.fixed_alerts(), base, "platform"
            ),
            platform_alert_list=platform_alerts.all_alerts,
        )
        environment.filters.update(slugify=answers.slugify, to_yaml=to_yaml, to_json=to_json)
