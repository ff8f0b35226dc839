"""RestoreTestAccess: what the weekly restore test may do in production's cluster, and nothing more.

The restore test (`.github/workflows/restore-test.yml`, `scripts/restore_test.py`) applies the
release's migrations to its restored copy with the release's own migration pod: it reads the
release's migration Job, creates a one-off Job from it (suspended), the Secret naming the copy
(owned by that Job, so it goes with it), resumes the Job, reads its pod's log and deletes it. Its
role (`identity.restore_test_role_name`, created by the bootstrap program) gets an access entry on
the cluster with no access policy and one Kubernetes group, bound in the service's namespace to a
Role with exactly those verbs: it cannot read a Secret, change the workload or touch another
namespace.

What remains: a Job it creates may run any pod as the service's account, so whoever may assume
the role may act with the service's identity in production (the same as the deploy role, without
the prod environment's approval). The role trusts only this repository's workflows on `main`;
keep `main` protected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ._base import child, require, type_token
from .identity import restore_test_role_name, role_arn

# The verbs scripts/restore_test.py uses (KubeMigrator), by resource.
RULES: tuple[Mapping[str, Any], ...] = (
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "create", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},  # `kubectl logs job/<name>`
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},  # owned by the Job: deleted with it
)


def group_name(service: str) -> str:
    """The Kubernetes group of the restore test's access entry."""
    return f"{service}-restore-test"


@dataclass
class RestoreTestAccessArgs:
    service: str  # the namespace
    cluster_name: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        require(bool(self.service), "service: name the service whose namespace the restore test migrates in")


class RestoreTestAccess(pulumi.ComponentResource):
    """The access entry (`entry`), the Role (`role`) and its RoleBinding (`binding`)."""

    def __init__(self, name: str, args: RestoreTestAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        import pulumi_kubernetes as k8s  # here: the deployability rules read RULES in Lambda repos too

        args.validate()
        super().__init__(type_token("RestoreTestAccess"), name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        group = group_name(args.service)
        self.entry = aws.eks.AccessEntry(
            f"{name}-access-restore-test",
            cluster_name=args.cluster_name,
            principal_arn=pulumi.Output.all(account, partition).apply(
                lambda a: role_arn(a[0], restore_test_role_name(args.service), a[1])
            ),
            type="STANDARD",
            kubernetes_groups=[group],
            tags=dict(args.tags),
            opts=child(self),
        )
        metadata = {
            "name": group,
            "namespace": args.service,
            "labels": {"app.kubernetes.io/part-of": args.service, "purpose": "restore-test"},
        }
        self.role = k8s.rbac.v1.Role(
            f"{name}-restore-test-role", metadata=metadata, rules=[dict(r) for r in RULES], opts=child(self)
        )
        self.binding = k8s.rbac.v1.RoleBinding(
            f"{name}-restore-test-binding",
            metadata=metadata,
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": group},
            subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
            opts=child(self, depends_on=[self.role]),
        )
        self.register_outputs({"group": group})
