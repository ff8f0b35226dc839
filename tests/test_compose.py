"""The local stack (compose.yaml of an EKS repo): valid against the Compose specification's schema
(tests/reference/compose-spec), every file it mounts exists in the repository, the database's
migrations run with the app's own image before the app starts, Prometheus' configuration passes
`promtool check config` with the repo's rules and scrapes the app as the rules select it. No Docker
engine runs here: everything short of starting the containers."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import render

from pulumi_components.reliability.alerts import scrape_job
from pulumi_components.reliability.plan import POSTGRES_ENGINE_VERSION

SCHEMA = json.loads((Path(__file__).parent / "reference" / "compose-spec" / "compose-spec.json").read_text())


@pytest.fixture(scope="module", params=[("postgres", "standard"), ("none", "basic")], ids=["postgres", "basic"])
def repo(request, tmp_path_factory) -> Path:
    database, level = request.param
    return render(
        tmp_path_factory.mktemp(database) / "svc", platform="aws-eks", database=database, monitoring_level=level
    )


def compose(repo: Path) -> dict:
    return yaml.safe_load((repo / "compose.yaml").read_text())


def test_it_follows_the_compose_specification(repo):
    jsonschema.Draft7Validator(SCHEMA).validate(compose(repo))


def test_a_broken_file_is_refused_by_the_same_schema(repo):
    broken = compose(repo)
    broken["services"]["app"]["depends_on"] = {"migrate": {"condition": "when-ready"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(broken)


def test_every_mounted_file_and_build_context_exists(repo):
    for name, service in compose(repo)["services"].items():
        context = (service.get("build") or {}).get("context")
        if context:
            assert (repo / context / "Dockerfile").is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (repo / source).exists(), f"{name} mounts {source}, which is not in the repository"


def test_the_schema_is_migrated_with_the_apps_image_before_the_app_starts(repo):
    services = compose(repo)["services"]
    if (repo / "app" / "service" / "migrations").is_dir():
        migrate = services["migrate"]
        assert migrate["image"] == services["app"]["image"]
        assert migrate["entrypoint"] + migrate["command"] == ["python", "-m", "service.migrate", "up"]
        assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert migrate["environment"]["DATABASE_URL"] == services["app"]["environment"]["DATABASE_URL"]
        assert services["postgres"]["image"] == f"postgres:{POSTGRES_ENGINE_VERSION}"  # RDS's major version
    else:
        assert not {"migrate", "postgres"} & set(services)
        assert "DATABASE_URL" not in services["app"]["environment"]


def test_grafana_comes_with_the_dashboards(repo):
    services = compose(repo)["services"]
    assert ("grafana" in services) == (repo / "monitoring" / "dashboards").is_dir()


def test_everything_listens_on_loopback_only(repo):
    for name, service in compose(repo)["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"


def test_prometheus_loads_the_repos_rules_and_scrapes_the_app_as_they_select_it(repo, tmp_path):
    config = yaml.safe_load((repo / "monitoring" / "local" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    slug = compose(repo)["name"]
    assert job["job_name"] == scrape_job(slug)
    assert job["static_configs"][0]["labels"]["namespace"] == slug
    assert job["static_configs"][0]["targets"] == ["app:8080"]
    # promtool reads the rule files the configuration names: point them at the repo's own.
    config["rule_files"] = [str(repo / "monitoring" / "prometheus" / "rules.yml")]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config))
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus (.ci/run does)"
    result = subprocess.run([promtool, "check", "config", str(local)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_readme_says_how_to_start_it(repo):
    readme = (repo / "README.md").read_text()
    assert "docker compose up --build" in readme and "compose.yaml" in readme
