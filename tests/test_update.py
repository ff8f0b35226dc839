"""`copier update` across tagged template versions keeps every local edit and every team file.

A throwaway git repository holds this template at these versions (one history for the module):

- v0.9.0: the layout repos generated before 1.0.0 have: template code (the game-day fault
  hook) in the team-owned app/service/core.py;
- v1.0.0: the working tree as it is;
- v2.0.0: a typical release: a document gains a section, a line the team also edited changes
  (a conflict), the post-mortem template moves to docs/templates/, the question
  `description` is renamed `summary` (both through `_migrations`), the app file changes;
- v3.0.0: one more document change;
- v4.0.0rc1, then an untagged commit: a pre-release and unreleased work, which
  `copier update` without `--vcs-ref` must not take.

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
from conftest import run_generated_tests

from scripts.template_history import commit_all, copier, edit, git, release, template_repo

APP_FILE = "template/app/service/core.py"  # team-owned: copier.yml _skip_if_exists
SERVER_FILE = "template/app/service/server.py"
FAULT_BRANCH = """            elif route == "/" and injected_fault():
                status, headers, body = 500, {"content-type": "application/json"}, b'{"error": "injected fault"}'
"""
POSTMORTEM_OLD = "docs/postmortem-template.md"
POSTMORTEM_NEW = "docs/templates/postmortem.md"
ONCALL_LINE = "## Silences and toil"
ANSWERS = {"project_name": "Payments API", "team": "payments", "description": "Takes payments"}


def before_1_0(repo: Path) -> dict[Path, str]:
    """The one layout of earlier versions an update must repair: the game-day fault hook in the
    team's core.py (checked in its route) instead of the server. Returns the files' texts as they
    are in the working tree, for the next release."""
    server, core = repo / SERVER_FILE, repo / APP_FILE
    originals = {path: path.read_text() for path in (server, core)}
    text = server.read_text()
    hook = text[text.index("def injected_fault()") : text.index("def serve(")]
    edit(server, FAULT_BRANCH, "")
    edit(server, hook, "")
    edit(server, "import random\n", "")
    edit(core, "import os\n", "import os\nimport random\n")
    fault_check = '    if injected_fault():\n        return Response(500, {"error": "injected fault"})\n'
    edit(core, "def home() -> Response:\n", hook + "def home() -> Response:\n" + fault_check)
    return originals


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
    edit(repo / "copier.yml", "description_error(description)", "description_error(summary)")
    with (repo / "copier.yml").open("a") as questions:
        questions.write('\ndescription:\n  type: str\n  default: "{{ summary }}"\n  when: false\n')
    edit(
        repo / "extensions" / "migrations.py",
        'merged_team_files=("app/service/core.py",)),\n',
        'merged_team_files=("app/service/core.py",)),\n'
        '    Migration("2.0.0", renamed_answers={"description": "summary"},\n'
        f'              moved_files={{"{POSTMORTEM_OLD}": "{POSTMORTEM_NEW}"}}),\n',
    )


PLATFORM_RUNBOOKS = "platform/docs/runbooks.md.jinja"
PLATFORM_V3_LINE = "Each runbook is reviewed after the incident that used it."


def v3_changes(repo: Path) -> None:
    edit(repo / "template" / "docs" / "slo.md.jinja", "## Review cadence", "## Review cadence\n\n- Yearly: the SLA.")
    edit(repo / PLATFORM_RUNBOOKS, "route to its team.\n", f"route to its team. {PLATFORM_V3_LINE}\n")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    repo = template_repo(tmp_path_factory.mktemp("template") / "groundwork")
    current = before_1_0(repo)
    release(repo, "v0.9.0")
    for path, text in current.items():
        path.write_text(text)
    release(repo, "v1.0.0")
    v2_changes(repo)
    release(repo, "v2.0.0")
    v3_changes(repo)
    release(repo, "v3.0.0")
    edit(repo / "template" / "docs" / "slo.md.jinja", "- Yearly: the SLA.", "- Yearly: the SLA (pre-release).")
    release(repo, "v4.0.0rc1")
    edit(repo / "template" / "docs" / "slo.md.jinja", "(pre-release)", "(unreleased)")
    commit_all(repo, "Work towards v4.0.0")
    return repo


def generate(template: Path, dst: Path, ref: str, **data: object) -> Path:
    from scripts.template_history import generate as copy_at

    answers = {**ANSWERS, **data}
    if ref not in ("v0.9.0", "v1.0.0"):  # the question was renamed in v2.0.0
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
    # the message names it, and the moved file, merged by the migration: the team and v2 both
    # appended after its last section
    assert conflicts_listed(result.stderr) == ["docs/oncall.md", POSTMORTEM_NEW]
    assert "<<<<<<< before updating" in moved


def conflicts_listed(message: str) -> list[str]:
    """The files the post-update message lists under its conflicts paragraph."""
    if "No conflicts" in message:
        return []
    paragraph = message.split("Conflicts to resolve", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in paragraph.splitlines()[1:] if line.startswith("  ")]


def test_conflicts_can_be_left_as_rej_files(template, tmp_path):
    repo = generate(template, tmp_path / "svc", "v1.0.0")
    edit(repo / "docs" / "oncall.md", ONCALL_LINE, ONCALL_LINE + " (ours)")
    commit_all(repo, "Local edit")
    # Under --quiet Copier prints no message, so the --data check also runs before the first
    # migration step: v2.0.0's renames the recorded `description`, and a refused answer must not
    # leave that half done.
    refused = copier(
        repo, "update", "--trust", "--defaults", "--quiet", "--data", "deployment_strategy=big-bang",
        "--vcs-ref", "v2.0.0", check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "Invalid choice for 'deployment_strategy'" in refused.stderr
    assert git(repo, "status", "--porcelain") == ""
    result = copier(repo, "update", "--trust", "--defaults", "--conflict", "rej", "--vcs-ref", "v2.0.0")
    # the template's side lands in the file; the team's hunk that no longer applies waits in .rej
    assert "(reviewed monthly)" in (repo / "docs" / "oncall.md").read_text()
    rejected = (repo / "docs" / "oncall.md.rej").read_text()
    assert "(ours)" in rejected
    assert conflicts_listed(result.stderr) == ["docs/oncall.md.rej"]


@pytest.mark.parametrize("old", ["v0.9.0", "v2.0.0"])
def test_every_old_version_updates_to_the_newest_release(template, tmp_path, old):
    repo = generate(template, tmp_path / "svc", old, platform="aws-lambda", sla=99.95)
    kept = local_edits(repo)
    # `copier check-update` finds the repository behind, as the fleet's template-update workflow does;
    # the newest release is v3.0.0: neither the pre-release nor the unreleased commit after it
    report = copier(repo, "check-update", "--output-format", "json").stdout
    assert '"update_available": true' in report and '"latest_version": "3.0.0"' in report
    quiet = subprocess.run([sys.executable, "-m", "copier", "check-update", "--quiet"], cwd=repo, timeout=120)
    assert quiet.returncode == 2
    result = copier(repo, "update", "--trust", "--defaults")  # no --vcs-ref: the newest release
    for path, text in kept.items():
        assert text in (repo / path).read_text(), f"local edit lost in {path} updating from {old}"
    slo = (repo / "docs" / "slo.md").read_text()
    assert "- Yearly: the SLA." in slo and "pre-release" not in slo and "unreleased" not in slo
    assert (repo / POSTMORTEM_NEW).is_file() and not (repo / POSTMORTEM_OLD).exists()
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v3.0.0" and answers["summary"] == "Takes payments"
    assert answers["platform"] == "aws-lambda" and answers["sla"] == 99.95
    # the game-day fault hook runs once: the migration took the template's copy out of the team's
    # core.py (keeping the team's line), the server has its own
    service = repo / "app" / "service"
    core = (service / "core.py").read_text()
    assert "injected_fault" not in core
    if old == "v0.9.0":  # the row merges the template's file as of v1.0.0, not v2.0.0's later change
        assert "GREETING_FROM_V2" not in core
    assert sum(path.read_text().count("def injected_fault(") for path in service.glob("*.py")) == 1
    assert not list(repo.rglob("*.rej"))
    assert conflicts_listed(result.stderr) == [] and "No conflicts" in result.stderr
    assert git(repo, "status", "--porcelain")  # the update is left for review, uncommitted
    if old == "v0.9.0":  # the team's core.py, merged, serves with the new routing: the app's own tests
        tests = run_generated_tests(repo, "-q", "app/tests")
        assert tests.returncode == 0, tests.stdout + tests.stderr
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


def test_team_files_are_moved_aside_not_deleted_and_conflicts_are_found(tmp_path):
    """The after-update step and the message's report on a repository as Copier leaves it."""
    from extensions.migrations import conflicted_files, keep_team_files, update_report

    repo, owned = tmp_path / "svc", ["docs/runbooks/notes/*.md"]
    note, other = repo / "docs" / "runbooks" / "notes" / "Gone.md", repo / "docs" / "gone.md"
    note.parent.mkdir(parents=True)
    note.write_text("# Gone\n- 2025-01: the team's finding\n")
    other.write_text("template-owned\n")
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "Generated")
    note.unlink()  # what Copier does to a file the new render lacks
    other.unlink()
    (repo / "docs" / "oncall.md").write_text("<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\n")
    (repo / "docs" / "slo.md.rej").write_text("@@ -1 +1 @@\n-a\n+b\n")

    assert keep_team_files(repo, owned) == [
        "kept docs/runbooks/notes/Gone.md at docs/runbooks/notes/retired/Gone.md: the template no longer generates it"
    ]
    assert not other.exists()  # only team-owned files are kept
    report = update_report(repo, owned)
    assert "  docs/runbooks/notes/Gone.md -> docs/runbooks/notes/retired/Gone.md" in report
    assert conflicted_files(repo) == conflicts_listed(report) == ["docs/oncall.md", "docs/slo.md.rej"]

    (repo / "docs" / "oncall.md").unlink()
    (repo / "docs" / "slo.md.rej").unlink()
    commit_all(repo, "Take the update")
    note.write_text("# Gone\n")  # a later update generates it again, fresh
    assert keep_team_files(repo, owned) == [
        "restored docs/runbooks/notes/Gone.md from docs/runbooks/notes/retired/Gone.md: the template generates it again"
    ]
    assert "the team's finding" in note.read_text() and not (note.parent / "retired" / "Gone.md").exists()
    assert update_report(repo, owned) == "No conflicts: review the diff before committing."


