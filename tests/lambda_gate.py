"""A deterministic simulation of a Lambda release under CodeDeploy and its rollback alarms.

Time runs in whole seconds from a deployment that starts `offset` seconds into a CloudWatch
period. Each second, `rps` requests reach the `live` alias; CodeDeploy's traffic steps (read from
the captured DeploymentConfig) decide the share the new version gets, spread evenly so the counts
are exact. Each request becomes the EMF line the handler writes (`app/service/emf.py`, loaded from
the template), and CloudWatch is modelled as it is documented: values land in aligned period
buckets per dimension set; a Metrics Insights `AVG(metric) ... GROUP BY Version` alarm judges
each version's series apart and is in ALARM when one breaches `datapoints_to_alarm` of the last
`evaluation_periods` periods; a missing period is not breaching. The alarm is evaluated when a
period closes, plus `evaluation_delay` (log ingestion and evaluation). A rollback happens when
the alarm is in ALARM before CodeDeploy's last shift completes the deployment.

`AliasAlarm` is what the deployment watched before: Lambda's alias metrics, `Errors / Invocations`
over both versions together, where Errors counts only exceptions (not returned 5xx).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

EMF_MODULE = Path(__file__).resolve().parents[1] / "template" / "app" / "service" / "emf.py"
FUNCTION = "example-prod"
SLO_MS = 500.0
QUERY = re.compile(
    r'SELECT AVG\((?P<metric>\w+)\) FROM SCHEMA\("(?P<namespace>[^"]+)", (?P<dimensions>[\w, ]+)\) '
    r"WHERE FunctionName = '(?P<function>[\w-]+)' GROUP BY (?P<group>\w+) ORDER BY AVG\(\) DESC"
)


@cache
def handler_emf() -> ModuleType:
    spec = importlib.util.spec_from_file_location("handler_emf", EMF_MODULE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Behaviour:
    """A version's requests: `failing` of them answer 500, by returning it or by raising."""

    failing: float = 0.0
    raises: bool = False  # True: Lambda counts them in Errors; False: a returned 5xx, which it does not


@dataclass(frozen=True)
class VersionAlarm:
    """A captured MetricAlarm on a per-version Metrics Insights query."""

    metric: str
    namespace: str
    threshold: float
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int

    @classmethod
    def from_inputs(cls, inputs: dict[str, Any]) -> VersionAlarm:
        assert inputs["comparisonOperator"] == "GreaterThanThreshold"
        assert inputs["treatMissingData"] == "notBreaching"
        (query,) = inputs["metricQueries"]
        match = QUERY.fullmatch(query["expression"])
        assert match, f"not a per-version query: {query['expression']}"
        assert match["group"] == "Version" and match["function"] == FUNCTION
        return cls(
            metric=match["metric"],
            namespace=match["namespace"],
            threshold=inputs["threshold"],
            period=int(query["period"]),  # captured inputs come back as JSON numbers
            evaluation_periods=int(inputs["evaluationPeriods"]),
            datapoints_to_alarm=int(inputs["datapointsToAlarm"]),
        )

    def series(self, metrics: Metrics) -> dict[str, dict[int, float]]:
        """AVG per period bucket, one series per version."""
        out: dict[str, dict[int, float]] = {}
        for (namespace, dimensions, name, bucket), (total, count) in metrics.buckets(self.period).items():
            dims = dict(dimensions)
            if namespace == self.namespace and name == self.metric and dims["FunctionName"] == FUNCTION:
                out.setdefault(dims["Version"], {})[bucket] = total / count
        return out


@dataclass(frozen=True)
class AliasAlarm:
    """The former alarm: Lambda's alias metrics, errors per invocation of both versions together."""

    threshold: float
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int

    def series(self, metrics: Metrics) -> dict[str, dict[int, float]]:
        invocations: dict[int, int] = {}
        errors: dict[int, int] = {}
        for second, _version, status, raised in metrics.requests:
            bucket = second - second % self.period
            invocations[bucket] = invocations.get(bucket, 0) + 1
            errors[bucket] = errors.get(bucket, 0) + int(raised and status >= 500)
        return {"alias": {b: errors[b] / invocations[b] for b in invocations}}


