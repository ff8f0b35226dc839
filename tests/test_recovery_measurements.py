"""Measured recovery times: the team's drill record, parsed and validated, and what the report and the
readiness checklist make of it (an objective is ticked only when a drill measured it within its RTO)."""

from __future__ import annotations

import datetime
import os
import re
import subprocess

import pytest
import yaml
from conftest import ROOT, render_fresh
from test_reliability_docs import answers_context, docs_env

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.measurements import (
    ACCEPTED,
    MEASUREMENTS_FILE,
    Measurement,
    MeasurementError,
    RecoveryStatus,
    measurements_from_data,
    recovery_status,
)
from pulumi_components.reliability.recovery import recovery_objectives

RUN = "https://github.com/acme/svc/actions/runs/42"
ENTRY = {"date": "2026-03-01", "drill": "restore-test", "minutes": 12, "run": RUN}
WORKFLOWS = ROOT / "template" / ".github" / "workflows"


def test_entries_parse_oldest_first_with_yaml_dates_or_strings():
    later = {**ENTRY, "date": datetime.date(2026, 4, 1), "drill": "failover-rehearsal", "minutes": 30.5}
    assert measurements_from_data([later, ENTRY]) == (
        Measurement(datetime.date(2026, 3, 1), "restore-test", 12.0, RUN),
        Measurement(datetime.date(2026, 4, 1), "failover-rehearsal", 30.5, RUN),
    )


def test_the_shipped_file_holds_only_its_format_and_no_measurement():
    text = (ROOT / "template" / MEASUREMENTS_FILE).read_text()
    assert measurements_from_data(yaml.safe_load(text)) == ()
    example = "\n".join(
        line.removeprefix("# ") for line in text.splitlines() if line.startswith("# - ") or line.startswith("#   ")
    )
    assert len(measurements_from_data(yaml.safe_load(example))) == 1  # the commented example is a valid entry


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"measurements": []}, "holds a dict"),
        ([{**ENTRY, "drill": "chaos"}], "drill 'chaos'"),
        ([{k: v for k, v in ENTRY.items() if k != "run"}], "['date', 'drill', 'minutes']"),
        ([{**ENTRY, "env": "prod"}], "'env'"),
        ([{**ENTRY, "minutes": 0}], "minutes 0"),
        ([{**ENTRY, "minutes": "12"}], "minutes '12'"),
        ([{**ENTRY, "minutes": True}], "minutes True"),
        ([{**ENTRY, "run": "http://ci.example/1"}], "run 'http://ci.example/1'"),
        ([{**ENTRY, "date": "1 March"}], "date '1 March'"),
        (["restore-test 12"], "has str"),
        ([{**ENTRY, "schema": 2}], "schema 2"),
        ([{**ENTRY, "schema": ""}], "schema ''"),
    ],
)
def test_a_bad_entry_is_refused_naming_it_and_what_is_accepted(data, named):
    with pytest.raises(MeasurementError) as error:
        measurements_from_data(data)
    assert named in str(error.value) and ACCEPTED in str(error.value)


def test_the_newest_drill_of_the_objective_s_kind_decides():
    old_fast = Measurement(datetime.date(2026, 1, 1), "failover", 10.0, RUN)
    new_slow = Measurement(datetime.date(2026, 2, 1), "failover", 90.0, RUN)
    restore = Measurement(datetime.date(2026, 3, 1), "restore-test", 5.0, RUN)
    failover = ("failover",)
    assert recovery_status(failover, 71, [old_fast]).met
    status = recovery_status(failover, 71, [old_fast, new_slow, restore])
    assert status.latest == new_slow and not status.met  # the latest is over the RTO
    assert recovery_status(failover, 71, [restore]) == RecoveryStatus(None, False)  # another drill's time
    assert not recovery_status(failover, None, [old_fast]).met  # no number to be within
    assert not recovery_status((), 71, [old_fast]).met  # nothing measures it


def plan(**answers):
    base = dict(project_name="Example", service_slug="example", team="platform", owner_email="p@example.com")
    return plan_service(Answers(**{**base, **answers}))


def test_production_s_objectives_name_the_drills_that_time_them():
    az, region, bad = recovery_objectives(plan(sla=99.99))
    assert az.drills == ()  # a Multi-AZ failover is AWS's; no drill here times it
    # a rehearsal times the readiness checks, not a recovery: only a failover times the regional RTO
    assert region.drills == ("failover",) and "failover.yml" in region.measured_by
    assert bad.drills == ("restore-test",)
    assert recovery_objectives(plan(sla=99.5))[0].drills == ("restore-test",)  # a Single-AZ restore
    assert all(o.drills == () for o in recovery_objectives(plan(sla=99.99), "staging"))


def render(name: str, tmp_path, entries: list | None) -> str:
    if entries is not None:
        (tmp_path / "docs").mkdir(exist_ok=True)
        (tmp_path / MEASUREMENTS_FILE).write_text(yaml.safe_dump(entries))
    context = answers_context(sla=99.99, database="postgres") | {"_copier_conf": {"dst_path": str(tmp_path)}}
    return docs_env().get_template(f"template/docs/{name}.md.jinja").render(context)


def checklist_line(text: str, failure: str) -> str:
    return next(line for line in text.splitlines() if f"{failure} measured:" in line)


