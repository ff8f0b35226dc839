"""`copier update` across tagged template versions keeps every local edit.

A throwaway git repository holds this template at three tagged versions:

- v1.0.0: the working tree as it is (plus a team-owned app file);
- v2.0.0: a typical release: a document gains a section, a line the team also edited changes
  (a conflict), the post-mortem template moves to docs/templates/, the question
  `description` is renamed `summary` (both through `_migrations`), the app file changes;
- v3.0.0: one more document change.

Services are generated at old versions with the Copier CLI (a subprocess per command, so two
template versions never share imported modules), edited the way teams edit them, committed,
and updated.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.template_history import commit_all, copier, edit, git, release, template_repo

APP_FILE = "template/app/service/core.py"  # team-owned: copier.yml _skip_if_exists
POSTMORTEM_OLD = "docs/postmortem-template.md"
POSTMORTEM_NEW = "docs/templates/postmortem.md"
ONCALL_LINE = "## Silences and toil"
ANSWERS = {"project_name": "Payments API", "team": "payments", "description": "Takes payments"}


def v2_changes(repo: Path) -> None:
    """A release with a new section, a changed line, a moved file and a renamed question."""
    docs = repo / "template" / "docs"
    edit(docs / "postmortem-template.md.jinja", "## Lessons learned", "## Lessons learned\n\n## Follow-up review")
    (docs / "templates").mkdir()
    (docs / "postmortem-template.md.jinja").rename(docs / "templates" / "postmortem.md.jinja")
    edit(docs / "oncall.md.jinja", ONCALL_LINE, ONCALL_LINE + " (reviewed monthly)")
    (repo / APP_FILE).write_text((repo / APP_FILE).read_text() + "\nGREETING_FROM_V2 = True\n")
    # rename the question `description` -> `summary`; templates keep reading `description`,
    # now a computed value (never asked, never recorded), as a template would during a rename
    edit(repo / "copier.yml", "\ndescription:\n", "\nsummary:\n")
    with (repo / "copier.yml").open("a") as questions:
        questions.write('\ndescription:\n  type: str\n  default: "{{ summary }}"\n  when: false\n')
    edit(
        repo / "extensions" / "migrations.py",
        "MIGRATIONS: tuple[Migration, ...] = ()",
        "MIGRATIONS: tuple[Migration, ...] = (\n"
        '    Migration("2.0.0", renamed_answers={"description": "summary"},\n'
        f'              moved_files={{"{POSTMORTEM_OLD}": "{POSTMORTEM_NEW}"}}),\n)',
    )


def v3_changes(repo: Path) -> None:
    edit(repo / "template" / "docs" / "slo.md.jinja", "## Review cadence", "## Review cadence\n\n- Yearly: the SLA.")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    repo = template_repo(tmp_path_factory.mktemp("template") / "groundwork")
    release(repo, "v1.0.0")
    v2_changes(repo)
    release(repo, "v2.0.0")
    v3_changes(repo)
    release(repo, "v3.0.0")
    return repo


def generate(template: Path, dst: Path, ref: str, **data: object) -> Path:
    from scripts.template_history import generate as copy_at

    answers = {**ANSWERS, **data}
    if ref != "v1.0.0":  # the question was renamed in v2.0.0
        answers["summary"] = answers.pop("description")
    return copy_at(template, dst, ref, answers)


def local_edits(repo: Path) -> dict[str, str]:
    """Edits a team makes after generation; returns {path: text that must survive}."""
    kept = {}
    app = repo / "app" / "service" / "core.py"
    app.write_text(app.read_text() + '\nGREETING = "hello from the payments team"\n')
    kept["app/service/core.py"] = 'GREETING = "hello from the payments team"'
    notes = repo / "docs" / "runbooks" / "notes" / "AvailabilityBudgetBurnPage.md"
    notes.write_text(notes.read_text() + "\n- 2025-03: caused by an expired certificate; see INC-42.\n")
    kept["docs/runbooks/notes/AvailabilityBudgetBurnPage.md"] = "caused by an expired certificate; see INC-42."
    runbook = repo / "docs" / "runbooks" / "AvailabilityBudgetBurnPage.md"
    edit(runbook, "## Escalation", "## Escalation\n\nPayments: also page the payments-db channel.")
    kept["docs/runbooks/AvailabilityBudgetBurnPage.md"] = "Payments: also page the payments-db channel."
    stack = repo / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text() + "  payments-api:cost-centre: cc-1234\n")
    kept["Pulumi.prod.yaml"] = "payments-api:cost-centre: cc-1234"
    commit_all(repo, "Local edits")
    return kept


def test_update_keeps_local_edits_applies_changes_and_surfaces_conflicts(template, tmp_path):
    repo = generate(template, tmp_path / "payments-api", "v1.0.0")
    assert (repo / POSTMORTEM_OLD).is_file()
    kept = local_edits(repo)
    postmortem = repo / POSTMORTEM_OLD
    postmortem.write_text(postmortem.read_text() + "\nPayments: attach the PSP's incident reference.\n")
    oncall = repo / "docs" / "oncall.md"
    edit(oncall, ONCALL_LINE, ONCALL_LINE + " (weekly, with the payments lead)")
    commit_all(repo, "More local edits")

    result = copier(repo, "update", "--trust", "--defaults", "--vcs-ref", "v2.0.0")

    # nothing local is lost
    for path, text in kept.items():
        assert text in (repo / path).read_text(), f"local edit lost in {path}"
    # the team-owned app file is not touched, although v2 changed it
    core = (repo / "app" / "service" / "core.py").read_text()
    assert core == git(repo, "show", "HEAD:app/service/core.py") and "GREETING_FROM_V2" not in core
    # template changes applied, merged with the edits in the same file
    runbook = (repo / "docs" / "runbooks" / "AvailabilityBudgetBurnPage.md").read_text()
    assert "## Mitigation" in runbook and "Payments: also page" in runbook
    # the moved file took the team's edit with it, and gained v2's new section
    assert not (repo / POSTMORTEM_OLD).exists()
    moved = (repo / POSTMORTEM_NEW).read_text()
    assert "attach the PSP's incident reference" in moved
    assert "## Follow-up review" in moved
    # the renamed question kept its answer
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["summary"] == "Takes payments" and "description" not in answers
    assert answers["_commit"] == "v2.0.0"
    assert "Takes payments" in (repo / "README.md").read_text()
    # the line both sides changed is a conflict, shown with Copier's inline markers
    conflicted = oncall.read_text()
    assert "<<<<<<< before updating" in conflicted and ">>>>>>> after updating" in conflicted
    assert "(weekly, with the payments lead)" in conflicted and "(reviewed monthly)" in conflicted
    assert "Updated payments-api to the template's v2.0.0" in result.stderr


def test_conflicts_can_be_left_as_rej_files(template, tmp_path):
    repo = generate(template, tmp_path / "svc", "v1.0.0")
    edit(repo / "docs" / "oncall.md", ONCALL_LINE, ONCALL_LINE + " (ours)")
    commit_all(repo, "Local edit")
    copier(repo, "update", "--trust", "--defaults", "--conflict", "rej", "--vcs-ref", "v2.0.0")
    # the template's side lands in the file; the team's hunk that no longer applies waits in .rej
    assert "(reviewed monthly)" in (repo / "docs" / "oncall.md").read_text()
    rejected = (repo / "docs" / "oncall.md.rej").read_text()
    assert "(ours)" in rejected


@pytest.mark.parametrize("old", ["v1.0.0", "v2.0.0"])
def test_every_old_version_updates_to_the_latest(template, tmp_path, old):
    repo = generate(template, tmp_path / "svc", old, platform="aws-lambda", sla=99.95)
    kept = local_edits(repo)
    # `copier check-update` finds the repository behind, as the fleet's template-update workflow does
    report = copier(repo, "check-update", "--output-format", "json").stdout
    assert '"update_available": true' in report and '"latest_version": "3.0.0"' in report
    quiet = subprocess.run([sys.executable, "-m", "copier", "check-update", "--quiet"], cwd=repo, timeout=120)
    assert quiet.returncode == 2
    copier(repo, "update", "--trust", "--defaults", "--vcs-ref", "v3.0.0")
    for path, text in kept.items():
        assert text in (repo / path).read_text(), f"local edit lost in {path} updating from {old}"
    assert "- Yearly: the SLA." in (repo / "docs" / "slo.md").read_text()
    assert (repo / POSTMORTEM_NEW).is_file() and not (repo / POSTMORTEM_OLD).exists()
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v3.0.0" and answers["summary"] == "Takes payments"
    assert answers["platform"] == "aws-lambda" and answers["sla"] == 99.95
    assert not list(repo.rglob("*.rej"))
    status = git(repo, "status", "--porcelain")
    assert "<<<<<<<" not in "".join(p.read_text() for p in (repo / "docs").rglob("*.md"))
    assert status  # the update is left for review, uncommitted
    commit_all(repo, "Take v3.0.0")
    assert "up-to-date" in copier(repo, "check-update").stdout


def test_migrations_apply_only_between_the_two_versions():
    from extensions.migrations import Migration, pending, rename_answers

    table = (Migration("1.1.0", {"a": "b"}), Migration("2.0.0", {"b": "c"}), Migration("3.0.0", {"c": "d"}))
    assert [m.version for m in pending(table, "1.0.0", "2.0.0")] == ["1.1.0", "2.0.0"]
    assert [m.version for m in pending(table, "v2.0.0", "3.0.0.post2.dev0+g1234")] == ["3.0.0"]
    assert pending(table, "3.0.0", "3.0.0") == []
    text = "_commit: v1\na: kept value\nalpha: untouched\n"
    assert rename_answers(text, {"a": "b"}) == "_commit: v1\nb: kept value\nalpha: untouched\n"


def test_changing_the_sla_on_update_moves_every_artifact_and_warns(template, tmp_path):
    repo = generate(template, tmp_path / "svc", "v3.0.0")
    result = copier(repo, "update", "--trust", "--defaults", "--data", "sla=99.95", "--vcs-ref", "v3.0.0")
    assert "WARNING: sla 99.95 is not reachable" in result.stderr
    assert "99.95 needs a second region" in result.stderr
    assert "21.6 min of full outage" in (repo / "docs" / "slo.md").read_text()  # was 43.2 at 99.9
    assert "tier gold" in (repo / "Pulumi.prod.yaml").read_text()
    assert "**not reachable**" in (repo / "docs" / "reliability-report.md").read_text()
    assert yaml.safe_load((repo / ".copier-answers.yml").read_text())["sla"] == 99.95
