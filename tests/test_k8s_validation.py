"""Every Kubernetes object KubernetesService creates, checked by real validators:
the Kubernetes JSON schema of the pinned version (strict), the upstream CRD schemas
(strict copies in tests/reference/crds), promtool for the analysis queries, and checkov."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from service_fixtures import manifests, run_service, service_args, service_plan

from pulumi_components.reliability.plan import KUBERNETES_VERSION

ROOT = Path(__file__).resolve().parents[1]
CRDS = Path(__file__).parent / "reference" / "crds"
CRD_SCHEMAS = {
    ("argoproj.io", "Rollout"): "argoproj.io_Rollout_v1alpha1.strict.json",
    ("argoproj.io", "AnalysisTemplate"): "argoproj.io_AnalysisTemplate_v1alpha1.strict.json",
    ("monitoring.coreos.com", "ServiceMonitor"): "monitoring.coreos.com_ServiceMonitor_v1.strict.json",
    ("external-secrets.io", "ExternalSecret"): "external-secrets.io_ExternalSecret_v1.strict.json",
    # Created by the generated program's monitoring, validated here with everything else it creates.
    ("monitoring.coreos.com", "PrometheusRule"): "monitoring.coreos.com_PrometheusRule_v1.strict.json",
    ("monitoring.coreos.com", "PodMonitor"): "monitoring.coreos.com_PodMonitor_v1.strict.json",
}
# No offline schema for it: its fields are asserted in test_kubernetes_service.py.
WITHOUT_SCHEMA = {("external-secrets.io", "SecretStore")}

CASES = {
    "rolling-prod": dict(env="prod", deployment_strategy="rolling"),
    "canary-prod": dict(env="prod", deployment_strategy="canary"),
    "blue-green-prod": dict(env="prod", deployment_strategy="blue-green"),
    "canary-dev-nodb": dict(env="dev", deployment_strategy="canary", database="none"),
    "blue-green-platinum": dict(env="prod", deployment_strategy="blue-green", sla=99.99),
}


@pytest.fixture(scope="module")
def objects() -> dict[str, list[dict]]:
    built = {}
    for case, answers in CASES.items():
        answers = dict(answers)
        env = answers.pop("env")
        plan = service_plan(env, **answers)
        built[case] = manifests(run_service(service_args(plan, database=answers.get("database") != "none")))
    return built


def group(obj: dict) -> str:
    return obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""


def is_custom(obj: dict) -> bool:
    return "." in group(obj) and not group(obj).endswith(".k8s.io")


def test_builtin_objects_match_the_kubernetes_schema(objects):
    version = f"{KUBERNETES_VERSION}.0"
    checked = 0
    for case, objs in objects.items():
        for obj in objs:
            if is_custom(obj):
                continue
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{case}: {obj['kind']} {obj['metadata']['name']}: {error.message} at {list(error.path)}")
            checked += 1
    assert checked >= 5 * 10


def test_custom_resources_match_their_crd_schemas(objects):
    seen = set()
    for case, objs in objects.items():
        for obj in objs:
            if not is_custom(obj):
                continue
            key = (group(obj), obj["kind"])
            seen.add(key)
            if key in WITHOUT_SCHEMA:
                continue
            assert key in CRD_SCHEMAS, f"{case}: no offline schema for {key}"
            schema = json.loads((CRDS / CRD_SCHEMAS[key]).read_text())
            errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(obj), key=lambda e: list(e.path))
            assert not errors, f"{case}: {obj['kind']}: " + "; ".join(
                f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
            )
    assert {
        ("argoproj.io", "Rollout"),
        ("argoproj.io", "AnalysisTemplate"),
        ("monitoring.coreos.com", "ServiceMonitor"),
        ("external-secrets.io", "ExternalSecret"),
    } <= seen


def test_the_strict_schemas_catch_a_misspelt_field(objects):
    (rollout,) = [o for o in objects["canary-prod"] if o["kind"] == "Rollout"]
    broken = json.loads(json.dumps(rollout))
    broken["spec"]["strategy"]["canary"]["steps"][0] = {"setWieght": 5}
    schema = json.loads((CRDS / CRD_SCHEMAS[("argoproj.io", "Rollout")]).read_text())
    assert list(jsonschema.Draft4Validator(schema).iter_errors(broken))


def test_analysis_queries_are_valid_promql(objects, tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is installed by .ci/run (Debian package prometheus)"
    rules = []
    for case, objs in objects.items():
        for obj in objs:
            if obj["kind"] != "AnalysisTemplate":
                continue
            for metric in obj["spec"]["metrics"]:
                if "prometheus" in metric["provider"]:
                    query = metric["provider"]["prometheus"]["query"].replace("{{args.pod-template-hash}}", "6f9c7d8b5")
                    rules.append(
                        {"record": f"check:{case.replace('-', '_')}:{metric['name'].replace('-', '_')}", "expr": query}
                    )
    assert len(rules) == 2 * 4
    path = tmp_path / "analysis-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "analysis", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def checkov_binary() -> str:
    """checkov pins packaging<24, which pulumi (>=26) rules out, so .ci/run installs it
    in its own virtualenv at .venv-checkov."""
    for candidate in (os.environ.get("CHECKOV"), ROOT / ".venv-checkov" / "bin" / "checkov", shutil.which("checkov")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail("checkov not found: run .ci/run (it installs checkov into .venv-checkov)")


def for_checkov(obj: dict) -> dict:
    """checkov's Kubernetes framework knows no Argo Rollout; its pod template is a plain
    PodTemplateSpec, so it is checked as the Deployment it replaces."""
    if obj["kind"] != "Rollout":
        return obj
    spec = {key: obj["spec"][key] for key in ("replicas", "selector", "template")}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": obj["metadata"], "spec": spec}


def test_checkov_finds_nothing(objects, tmp_path):
    for case, objs in objects.items():
        (tmp_path / f"{case}.yaml").write_text(yaml.safe_dump_all([for_checkov(o) for o in objs], sort_keys=False))
    result = subprocess.run(
        [
            checkov_binary(),
            "-d",
            str(tmp_path),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "PYTHONWARNINGS": "ignore"},
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    assert summary["passed"] > 100
    assert not failed, "\n".join(failed)
    assert result.returncode == 0, result.stderr[-2000:]


# -- the generated program: every Kubernetes object a real EKS stack creates ----------------------

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-prod@sha256:" + "cd" * 32
NOT_OBJECTS = ("kubernetes:helm.sh/", "pulumi:providers:")  # releases and providers are not API objects


@pytest.fixture(scope="module")
def program_objects(tmp_path_factory) -> dict[str, list[dict]]:
    from conftest import render
    from service_fixtures import manifest

    from pulumi_components.testing import run_program, stack_config

    built = {}
    for strategy in ("rolling", "canary", "blue-green"):
        repo = render(tmp_path_factory.mktemp(strategy) / "svc", platform="aws-eks", deployment_strategy=strategy,
                      service_slug="svc")  # fmt: skip
        config = {**stack_config(repo / "Pulumi.prod.yaml"), "svc:image": IMAGE}
        run = run_program(repo / "infra", project="svc", stack="prod", config=config)
        built[strategy] = [
            manifest(r)
            for r in run.resources
            if r.type.startswith("kubernetes:") and not r.type.startswith(NOT_OBJECTS)
        ]
    return built


def test_the_generated_program_creates_valid_objects(program_objects):
    version = f"{KUBERNETES_VERSION}.0"
    for strategy, objs in program_objects.items():
        kinds = {obj["kind"] for obj in objs}
        assert ("Rollout" in kinds) is (strategy != "rolling"), strategy
        for obj in objs:
            if is_custom(obj):
                key = (group(obj), obj["kind"])
                if key in WITHOUT_SCHEMA:
                    continue
                assert key in CRD_SCHEMAS, f"{strategy}: no offline schema for {key}"
                schema = json.loads((CRDS / CRD_SCHEMAS[key]).read_text())
                errors = [
                    f"{'/'.join(map(str, e.path))}: {e.message}"
                    for e in jsonschema.Draft4Validator(schema).iter_errors(obj)
                ]
                assert not errors, f"{strategy}: {key}: {errors[:3]}"
            else:
                kubernetes_validate.validate(obj, version, strict=True)
        (workload,) = [o for o in objs if o["kind"] in ("Deployment", "Rollout")]
        assert workload["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