class Metrics:
    """What CloudWatch extracts from the handler's EMF lines, kept per second."""

    def __init__(self) -> None:
        self.values: list[tuple[int, str, tuple[tuple[str, str], ...], str, float]] = []
        self.requests: list[tuple[int, str, int, bool]] = []  # second, version, status, raised

    def record(self, second: int, version: str, status: int, raised: bool) -> None:
        self.requests.append((second, version, status, raised))
        doc = handler_emf().document(FUNCTION, version, status, 20.0, SLO_MS, "/")
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dims = tuple((d, doc[d]) for d in dimension_set)
                for metric in directive["Metrics"]:
                    self.values.append((second, directive["Namespace"], dims, metric["Name"], doc[metric["Name"]]))

    def buckets(self, period: int) -> dict[tuple[str, tuple[tuple[str, str], ...], str, int], tuple[float, int]]:
        """(namespace, dimensions, metric, period start) -> (sum, sample count)."""
        sums: dict[tuple[Any, ...], list[float]] = {}
        for second, namespace, dims, name, value in self.values:
            key = (namespace, dims, name, second - second % period)
            entry = sums.setdefault(key, [0.0, 0])
            entry[0] += value
            entry[1] += 1
        return {key: (total, int(count)) for key, (total, count) in sums.items()}


def traffic_steps(config_inputs: dict[str, Any] | None) -> list[tuple[int, int]]:
    """(seconds after the start, percent on the new version) from a captured DeploymentConfig;
    None is CodeDeployDefault.LambdaAllAtOnce."""
    if config_inputs is None:
        return [(0, 100)]
    routing = config_inputs["trafficRoutingConfig"]
    if routing["type"] == "TimeBasedCanary":
        canary = routing["timeBasedCanary"]
        return [(0, int(canary["percentage"])), (int(canary["interval"]) * 60, 100)]
    assert routing["type"] == "TimeBasedLinear", routing["type"]
    linear = routing["timeBasedLinear"]
    steps, percent, at = [], 0, 0
    while percent < 100:
        percent = min(100, percent + int(linear["percentage"]))
        steps.append((at, percent))
        at += int(linear["interval"]) * 60
    return steps


def _spread(count: int, share: float, carry: float) -> tuple[int, float]:
    """How many of `count` go one way when `share` of them should, carrying the remainder on."""
    exact = count * share + carry
    whole = int(exact + 1e-9)
    return whole, exact - whole


@dataclass(frozen=True)
class Outcome:
    rolled_back_after: int | None  # seconds from the deployment's start to the alarm, if before it completed
    share_at_rollback: int | None  # percent of the traffic on the new version then
    completed_after: int  # when CodeDeploy's last shift would have completed it


def simulate(
    steps: list[tuple[int, int]],
    alarm: VersionAlarm | AliasAlarm,
    new: Behaviour,
    old: Behaviour = Behaviour(),
    *,
    rps: int = 100,
    offset: int = 0,
    evaluation_delay: int = 0,
) -> Outcome:
    completed = steps[-1][0]
    horizon = completed + alarm.period * (alarm.evaluation_periods + 2)
    metrics = Metrics()
    carry_new = carry_fail_new = carry_fail_old = 0.0
    start = offset  # absolute second; period buckets are aligned on multiples of the period
    for second in range(start, start + horizon):
        elapsed = second - start
        percent = max(p for at, p in steps if at <= elapsed) if elapsed < completed else 100
        to_new, carry_new = _spread(rps, percent / 100, carry_new)
        for version, count, behaviour in (("8", to_new, new), ("7", rps - to_new, old)):
            if version == "8":
                failing, carry_fail_new = _spread(count, behaviour.failing, carry_fail_new)
            else:
                failing, carry_fail_old = _spread(count, behaviour.failing, carry_fail_old)
            for i in range(count):
                bad = i < failing
                metrics.record(second, version, 500 if bad else 200, bad and behaviour.raises)
        closed = second + 1  # the period ending here is complete
        if closed % alarm.period == 0 and _in_alarm(alarm, metrics, closed):
            decided = closed + evaluation_delay - start
            if decided < completed:
                return Outcome(decided, max(p for at, p in steps if at <= decided), completed)
            return Outcome(None, None, completed)
    return Outcome(None, None, completed)


def _in_alarm(alarm: VersionAlarm | AliasAlarm, metrics: Metrics, closed: int) -> bool:
    window = [closed - alarm.period * k for k in range(alarm.evaluation_periods, 0, -1)]
    for series in alarm.series(metrics).values():
        breaching = sum(1 for bucket in window if bucket in series and series[bucket] > alarm.threshold)
        if breaching >= alarm.datapoints_to_alarm:
            return True
    return False
