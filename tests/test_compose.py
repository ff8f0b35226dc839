"""The local stack (compose.yaml of an EKS repo): valid against the Compose specification's schema
(tests/reference/compose-spec), every file it mounts exists in the repository, the database's
migrations run with the app's own image before the app starts, Prometheus' configuration passes
`promtool check config` with the repo's rules and scrapes the app as the rules select it, Alertmanager
routes as the repo's own configuration does (amtool) to a sink that really receives the webhook, and
Loki, fed by Alloy, is there at the levels whose plan has it. No Docker engine runs here: everything
short of starting the containers."""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import render

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.alertmanager import LOCAL_SINK_URL
from pulumi_components.reliability.alerts import scrape_job
from pulumi_components.reliability.plan import POSTGRES_ENGINE_VERSION

SCHEMA = json.loads((Path(__file__).parent / "reference" / "compose-spec" / "compose-spec.json").read_text())


@pytest.fixture(scope="module", params=[("postgres", "comprehensive"), ("none", "basic")], ids=["postgres", "basic"])
def repo(request, tmp_path_factory) -> Path:
    database, level = request.param
    return render(
        tmp_path_factory.mktemp(database) / "svc", platform="aws-eks", database=database, monitoring_level=level
    )


def compose(repo: Path) -> dict:
    return yaml.safe_load((repo / "compose.yaml").read_text())


def local(repo: Path, name: str) -> dict:
    return yaml.safe_load((repo / "monitoring" / "local" / name).read_text())


def components(repo: Path) -> tuple[str, ...]:
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    return plan_service(Answers.from_mapping(answers)).prod.monitoring.components


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    path = shutil.which("amtool")
    assert path, "amtool is missing: apt-get install prometheus-alertmanager (.ci/run does)"
    return subprocess.run([path, *args], capture_output=True, text=True, timeout=60)


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


def test_prometheus_sends_its_alerts_to_the_local_alertmanager_labelled_as_the_cluster_does(repo):
    config = local(repo, "prometheus.yml")
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]
    services = compose(repo)["services"]
    assert "127.0.0.1:9093:9093" in services["alertmanager"]["ports"]
    assert "alertmanager" in services["prometheus"]["depends_on"]
    assert config["global"]["external_labels"] == {"environment": "local"}


def test_alertmanager_has_the_repos_routing_with_every_receiver_posting_to_the_sink(repo):
    deployed = yaml.safe_load((repo / "monitoring" / "alertmanager" / "alertmanager.yml").read_text())
    config = local(repo, "alertmanager.yml")
    assert config["route"] == deployed["route"] and config["inhibit_rules"] == deployed["inhibit_rules"]
    assert [r["name"] for r in config["receivers"]] == [r["name"] for r in deployed["receivers"]]
    for receiver in config["receivers"]:
        if receiver["name"] == "null":
            assert receiver == {"name": "null"}
        else:
            assert receiver["webhook_configs"] == [{"url": LOCAL_SINK_URL, "send_resolved": True}], receiver
    assert "_file" not in (repo / "monitoring" / "local" / "alertmanager.yml").read_text()  # no credential
    sink = compose(repo)["services"]["alert-sink"]
    assert LOCAL_SINK_URL == "http://alert-sink:9095/" and "127.0.0.1:9095:9095" in sink["ports"]
    assert sink["image"] == compose(repo)["services"]["app"]["image"]
    mounted = repo / sink["volumes"][0].split(":")[0]
    assert sink["entrypoint"] == ["python", sink["volumes"][0].split(":")[1]] and mounted.is_file()


def test_amtool_accepts_the_local_config_and_routes_local_alerts_as_tickets(repo):
    path = repo / "monitoring" / "local" / "alertmanager.yml"
    result = amtool("check-config", str(path))
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
    # environment="local" is not a paging environment: a critical alert takes the ticket receiver.
    for labels, receiver in [
        (["severity=critical", "environment=local", "slo=availability"], "ticket"),
        (["severity=critical", "environment=prod", "slo=availability"], "page"),
        (["severity=info", "environment=local"], "info"),
        (["alertname=Watchdog", "environment=local"], None),
    ]:
        result = amtool("config", "routes", "test", f"--config.file={path}", *labels)
        expected = f"{compose(repo)['name']}-{receiver}" if receiver else "null"
        assert result.returncode == 0 and result.stdout.split()[-1] == expected, result.stdout + result.stderr