def test_changing_answers_on_update_moves_every_artifact_keeps_team_files_and_refuses_bad_data(template, tmp_path):
    repo = generate(template, tmp_path / "svc", "v3.0.0", monitoring_level="comprehensive")
    note = repo / "docs" / "runbooks" / "notes" / "SyntheticProbeFailing.md"  # standard and up: basic drops it
    note.write_text(note.read_text() + "\n- 2025-04: failed from eu-west-1 only; see INC-7.\n")
    commit_all(repo, "Team note")

    # a refused answer stops the update before Copier renders anything or runs a task
    refused = copier(repo, "update", "--trust", "--defaults", "--data", "sla=42", "--vcs-ref", "v3.0.0", check=False)
    assert refused.returncode == 1
    assert "Validation error for question 'sla': sla must be between 93.056 and 99.999 percent" in refused.stderr
    assert "Nothing was changed" in refused.stderr
    assert "Updating to template version" not in refused.stderr and "Running task" not in refused.stderr
    assert git(repo, "status", "--porcelain") == ""

    result = copier(
        repo, "update", "--trust", "--defaults", "--data", "sla=99.95", "--data", "monitoring_level=basic",
        "--vcs-ref", "v3.0.0",
    )  # fmt: skip
    assert "WARNING: sla 99.95 is not reachable" in result.stderr
    assert "A cold standby in us-west-2" in result.stderr  # what would reach it
    assert "21.6 min of full outage" in (repo / "docs" / "slo.md").read_text()  # was 43.2 at 99.9
    assert "tier gold" in (repo / "Pulumi.prod.yaml").read_text()
    assert "**not reachable**" in (repo / "docs" / "reliability-report.md").read_text()
    assert yaml.safe_load((repo / ".copier-answers.yml").read_text())["sla"] == 99.95
    # basic has no synthetic probe: its runbook goes, the team's note is kept aside, and the message says so
    retired = repo / "docs" / "runbooks" / "notes" / "retired" / "SyntheticProbeFailing.md"
    assert not (repo / "docs" / "runbooks" / "SyntheticProbeFailing.md").exists() and not note.exists()
    assert "failed from eu-west-1 only; see INC-7." in retired.read_text()
    assert "docs/runbooks/notes/SyntheticProbeFailing.md -> docs/runbooks/notes/retired/" in result.stderr
    commit_all(repo, "Take basic monitoring")

    # back to comprehensive: the alert returns, and with it the team's note
    result = copier(repo, "update", "--trust", "--defaults", "--data", "monitoring_level=comprehensive")
    assert "failed from eu-west-1 only; see INC-7." in note.read_text() and not retired.exists()
    assert "restored docs/runbooks/notes/SyntheticProbeFailing.md" in result.stderr


