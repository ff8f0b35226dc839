"""checklists-tick-only-what-exists: a ticked line whose fact is gone from the production stack or
the repository, or that no fact covers, is reported; the generated checklists pass as they are."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from conftest import render

from pulumi_components.deployability import RepositoryView, StackView, check_repository, stack_view
from pulumi_components.testing import RELEASE_IMAGE, CapturedResource, run_program, stack_config

RULE = ["checklists-tick-only-what-exists"]


@pytest.fixture(scope="module")
def repo_and_stack(tmp_path_factory):
    repo = render(
        tmp_path_factory.mktemp("checklists") / "svc",
        platform="aws-eks",
        database="postgres",
        monitoring_level="comprehensive",
        deployment_strategy="canary",
        service_slug="svc",
    )
    config = stack_config(repo / "Pulumi.prod.yaml") | {"svc:image": RELEASE_IMAGE}
    run = run_program(repo / "infra", project="svc", stack="prod", config=config)
    return repo, stack_view("svc", "prod", run, config)


def findings(repo, stack):
    return [f.message for f in check_repository(RepositoryView(repo, {"prod": stack}), only=RULE)]


def changed(stack: StackView, type_: str, **inputs) -> StackView:
    resources = [
        CapturedResource(r.type, r.name, {**r.inputs, **inputs}) if r.type == type_ else r for r in stack.resources
    ]
    return dataclasses.replace(stack, resources=tuple(resources))


def test_the_generated_checklists_tick_only_what_the_stack_builds(repo_and_stack):
    repo, stack = repo_and_stack
    assert findings(repo, stack) == []
    ticked = (repo / "docs" / "production-readiness.md").read_text()
    assert "- [x] Distributed tracing:" in ticked  # comprehensive: Tempo, the collector and a sender


def test_a_tick_whose_resource_changed_is_reported(repo_and_stack):
    repo, stack = repo_and_stack
    (message,) = findings(repo, changed(stack, "aws:rds/instance:Instance", storageEncrypted=False))
    assert message.startswith("ticked but a database instance has no CMK") and "Database storage" in message
    without_tempo = dataclasses.replace(
        stack, resources=tuple(r for r in stack.resources if r.inputs.get("chart") != "tempo")
    )
    (message,) = findings(repo, without_tempo)
    assert "no tempo release" in message and "Distributed tracing" in message


def test_a_tick_no_fact_covers_is_reported(repo_and_stack, tmp_path):
    repo, stack = repo_and_stack
    copy = tmp_path / "svc"
    shutil.copytree(repo, copy)
    checklist = copy / "docs" / "security-checklist.md"
    checklist.write_text(checklist.read_text() + "- [x] Penetration tested every quarter.\n")
    (message,) = findings(copy, stack)
    assert message.startswith("ticked with no fact to check it against: 'Penetration tested")


def test_edge_ticks_follow_the_edge_rules(repo_and_stack):
    repo, stack = repo_and_stack
    without_acl = dataclasses.replace(
        stack, resources=tuple(r for r in stack.resources if r.type != "aws:wafv2/webAcl:WebAcl")
    )
    messages = findings(repo, without_acl)
    assert any("WAF on the load balancer" in m and "no aws:wafv2/webAcl:WebAcl" in m for m in messages)
    assert any("Rate limiting on the public endpoint" in m for m in messages)
    without_bucket = dataclasses.replace(
        stack, resources=tuple(r for r in stack.resources if r.type != "aws:s3/bucket:Bucket")
    )
    assert any("Load balancer access logs" in m for m in findings(repo, without_bucket))
    no_redirect = dataclasses.replace(
        stack,
        resources=tuple(r for r in stack.resources if r.type != "aws:acm/certificateValidation:CertificateValidation"),
    )
    assert any("TLS on every external endpoint" in m for m in findings(repo, no_redirect))