def test_with_no_measurement_nothing_is_ticked_and_the_report_says_nothing_yet(tmp_path):
    for entries in (None, []):
        checklist = render("production-readiness", tmp_path, entries)
        for failure in ("AZ loss", "Region loss", "Bad write"):
            assert checklist_line(checklist, failure).startswith("- [ ] ")
            assert checklist_line(checklist, failure).endswith("docs/recovery-measurements.yml: nothing yet.")
        report = render("reliability-report", tmp_path, entries)
        rows = [line for line in report.splitlines() if line.startswith("| region loss |")]
        assert rows and all(row.endswith("| nothing yet |") for row in rows)


def test_a_recorded_drill_within_the_rto_is_shown_and_ticks_its_objective_only(tmp_path):
    entries = [
        {**ENTRY, "drill": "failover", "minutes": 40},
        {**ENTRY, "drill": "failover-rehearsal", "minutes": 3},
        {**ENTRY, "minutes": 200},
    ]
    checklist = render("production-readiness", tmp_path, entries)
    region = checklist_line(checklist, "Region loss")
    assert region.startswith("- [x] ") and f"40 min on 2026-03-01 (failover, <{RUN}>)" in region
    bad = checklist_line(checklist, "Bad write")
    assert bad.startswith("- [ ] ") and "200 min on 2026-03-01 (restore-test" in bad  # over the RTO
    assert checklist_line(checklist, "AZ loss").startswith("- [ ] ")
    report = render("reliability-report", tmp_path, entries)
    prod = report.split("### Recovery in prod")[1]
    assert re.search(r"\| region loss \|.*\| 40 min on 2026-03-01 \(failover, <.*>\) \|", prod)
    staging = report.split("### Recovery in staging")[1].split("###")[0]
    assert "(failover," not in staging and "nothing yet |" in staging  # the drills are production's


def test_a_rehearsal_alone_never_ticks_the_regional_objective(tmp_path):
    checklist = render("production-readiness", tmp_path, [{**ENTRY, "drill": "failover-rehearsal", "minutes": 3}])
    assert checklist_line(checklist, "Region loss").startswith("- [ ] ")


def test_a_bad_file_stops_the_render_naming_what_is_accepted(tmp_path):
    # MeasurementError of the extension's own copy of the model: a ValueError.
    with pytest.raises(ValueError, match="drill 'chaos'"):
        render("production-readiness", tmp_path, [{**ENTRY, "drill": "chaos"}])


def entry_step(workflow: str, step: str, platform: str) -> str:
    """The run script of a rendered workflow's step."""
    source = next(WORKFLOWS.glob(f"*{workflow}*")).relative_to(ROOT).as_posix()
    text = docs_env().get_template(source).render(answers_context(sla=99.99, database="postgres", platform=platform))
    steps = yaml.safe_load(text)["jobs"][next(iter(yaml.safe_load(text)["jobs"]))]["steps"]
    return next(s for s in steps if s.get("name") == step)["run"]


@pytest.mark.parametrize(
    ("workflow", "step", "action", "drill", "schema"),
    [
        ("restore-test", "The entry recording this restore's time and schema version", "", "restore-test", "0001_a"),
        ("restore-test", "The entry recording this restore's time and schema version", "", "restore-test", ""),
        ("failover", "The entry recording this drill's time", "rehearse", "failover-rehearsal", ""),
        ("failover", "The entry recording this drill's time", "fail-over", "failover", ""),
    ],
)
def test_the_workflows_print_an_entry_the_file_accepts(tmp_path, workflow, step, action, drill, schema):
    script = entry_step(workflow, step, "aws-lambda")
    (tmp_path / "started").write_text("0\n")  # the epoch: many minutes ago
    env = {
        "PATH": os.environ["PATH"],
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/svc",
        "GITHUB_RUN_ID": "42",
        "ACTION": action,
        "SCHEMA": schema,  # the restore step's output `schema` (empty when the copy was not migrated)
    }
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, check=True)
    block = (tmp_path / "summary.md").read_text().split("```yaml\n")[1].split("```")[0]
    (measurement,) = measurements_from_data(yaml.safe_load(block))
    assert (measurement.drill, measurement.run, measurement.schema) == (drill, RUN, schema)
    assert measurement.date == datetime.datetime.now(datetime.UTC).date() and measurement.minutes > 1_000_000


def test_copier_keeps_the_team_s_record_and_the_documents_read_it(tmp_path):
    """A real render into a repository already holding a record (as `copier update` renders over one)."""
    (tmp_path / "docs").mkdir()
    record = "# the team's\n" + yaml.safe_dump([{**ENTRY, "drill": "failover", "minutes": 40}])
    (tmp_path / MEASUREMENTS_FILE).write_text(record)
    render_fresh(tmp_path, sla=99.99, database="postgres")
    assert (tmp_path / MEASUREMENTS_FILE).read_text() == record
    checklist = (tmp_path / "docs" / "production-readiness.md").read_text()
    assert checklist_line(checklist, "Region loss").startswith("- [x] ")
    assert checklist_line(checklist, "Bad write").startswith("- [ ] ")
    assert "| 40 min on 2026-03-01 (failover," in (tmp_path / "docs" / "reliability-report.md").read_text()


def test_a_restore_test_entry_may_record_the_schema_version_it_migrated_to():
    (measured,) = measurements_from_data([{**ENTRY, "schema": "0002_add_visit_agent"}])
    assert measured.schema == "0002_add_visit_agent"
    assert measurements_from_data([ENTRY])[0].schema == ""
