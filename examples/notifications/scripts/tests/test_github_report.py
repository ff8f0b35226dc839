from fake_cli import FakeCli
from github_report import issue, marker, pr_comment


def body(tmp_path, text="diff"):
    path = tmp_path / "body.md"
    path.write_text(text)
    return str(path)


def test_first_preview_adds_a_comment(tmp_path):
    cli = FakeCli({("gh", "api"): [[{"id": 1, "body": "unrelated"}]]})
    assert pr_comment(cli, "7", "pulumi preview: prod", body(tmp_path)) == "added a comment"
    (call,) = cli.called("gh", "pr", "comment", "7")
    assert call[-1].startswith(marker("pulumi preview: prod"))


def test_next_preview_edits_the_same_comment(tmp_path):
    existing = [[{"id": 41, "body": marker("pulumi preview: dev") + "\nold"},
                 {"id": 42, "body": marker("pulumi preview: prod") + "\nold"}]]  # fmt: skip
    cli = FakeCli({("gh", "api", "repos/{owner}/{repo}/issues/7/comments"): existing})
    assert pr_comment(cli, "7", "pulumi preview: prod", body(tmp_path, "new")) == "updated comment 42"
    (patch,) = cli.called("gh", "api", "--method", "PATCH")
    assert patch[4].endswith("/comments/42") and patch[-1].endswith("new")
    assert not cli.called("gh", "pr", "comment")


def test_drift_opens_one_issue_then_comments_on_it(tmp_path):
    cli = FakeCli({("gh", "issue", "list"): [[]]})
    assert issue(cli, "Drift in prod", body(tmp_path), "drift") == "opened an issue"
    cli = FakeCli({("gh", "issue", "list"): [[{"number": 12, "title": "Drift in prod"}]]})
    assert issue(cli, "Drift in prod", body(tmp_path), "drift") == "commented on issue #12"
    assert cli.called("gh", "issue", "comment", "12")
    assert not cli.called("gh", "issue", "create")
