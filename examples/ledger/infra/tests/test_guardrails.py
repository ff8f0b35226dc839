"""The guardrails (infra/components/guardrails.py) over every stack's resources.

The same rules run in the CrossGuard pack (policy/) during `pulumi preview`;
here they run over what the program registers under mocks.
"""

import pytest
from components.guardrails import RULES, STACK_RULES, Context, Resource, check_resources


def test_every_stack_passes_the_guardrails(run, context):
    violations = check_resources(run.resources, context)
    assert not violations, "\n".join(map(str, violations))


def test_relaxations_are_only_the_ones_the_rules_know(plan):
    known = {rule.relaxation for rule in (*RULES, *STACK_RULES) if rule.relaxation}
    # "single-replica" is honoured by the workload's own checks rather than an infrastructure rule.
    assert set(plan.relaxations) - known <= {"single-replica"}


def test_without_its_relaxations_a_stack_fails_only_the_relaxed_rules(run, plan):
    if not plan.relaxations:
        pytest.skip("production: nothing is relaxed")
    strict = Context(frozenset(), Context.from_plan(plan).tier)
    waived = {v.rule for v in check_resources(run.resources, strict)}
    relaxed_rules = {r.name for r in (*RULES, *STACK_RULES) if r.relaxation in plan.relaxations}
    # A relaxation may be unused (a single NAT gateway needs a network), never stretched.
    assert waived <= relaxed_rules
    if plan.database is not None and "no-deletion-protection" in plan.relaxations:
        assert "rds-deletion-protection" in waived  # dev really does use what it names


def test_a_weakened_database_is_caught(run, context):
    database = [r for r in run.of_type("aws:rds/instance:Instance") if not r.inputs.get("replicateSourceDb")]
    if not database:
        pytest.skip("no database in this stack")
    weak = dict(database[0].inputs, deletionProtection=False, backupRetentionPeriod=0, publiclyAccessible=True)
    rules = {v.rule for v in check_resources([Resource(database[0].type, database[0].name, weak)], context)}
    assert {"rds-backup-retention", "rds-not-public"} <= rules
    assert ("rds-deletion-protection" in rules) == ("no-deletion-protection" not in context.relaxations)
