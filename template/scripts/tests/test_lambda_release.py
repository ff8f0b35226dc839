import argparse
import json

import pytest
from fake_cli import FakeCli, FakeClock
from lambda_release import Alias, main, parse_steps, previous_version, rollback, shift

QUIET = {"MetricAlarms": [{"AlarmName": "errors", "StateValue": "OK"}]}
FIRING = {"MetricAlarms": [{"AlarmName": "errors", "StateValue": "ALARM"}]}


def routes(cli):
    """(version, weights) of every update-alias call, in order."""
    out = []
    for call in cli.called("aws", "lambda", "update-alias"):
        weights = json.loads(call[call.index("--routing-config") + 1])["AdditionalVersionWeights"]
        out.append((call[call.index("--function-version") + 1], weights))
    return out


def run_shift(cli, steps, **kwargs):
    clock = FakeClock()
    alias = Alias(cli, "fn", "live")
    return shift(cli, alias, "7", steps, 60, 120, ["errors"], interval=30, clock=clock, sleep=clock.sleep, **kwargs)


def test_healthy_canary_walks_every_step_then_promotes():
    cli = FakeCli({("aws", "lambda", "get-alias"): {"FunctionVersion": "6"}, ("aws", "cloudwatch"): QUIET})
    verdict = run_shift(cli, [10, 50, 100])
    assert verdict.ok
    assert routes(cli) == [("6", {"7": 0.1}), ("6", {"7": 0.5}), ("7", {})]


def test_alarm_during_a_step_returns_all_traffic_to_the_previous_version():
    cli = FakeCli({("aws", "lambda", "get-alias"): {"FunctionVersion": "6"}, ("aws", "cloudwatch"): [QUIET, FIRING]})
    verdict = run_shift(cli, [10, 50, 100])
    assert not verdict.ok and "errors" in verdict.message
    assert routes(cli)[-1] == ("6", {})
    assert ("7", {}) not in routes(cli)


def test_alarm_after_full_shift_rolls_back():
    cli = FakeCli({("aws", "lambda", "get-alias"): {"FunctionVersion": "6"}, ("aws", "cloudwatch"): [QUIET, FIRING]})
    verdict = run_shift(cli, [100])
    assert not verdict.ok
    assert routes(cli) == [("7", {}), ("6", {})]


def test_already_serving_the_version_is_a_no_op():
    cli = FakeCli({("aws", "lambda", "get-alias"): {"FunctionVersion": "7"}})
    assert run_shift(cli, [100]).ok
    assert routes(cli) == []


def test_steps_must_rise_to_100():
    assert parse_steps("5,25,100") == [5, 25, 100]
    for bad in ("25,5,100", "5,50", "0,100", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_steps(bad)


def test_previous_version_skips_latest_and_newer():
    assert previous_version(["$LATEST", "3", "4", "6", "9"], "6") == "4"
    with pytest.raises(SystemExit):
        previous_version(["$LATEST", "1"], "1")


def test_rollback_moves_the_alias_to_the_previous_published_version():
    cli = FakeCli({
        ("aws", "lambda", "get-alias"): {"FunctionVersion": "6"},
        ("aws", "lambda", "list-versions-by-function"): [
            {"Versions": [{"Version": "$LATEST"}, {"Version": "4"}], "NextMarker": "m"},
            {"Versions": [{"Version": "5"}, {"Version": "6"}]},
        ],
    })  # fmt: skip
    assert "from version 6 to 5" in rollback(cli, Alias(cli, "fn", "live"))
    assert routes(cli) == [("5", {})]


def test_rollback_mid_shift_drops_the_new_version():
    cli = FakeCli(
        {
            ("aws", "lambda", "get-alias"): {
                "FunctionVersion": "6",
                "RoutingConfig": {"AdditionalVersionWeights": {"7": 0.25}},
            }
        }
    )
    rollback(cli, Alias(cli, "fn", "live"))
    assert routes(cli) == [("6", {})]


def test_main_needs_a_version_to_shift():
    with pytest.raises(SystemExit):
        main(["shift", "--function", "fn", "--alias", "live"], runner=FakeCli({}))
