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
import math
import re
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
# What the answers mean for the repository (service_facts) and the README's rows (readme_facts).
importlib.import_module(f"{model.__name__}.facts")
importlib.import_module(f"{model.__name__}.delivery")
readme = importlib.import_module(f"{model.__name__}.readme")


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
    platform = _answers(context, kind="platform", service_slug="platform", database="none", cluster="dedicated")
    return {
        "fleet": hosting_cost.fleet_costs(
            _answers(context, kind="service", cluster="dedicated"),
            _answers(context, kind="service", cluster="shared"),
            platform,
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


# --- one filter per target format: any answer is written as the value it is, never as syntax ---


def yaml_scalar(value: Any) -> str:
    """`value` as one YAML scalar on one line: plain when YAML reads it back as the same string
    (`Example Service`), quoted otherwise (`'a: b'`, `'true'`, `'# x'`, `"a\\x7Fb"`)."""
    dump = {"Dumper": yaml.SafeDumper, "width": math.inf, "allow_unicode": True}
    text = yaml.dump(model.to_config(value), **dump).removesuffix("\n...\n").removesuffix("\n")
    if any(char in text for char in "\n\x85\u2028\u2029") or yaml.safe_load(text) != value:
        # A scalar folded over lines, or holding a character YAML 1.1 reads as a line break and
        # YAML 1.2 does not (NEL, U+2028, U+2029): the double-quoted style escapes them all.
        text = yaml.dump(model.to_config(value), default_style='"', **dump).removesuffix("\n")
    return text


def toml_string(value: str) -> str:
    """`value` as a TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = (
        "\\" + char if char in '"\\' else f"\\u{ord(char):04X}" if char < " " or char == "\x7f" else char
        for char in str(value)
    )
    return '"' + "".join(escaped) + '"'


def _python_char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if char.isprintable():
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def py_literal(value: Any) -> str:
    """`value` as a Python literal: strings double-quoted (as ruff formats them), every
    unprintable character escaped; numbers, booleans, None and tuples as `repr` writes them."""
    if isinstance(value, str):
        return '"' + "".join(map(_python_char, value)) + '"'
    return repr(value)


# CommonMark lets any ASCII punctuation be backslash-escaped. These start emphasis, code, links,
# images, HTML tags and entities, GFM tables, strikethrough and math, or a heading's closing
# sequence anywhere in a line; the others below only at its start (lists, setext underlines).
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>!|~&$#])")
_MARKDOWN_BLOCK_MARKER = re.compile(r"^([-+=]|\d+(?=[.)]))")


_BARE_URL = re.compile(r"(?<!<)(?<!\]\()\bhttps?://[^\s<>|]+?(?=[.,;:]?(?:\s|$|\||\)))")


def md_autolink(value: Any) -> str:
    """The model's prose (sources, price checks) for Markdown, each bare URL made an autolink so it
    renders as a link rather than depending on a renderer's extension; URLs already in `<>` or in a
    link's `()` are left as they are."""
    return _BARE_URL.sub(lambda m: f"<{m.group(0)}>", str(value))


def md_text(value: Any) -> str:
    """`value` as Markdown text that renders as exactly these characters: inline syntax escaped,
    and a leading list or heading marker too, since the value may begin a line. Surrounding
    whitespace, which Markdown drops or reads as indentation, is removed."""
    text = _MARKDOWN_INLINE.sub(r"\\\1", str(value).strip())
    # `- x`, `+ x`, `===` stay text with the marker escaped; `1. x` with the dot after the number.
    return _MARKDOWN_BLOCK_MARKER.sub(lambda m: m[1] + "\\" if m[1].isdigit() else "\\" + m[1], text)


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
def load_test_error(context: Any, rps: Any) -> str:
    """The load_test_rps validator: its range, then whether staging's edge lets one runner send it.
    Another answer the model refuses is left to that answer's own validator."""
    if message := model.answers.load_test_rps_error(rps):
        return message
    try:
        plan = reliability_plan(context)
    except model.AnswerError:
        return ""
    return model.load_test.load_test_error(plan)


@pass_context
def readme_facts(context: Any) -> Any:
    """The README's rows, with the two answers the service's model does not hold."""
    backend = context.get("pulumi_backend", "pulumi-cloud")
    return readme.readme_facts(reliability_plan(context), context.get("platform_stack", ""), backend)


@pass_context
def incident_policy(context: Any) -> Any:
    """Severity levels, the escalation steps and the chosen on-call tool."""
    incident = model.incident
    return {
        "severities": incident.SEVERITIES,
        "escalation": incident.ESCALATION,
        "tool": incident.oncall_tool(reliability_plan(context)),
    }


def recorded_measurements(context: Any) -> tuple[Any, ...]:
    """The drills recorded in the rendered repo's docs/recovery-measurements.yml; none before it exists."""
    destination = (context.get("_copier_conf") or {}).get("dst_path")
    path = Path(destination) / model.measurements.MEASUREMENTS_FILE if destination else None
    if path is None or not path.is_file():
        return ()
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise model.measurements.MeasurementError(f"{path}: {error}; {model.measurements.ACCEPTED}") from None
    return model.measurements.measurements_from_data(data)


@pass_context
def recovery_status(context: Any, objective: Any) -> Any:
    """The newest recorded time of a drill timing `objective`, and whether it is within the RTO."""
    measurements = recorded_measurements(context)
    return model.measurements.recovery_status(objective.drills, objective.rto_minutes, measurements)


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
            budget_config=_of_plan("budget", "budget_config"),  # each stack's `<service>:budget`
            reliability_risks=_of_plan("risks", "assess_risks"),
            recovery_objectives=_of_plan("recovery", "recovery_objectives"),
            recovery_status=recovery_status,
            incident_policy=incident_policy,
            service_facts=_of_plan("facts", "service_facts"),  # what platform and cluster mean here
            readme_facts=readme_facts,
            release_timings=_of_plan("delivery", "release_timings"),  # docs/delivery.md's timing table
            # Every alert the generated repo defines; each has a runbook at docs/runbooks/<name>.md
            # (one template looping over the catalogue) printing runbook_facts(alert).
            alert_catalogue=_of_plan("alerts", "alert_catalogue"),
            alert_names=_of_plan("alerts", "alert_names"),
            alert_catalogue_data=_of_plan("alerts", "catalogue_data"),
            runbook_facts=_of_plan("runbooks", "runbook_facts"),
            prometheus_rules=_of_plan("prometheus_rules", "rule_file"),
            loki_rules=_of_plan("prometheus_rules", "loki_rule_file"),
            promtool_tests=_of_plan("promtool_tests", "test_files"),
            alertmanager_config=_of_plan("alertmanager", "alertmanager_config"),
            local_alertmanager_config=_of_plan("alertmanager", "local_alertmanager_config"),
            oncall_routing=_of_plan("alertmanager", "oncall_routing"),
            grafana_dashboards=_of_plan("dashboards", "dashboards"),
            project_name_error=answers.project_name_error,
            description_error=answers.description_error,
            default_description=answers.default_description,
            team_error=answers.team_error,
            state_bucket_error=answers.state_bucket_error,
            vocabulary_choices=lambda question: json.dumps(model.vocabulary.question_choices(question)),
            sla_error=answers.sla_error,
            slug_error=answers.slug_error,
            region_error=answers.region_error,
            environments_error=answers.environments_error,
            email_error=answers.email_error,
            repository_url_error=answers.repository_url_error,
            github_repository=answers.github_repository,
            latency_error=answers.latency_error,
            load_test_error=load_test_error,
            load_test_plan=_of_plan("load_test", "load_test_plan"),
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
        environment.filters.update(
            slugify=answers.slugify,
            to_yaml=to_yaml,
            to_json=to_json,
            yaml_scalar=yaml_scalar,
            toml_string=toml_string,
            py_literal=py_literal,
            md_text=md_text,
            md_autolink=md_autolink,
        )