def test_amtool_refuses_a_local_config_routing_to_an_unknown_receiver(repo, tmp_path):
    config = local(repo, "alertmanager.yml")
    config["route"]["routes"][-1]["receiver"] = "nowhere"
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(yaml.safe_dump(config))
    result = amtool("check-config", str(broken))
    assert result.returncode != 0 and "nowhere" in result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_sink_keeps_and_logs_what_alertmanager_posts(repo):
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, str(repo / "monitoring" / "local" / "alert_sink.py")],
        env={"PORT": str(port), "PATH": ""},
        stdout=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    notification = {
        "receiver": "svc-ticket",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "AvailabilityBudgetBurnPage", "severity": "critical"}}],
    }
    try:
        for _ in range(100):
            try:
                assert json.load(urllib.request.urlopen(url, timeout=1)) == []
                break
            except OSError:
                time.sleep(0.05)
        request = urllib.request.Request(url, data=json.dumps(notification).encode(), method="POST")
        assert urllib.request.urlopen(request, timeout=2).status == 200
        assert json.load(urllib.request.urlopen(url, timeout=2)) == [notification]
    finally:
        sink.terminate()
        out, _ = sink.communicate(timeout=10)
    assert "svc-ticket: firing AvailabilityBudgetBurnPage severity=critical" in out


def test_loki_and_alloy_come_with_the_levels_whose_plan_has_them(repo):
    services = compose(repo)["services"]
    has_loki = "loki" in components(repo)
    assert ("loki" in services) == has_loki and ("alloy" in services) == ("alloy" in components(repo))
    if not has_loki:
        assert not (repo / "monitoring" / "local" / "loki.yaml").exists()
        return
    loki = services["loki"]
    assert loki["image"].startswith("grafana/loki:") and loki["image"].split(":")[1][0].isdigit()  # a pinned tag
    assert "127.0.0.1:3100:3100" in loki["ports"] and "loki-data:/loki" in loki["volumes"]
    config = local(repo, "loki.yaml")
    assert config["server"]["http_listen_port"] == 3100 and config["auth_enabled"] is False
    assert config["ruler"]["alertmanager_url"] == "http://alertmanager:9093"
    rules = repo / "monitoring" / "loki" / "rules.yml"
    assert (
        f"./monitoring/loki/rules.yml:{config['ruler']['storage']['local']['directory']}/fake/rules.yml:ro"
        in loki["volumes"]
    ) == rules.is_file()
    datasources = {
        d["name"]: d
        for d in yaml.safe_load((repo / "monitoring/local/grafana/datasources.yaml").read_text())["datasources"]
    }
    assert datasources["Loki"]["type"] == "loki" and datasources["Loki"]["url"] == "http://loki:3100"
    alloy = (repo / "monitoring" / "local" / "logs.alloy").read_text()
    assert 'url = "http://loki:3100/loki/api/v1/push"' in alloy
    assert f'values = ["com.docker.compose.project={compose(repo)["name"]}"]' in alloy  # this project's only
    # The labels the log alert rules select: service="<slug>" on the app's lines.
    assert f'replacement   = "{compose(repo)["name"]}"' in alloy and 'regex         = "app|migrate"' in alloy


def gameday(repo: Path):
    spec = importlib.util.spec_from_file_location(f"gameday_{repo.parent.name}", repo / "monitoring" / "gameday.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_game_day_drives_the_local_stack_its_fault_file_and_its_sink(repo, tmp_path):
    module = gameday(repo)
    app = compose(repo)["services"]["app"]
    assert module.LOCAL_STACK["app"].endswith(":" + app["ports"][0].split(":")[1])
    assert module.LOCAL_STACK["prometheus"].endswith(":9090") and module.LOCAL_STACK["sink"].endswith(":9095")
    port = free_port()
    drill = module.LocalStackDrill(tmp_path, {**module.LOCAL_STACK, "sink": f"http://127.0.0.1:{port}"})
    assert drill.fault_file == app["environment"]["FAULT_FILE"] and drill.fault_file.startswith(app["tmpfs"][0])
    command = drill.fault_command(1)
    assert command[:6] == ["docker", "compose", "exec", "-T", "app", "python"]
    # The snippet it runs in the container writes the ratio the app reads (service/server.py).
    drill.fault_file = str(tmp_path / "fault")
    subprocess.run([sys.executable, *drill.fault_command(1)[-2:]], check=True)
    assert (tmp_path / "fault").read_text() == "1"
    sink = subprocess.Popen(
        [sys.executable, str(repo / "monitoring" / "local" / "alert_sink.py")],
        env={"PORT": str(port)},
        stdout=subprocess.DEVNULL,
    )
    try:
        module.wait_until(lambda: drill.delivered() is None, 10, "sink up")
        page = {"status": "firing", "labels": {"alertname": module.PAGE, "severity": "critical"}}
        for notification in (
            {"receiver": "x-info", "alerts": [{**page, "labels": {"alertname": "Other"}}]},
            {"receiver": "x-ticket", "alerts": [page]},
        ):
            request = urllib.request.Request(drill.sink_url, data=json.dumps(notification).encode(), method="POST")
            urllib.request.urlopen(request, timeout=2).close()
        assert drill.delivered() == "x-ticket"
    finally:
        sink.terminate()
        sink.wait(timeout=10)
