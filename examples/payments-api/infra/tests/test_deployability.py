"""The deployability rules (infra/components/deployability/) over every stack and the repository.

The guardrails judge each resource alone; these rules judge what a real AWS
account and a real GitHub judge between them: who may decrypt which key, what
must exist before what, from where each API is reached.
"""

from components.deployability import RepositoryView, check_repository, check_stack, stack_view
from conftest import PROJECT, ROOT, STACKS, stack_file_config, stack_run


def _view(stack):
    return stack_view(PROJECT, stack, stack_run(stack), stack_file_config(stack))


def test_every_stack_would_deploy(stack):
    findings = check_stack(_view(stack))
    assert not findings, "\n".join(map(str, findings))


def test_the_repository_would_deploy():
    findings = check_repository(RepositoryView(ROOT, {stack: _view(stack) for stack in STACKS}))
    assert not findings, "\n".join(map(str, findings))
