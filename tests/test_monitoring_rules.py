"""The generated Prometheus rules pass promtool, and their unit tests fail when the rules are weakened."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from monitoring_repos import LEVELS, repo, run, tool

from pulumi_components.reliability.promtool_tests import counter


def prometheus_dir(level: str = "standard", **answers) -> Path:
    return repo(platform="aws-eks", monitoring_level=level, **answers) / "monitoring" / "prometheus"


def promtool_test(directory: Path, files: tuple[str, ...] = ()) -> tuple[int, str]:
    files = files or tuple(sorted(p.name for p in directory.glob("*.test.yml")))
    result = run(tool("promtool"), "test", "rules", *files, cwd=directory)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("level", LEVELS)
def test_rules_pass_promtool_check_and_their_unit_tests(level):
    directory = prometheus_dir(level)
    check = run(tool("promtool"), "check", "rules", str(directory / "rules.yml"))
    assert check.returncode == 0, check.stdout + check.stderr
    code, output = promtool_test(directory)
    assert code == 0, output[-4000:]


@pytest.mark.parametrize("sla,latency_slo_ms", [(93.1, 250), (99.99, 1000), (99.999, 300)])
def test_unit_tests_pass_across_slas_and_latency_targets(sla, latency_slo_ms):
    code, output = promtool_test(prometheus_dir("basic", sla=sla, latency_slo_ms=latency_slo_ms))
    assert code == 0, output[-4000:]


def _mutated(tmp_path: Path, edit) -> Path:
    directory = shutil.copytree(prometheus_dir("basic"), tmp_path / "prometheus")
    rules = yaml.safe_load((directory / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            edit(rule)
    (directory / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    return directory


def test_unit_tests_catch_a_page_threshold_ten_times_too_high(tmp_path):
    def weaken(rule):
        if rule.get("alert") == "AvailabilityBudgetBurnPage":
            rule["expr"] = rule["expr"].replace("> 0.0144", "> 0.144").replace("> 0.006", "> 0.06")

    code, output = promtool_test(_mutated(tmp_path, weaken), ("alerts.test.yml",))
    assert code != 0 and "AvailabilityBudgetBurnPage fires" in output


def test_unit_tests_catch_a_missing_zero_traffic_guard(tmp_path):
    def unguard(rule):
        if rule.get("record", "").startswith("slo:sli_error:ratio_rate"):
            rule["expr"] = rule["expr"].replace("/\nclamp_min(", "/\n(").replace(", 1e-12)", ")")

    code, output = promtool_test(_mutated(tmp_path, unguard), ("recording-rules.test.yml",))
    assert code != 0 and "NaN" in output


def test_unit_tests_catch_a_ticket_that_also_pages(tmp_path):
    def louder(rule):
        if rule.get("alert") == "AvailabilityBudgetBurnPage":
            rule["expr"] = rule["expr"].replace("> 0.0144", "> 0.0009").replace("> 0.006", "> 0.0009")

    code, output = promtool_test(_mutated(tmp_path, louder), ("alerts.test.yml",))
    assert code != 0 and "AvailabilityBudgetBurnPage stays silent" in output


def _page_expectation(directory: Path) -> dict:
    """The page alert as the generated unit tests expect it (labels and annotations)."""
    cases = yaml.safe_load((directory / "alerts.test.yml").read_text())["tests"]
    return next(
        check["exp_alerts"][0]
        for case in cases
        for check in case["alert_rule_test"]
        if check["alertname"] == "AvailabilityBudgetBurnPage" and check["exp_alerts"]
    )


CLEAN_MINUTES = 6 * 60  # a clean history as long as the longest page window


def scenario(directory: Path, ratio: float, minutes: int, checks: list[tuple[int, bool]]) -> tuple[int, str]:
    """Six clean hours, then `ratio` of requests failing for `minutes`; `checks` are
    (minutes after the change, page expected) pairs run by promtool on the generated rules."""
    slug = "example-service"
    labels = f'namespace="{slug}", job="{slug}-metrics", method="GET", route="/"'
    per_minute = 100_000
    page = _page_expectation(directory)
    document = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f'http_requests_total{{{labels}, code="200"}}',
                        "values": counter((CLEAN_MINUTES, per_minute), (minutes, per_minute * (1 - ratio))),
                    },
                    {
                        "series": f'http_requests_total{{{labels}, code="500"}}',
                        "values": counter((CLEAN_MINUTES, 0), (minutes, per_minute * ratio)),
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": f"{CLEAN_MINUTES + minute}m",
                        "alertname": "AvailabilityBudgetBurnPage",
                        "exp_alerts": [page] if firing else [],
                    }
                    for minute, firing in checks
                ],
            }
        ],
    }
    (directory / "scenario.test.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = run(tool("promtool"), "test", "rules", "scenario.test.yml", cwd=directory)
    return result.returncode, result.stdout + result.stderr


def test_two_percent_errors_for_an_hour_pages_at_sla_999(tmp_path):
    # The 1h window crosses 0.0144 after 0.0144 / 0.02 x 60 = 43.2 min; then the 30s `for`.
    directory = shutil.copytree(prometheus_dir("basic"), tmp_path / "prometheus")
    code, output = scenario(directory, 0.02, 60, [(40, False), (46, True), (60, True)])
    assert code == 0, output[-3000:]


def test_errors_at_the_budget_never_page(tmp_path):
    directory = shutil.copytree(prometheus_dir("basic"), tmp_path / "prometheus")
    code, output = scenario(directory, 0.001, 8 * 60, [(minute, False) for minute in range(0, 8 * 60, 15)])
    assert code == 0, output[-3000:]
