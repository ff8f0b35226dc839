"""Keep one pull-request comment or one open issue per subject up to date, with the gh CLI.

    python scripts/github_report.py pr-comment PR_NUMBER "pulumi preview: prod" body.md
    python scripts/github_report.py issue "Drift in prod" body.md --label drift

A pull-request comment is found by its first line (the subject) and edited in place,
so each push updates the preview instead of adding another comment. An issue is
found by its exact title among the open ones: a new occurrence is added as a
comment, so a drift that lasts a week is one issue with seven comments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from _poll import Runner, run_cli, run_json


def marker(subject: str) -> str:
    return f"<!-- report: {subject} -->"


def pr_comment(runner: Runner, pr: str, subject: str, body_file: str) -> str:
    body = f"{marker(subject)}\n" + open(body_file, encoding="utf-8").read()  # noqa: SIM115
    comments = run_json(
        runner, ["gh", "api", f"repos/{{owner}}/{{repo}}/issues/{pr}/comments", "--paginate", "--slurp"]
    )
    pages = comments if comments and isinstance(comments[0], list) else [comments or []]
    for comment in (c for page in pages for c in page):
        if comment.get("body", "").startswith(marker(subject)):
            runner(
                ["gh", "api", "--method", "PATCH", f"repos/{{owner}}/{{repo}}/issues/comments/{comment['id']}",
                 "--field", f"body={body}"]
            )  # fmt: skip
            return f"updated comment {comment['id']}"
    runner(["gh", "pr", "comment", pr, "--body", body])
    return "added a comment"


def issue(runner: Runner, title: str, body_file: str, label: str) -> str:
    found = run_json(
        runner, ["gh", "issue", "list", "--state", "open", "--label", label, "--json", "number,title", "--limit", "100"]
    )
    for item in found or []:
        if item.get("title") == title:
            runner(["gh", "issue", "comment", str(item["number"]), "--body-file", body_file])
            return f"commented on issue #{item['number']}"
    runner(["gh", "issue", "create", "--title", title, "--body-file", body_file, "--label", label])
    return "opened an issue"


def main(argv: Sequence[str] | None = None, runner: Runner = run_cli) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    comment = commands.add_parser("pr-comment")
    comment.add_argument("pr")
    comment.add_argument("subject")
    comment.add_argument("body_file")
    report = commands.add_parser("issue")
    report.add_argument("title")
    report.add_argument("body_file")
    report.add_argument("--label", default="drift")
    args = parser.parse_args(argv)
    if args.command == "pr-comment":
        print(pr_comment(runner, args.pr, args.subject, args.body_file))
    else:
        print(issue(runner, args.title, args.body_file, args.label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
