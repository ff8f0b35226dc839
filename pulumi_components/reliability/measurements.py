"""Measured recovery times: the drills the team ran, read from the generated repo's
docs/recovery-measurements.yml, against the objectives they time.

An objective is met only when a drill that times it recorded a result within its
RTO; an estimate alone never is. The file is the team's (Copier keeps it on
update); the restore-test and failover workflows print the entry to add. The YAML
is parsed by the caller (Copier's extension) so this module stays standard
library only; `measurements_from_data` validates what it parsed.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MEASUREMENTS_FILE = "docs/recovery-measurements.yml"
DRILLS = ("restore-test", "failover-rehearsal", "failover")
FIELDS = ("date", "drill", "minutes", "run")
OPTIONAL = ("schema",)  # the schema version a restore test left its copy at, as its summary prints it
ACCEPTED = (
    f"{MEASUREMENTS_FILE} is a YAML list of entries, each with exactly: date (YYYY-MM-DD), "
    f"drill (one of {', '.join(DRILLS)}), minutes (a number above 0), run (the run's https:// URL); "
    "and optionally schema (the schema version the restore test migrated its copy to, e.g. 0001_create_visits)"
)


class MeasurementError(ValueError):
    pass


@dataclass(frozen=True)
class Measurement:
    date: datetime.date
    drill: str
    minutes: float
    run: str
    schema: str = ""


def _date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    raise ValueError(value)


def measurement_from_entry(entry: Any) -> Measurement:
    """One entry, or MeasurementError naming its defect and what is accepted."""
    if not isinstance(entry, dict) or not set(FIELDS) <= set(entry) <= set(FIELDS + OPTIONAL):
        found = sorted(map(str, entry)) if isinstance(entry, dict) else type(entry).__name__
        raise MeasurementError(f"entry {entry!r} has {found}; {ACCEPTED}")
    try:
        date = _date(entry["date"])
    except ValueError:
        raise MeasurementError(f"date {entry['date']!r} is not YYYY-MM-DD; {ACCEPTED}") from None
    if entry["drill"] not in DRILLS:
        raise MeasurementError(f"drill {entry['drill']!r}; {ACCEPTED}")
    minutes = entry["minutes"]
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not minutes > 0:
        raise MeasurementError(f"minutes {minutes!r}; {ACCEPTED}")
    run = entry["run"]
    if not isinstance(run, str) or not run.startswith("https://") or len(run) <= len("https://"):
        raise MeasurementError(f"run {run!r}; {ACCEPTED}")
    schema = entry.get("schema", "")
    if not isinstance(schema, str) or (("schema" in entry) and not schema.strip()):
        raise MeasurementError(f"schema {schema!r}; {ACCEPTED}")
    return Measurement(date, entry["drill"], float(minutes), run, schema)


def measurements_from_data(data: Any) -> tuple[Measurement, ...]:
    """The file's parsed YAML (None when it holds only comments) as measurements, oldest first."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise MeasurementError(f"the file holds a {type(data).__name__}; {ACCEPTED}")
    return tuple(sorted((measurement_from_entry(entry) for entry in data), key=lambda m: m.date))


@dataclass(frozen=True)
class RecoveryStatus:
    latest: Measurement | None  # the newest drill that times the objective; None when none did
    met: bool  # a drill measured it, within the RTO


def recovery_status(
    drills: Iterable[str], rto_minutes: float | None, measurements: Iterable[Measurement]
) -> RecoveryStatus:
    """The newest measurement by one of `drills`, and whether it is within `rto_minutes`."""
    drills = tuple(drills)
    timed = [m for m in measurements if m.drill in drills]
    latest = sorted(timed, key=lambda m: m.date)[-1] if timed else None  # a later line wins a tie
    met = latest is not None and rto_minutes is not None and latest.minutes <= rto_minutes
    return RecoveryStatus(latest, met)