def test_a_platform_repository_updates_keeping_its_edits(template, tmp_path):
    """kind platform: generated at v2.0.0, edited, updated to the newest release; v3's change to the
    platform's runbooks arrives beside the team's own, nothing of the team's is lost."""
    repo = generate(template, tmp_path / "platform", "v2.0.0", kind="platform", project_name="Platform")
    runbooks, stack, readme = repo / "docs" / "runbooks.md", repo / "Pulumi.prod.yaml", repo / "README.md"
    runbooks.write_text(runbooks.read_text() + "\n## Team notes\n\n- 2025-05: node group rotation takes 40 min.\n")
    stack.write_text(stack.read_text() + "  platform:cost-centre: cc-9\n")
    edit(readme, "## Onboarding a service\n", "## Onboarding a service\n\nAsk in #platform first.\n")
    commit_all(repo, "Local edits")

    result = copier(repo, "update", "--trust", "--defaults")

    assert "2025-05: node group rotation takes 40 min." in runbooks.read_text()
    assert PLATFORM_V3_LINE in runbooks.read_text()
    assert "platform:cost-centre: cc-9" in stack.read_text() and "Ask in #platform first." in readme.read_text()
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v3.0.0" and answers["kind"] == "platform"
    assert not (repo / "app").exists() and (repo / ".github" / "workflows" / "deploy.yml").is_file()
    assert conflicts_listed(result.stderr) == [] and "No conflicts" in result.stderr
