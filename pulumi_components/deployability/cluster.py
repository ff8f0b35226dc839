"""Rules of an EKS cluster's first deploy: who may use it, what its objects wait for, what its
controllers may do in the account.

- a volume claim that names no StorageClass waits for a default one, encrypted with a key the
  EBS CSI driver may use;
- a NetworkPolicy is enforced only when the VPC CNI runs its network policy agent;
- every role a workflow assumes against the cluster has an access entry with enough access;
- the AWS Load Balancer Controller may do everything the upstream policy lets it do;
- a node group whose size may vary has an autoscaler that may change it.

Resources are matched the way the engine links them: a role policy names its role by id, a
StorageClass names its key by ARN, an add-on's role trusts one service account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ..identity import ROLE_KINDS
from . import RepositoryView, StackView, repository_rule, stack_rule
from .rules_common import as_list, policy_statements, subject

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KMS_KEY = "aws:kms/key:Key"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
EBS_CSI_ACCOUNT = "kube-system:ebs-csi-controller-sa"
# What EC2 does with the caller's key when the EBS CSI driver creates and attaches an encrypted
# volume (aws-ebs-csi-driver docs/install.md, KMS policy).
EBS_KEY_ACTIONS = (
    "kms:CreateGrant",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:DescribeKey",
)
MIN_VPC_CNI = (1, 14)  # the first VPC CNI with the network policy agent
# EKS access policies that are enough for each kind of workflow role (identity.ROLE_KINDS).
ENOUGH_ACCESS = {
    "DEPLOY": {"AmazonEKSClusterAdminPolicy"},  # installs CRDs, ClusterRoles, webhooks: cluster-wide
    "READONLY": {
        "AmazonEKSViewPolicy",
        "AmazonEKSAdminViewPolicy",
        "AmazonEKSEditPolicy",
        "AmazonEKSAdminPolicy",
        "AmazonEKSClusterAdminPolicy",
    },
}
ROLE_VARIABLE = re.compile(r"vars\.AWS_([A-Z]+)_ROLE_([A-Z0-9_]+)")
UPSTREAM_LOAD_BALANCER_POLICY = (
    Path(__file__).resolve().parent.parent / "upstream" / "aws-load-balancer-controller-iam-policy.json"
)


# --- linking resources ------------------------------------------------------------------------


def refers_to(value: Any, resource: Any) -> bool:
    """Whether `value` (an id, name or ARN input) names `resource`."""
    if not isinstance(value, str) or not value:
        return False
    kind = resource.type.split(":")[-1].lower()
    return value in (
        f"{resource.name}-id",
        resource.inputs.get("name"),
        resource.inputs.get("arn"),
    ) or value.endswith((f":{kind}/{resource.name}", f":role/{resource.name}"))


def trusted_account(role: Any) -> str | None:
    """`namespace:service_account` an IRSA role trusts, if it is one."""
    for statement in policy_statements(role.inputs.get("assumeRolePolicy")):
        for values in (statement.get("Condition") or {}).values():
            for key, value in (values or {}).items():
                if key.endswith(":sub") and isinstance(value, str) and value.startswith("system:serviceaccount:"):
                    return value.removeprefix("system:serviceaccount:")
    return None


def irsa_role(stack: StackView, account: str) -> Any | None:
    return next((r for r in stack.of_type(ROLE) if trusted_account(r) == account), None)


def role_statements(stack: StackView, role: Any) -> list[Mapping[str, Any]]:
    """The Allow statements of a role's inline policies (managed attachments are not readable here)."""
    documents = [p.inputs.get("policy") for p in stack.of_type(ROLE_POLICY) if refers_to(p.inputs.get("role"), role)]
    documents += [i.get("policy") for i in as_list(role.inputs.get("inlinePolicies")) if isinstance(i, Mapping)]
    return [s for d in documents for s in policy_statements(d) if s.get("Effect") == "Allow"]


def _matches(pattern: Any, value: str) -> bool:
    return isinstance(pattern, str) and fnmatchcase(value.lower(), pattern.lower())


def _covers_resource(granted: Any, wanted: str) -> bool:
    return granted == "*" or granted == wanted or (wanted != "*" and _matches(granted, wanted))


def _condition_within(granted: Any, wanted: Any) -> bool:
    """A granted statement's condition is no stricter than `wanted` when each of its tests is in it."""
    wanted = wanted or {}
    for operator, tests in (granted or {}).items():
        for key, value in (tests or {}).items():
            if (wanted.get(operator) or {}).get(key) != value:
                return False
    return True


def allows(statements: Sequence[Mapping[str, Any]], action: str, resource: str, condition: Any = None) -> bool:
    """Whether some statement grants `action` on `resource` under a condition no stricter than `condition`."""
    return any(
        "NotAction" not in s
        and "NotResource" not in s
        and any(_matches(a, action) for a in as_list(s.get("Action")))
        and any(_covers_resource(r, resource) for r in as_list(s.get("Resource")))
        and _condition_within(s.get("Condition"), condition)
        for s in statements
    )


def missing_grants(statements: Sequence[Mapping[str, Any]], reference: Any) -> list[str]:
    """`action on resource` of every Allow in `reference` that `statements` do not grant as broadly."""
    return [
        f"{action} on {resource}"
        for wanted in policy_statements(reference)
        if wanted.get("Effect") == "Allow"
        for action in as_list(wanted.get("Action"))
        for resource in as_list(wanted.get("Resource"))
        if not allows(statements, action, resource, wanted.get("Condition"))
    ]


# --- storage ----------------------------------------------------------------------------------


def _enabled(value: Any) -> bool:
    return value is True or value == "true"


def unclassed_claims(values: Any, path: str = "") -> Iterator[str]:
    """Paths in Helm values of volume claims that name no StorageClass: volumeClaimTemplate(s)
    without `spec.storageClassName`, and enabled `persistence` without a storage class."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "volumeClaimTemplate" and isinstance(value, Mapping):
                if not (value.get("spec") or {}).get("storageClassName"):
                    yield here
            elif key == "volumeClaimTemplates":
                for index, template in enumerate(as_list(value)):
                    if isinstance(template, Mapping) and not (template.get("spec") or {}).get("storageClassName"):
                        yield f"{here}[{index}]"
            elif key == "persistence" and isinstance(value, Mapping) and _enabled(value.get("enabled")):
                if not (value.get("storageClassName") or value.get("storageClass")):
                    yield here
            yield from unclassed_claims(value, here)
    elif isinstance(values, (list, tuple)):
        for index, item in enumerate(values):
            yield from unclassed_claims(item, f"{path}[{index}]")


def claims_without_class(stack: StackView) -> Iterator[tuple[str, str]]:
    """(subject, where) of every volume claim in the stack that names no StorageClass."""
    for release in stack.of_type(RELEASE):
        for where in unclassed_claims(release.inputs.get("values") or {}):
            yield subject(release), f"values.{where}"
    for claim in stack.of_type(CLAIM):
        if not (claim.inputs.get("spec") or {}).get("storageClassName"):
            yield subject(claim), "spec"
    for stateful in stack.of_type(STATEFUL_SET):
        templates = (stateful.inputs.get("spec") or {}).get("volumeClaimTemplates")
        for where in unclassed_claims({"volumeClaimTemplates": templates}):
            yield subject(stateful), f"spec.{where}"


def default_storage_classes(stack: StackView) -> list[Any]:
    return [
        c
        for c in stack.of_type(STORAGE_CLASS)
        if ((c.inputs.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
    ]


@stack_rule(
    "volume-claims-have-a-default-storage-class",
    "A volume claim that names no StorageClass binds only when the cluster has a default one; "
    "current EKS versions create none, so the claim stays Pending and an atomic release rolls back.",
)
def volume_claims_have_a_default_storage_class(stack: StackView):
    if default_storage_classes(stack):
        return
    for where, path in claims_without_class(stack):
        yield where, f"{path} claims a volume without storageClassName and the stack creates no default StorageClass"


def _key_delegates_to_iam(key: Any, role: Any) -> bool:
    """Whether the key policy lets IAM policies grant its use (the account root may use it), or
    names the role itself."""
    for statement in policy_statements(key.inputs.get("policy")):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        principal = statement.get("Principal")
        principals = as_list(principal.get("AWS") if isinstance(principal, Mapping) else principal)
        trusted = any(
            isinstance(p, str) and (p.endswith(":root") or re.fullmatch(r"\d{12}", p) or refers_to(p, role))
            for p in principals
        )
        if trusted and any(_matches(a, "kms:CreateGrant") for a in as_list(statement.get("Action"))):
            return True
    return False


@stack_rule(
    "storage-class-key-usable-by-ebs-csi",
    "An EBS StorageClass with a customer-managed key provisions volumes only when the EBS CSI "
    "driver's role may use that key (grants for EC2 and data keys) and the key policy allows it.",
)
def storage_class_key_usable_by_ebs_csi(stack: StackView):
    for storage in stack.of_type(STORAGE_CLASS):
        parameters = storage.inputs.get("parameters") or {}
        if storage.inputs.get("provisioner") != "ebs.csi.aws.com":
            continue
        if parameters.get("encrypted") != "true":
            yield subject(storage), 'EBS volumes must be encrypted (parameters.encrypted: "true")'
            continue
        key_arn = parameters.get("kmsKeyId")
        if not key_arn:
            yield subject(storage), "encrypted with the AWS-managed key; name the cluster's key in parameters.kmsKeyId"
            continue
        key = next((k for k in stack.of_type(KMS_KEY) if refers_to(key_arn, k)), None)
        role = irsa_role(stack, EBS_CSI_ACCOUNT)
        if key is None:
            yield subject(storage), f"kmsKeyId {key_arn} is no key of this stack; nothing shows the driver may use it"
            continue
        if role is None:
            yield subject(storage), f"no IAM role trusts {EBS_CSI_ACCOUNT}, so no driver can use {key_arn}"
            continue
        statements = role_statements(stack, role)
        grant_condition = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        missing = [a for a in EBS_KEY_ACTIONS if not allows(statements, a, key_arn, grant_condition)]
        if missing:
            yield subject(role), f"the EBS CSI role may not {', '.join(missing)} on {key_arn}"
        if not _key_delegates_to_iam(key, role):
            yield subject(key), "the key policy neither lets IAM policies grant its use nor names the EBS CSI role"


# --- network policies -------------------------------------------------------------------------


def _network_policy_agent(addon: Any) -> bool:
    config = addon.inputs.get("configurationValues")
    try:
        values = json.loads(config) if isinstance(config, str) else config or {}
    except ValueError:
        return False
    return isinstance(values, Mapping) and _enabled(values.get("enableNetworkPolicy"))


def _version(text: Any) -> tuple[int, int]:
    match = re.match(r"^v?(\d+)\.(\d+)", str(text or ""))
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@stack_rule(
    "network-policies-are-enforced",
    "EKS enforces NetworkPolicies only through the VPC CNI's network policy agent (vpc-cni 1.14 or "
    "later with enableNetworkPolicy); without it every policy is accepted and ignored.",
)
def network_policies_are_enforced(stack: StackView):
    policies = stack.of_type(NETWORK_POLICY)
    if not policies or not stack.of_type(CLUSTER):
        return
    cni = [a for a in stack.of_type(ADDON) if a.inputs.get("addonName") == "vpc-cni"]
    names = ", ".join(p.name for p in policies)
    if not cni:
        yield "stack", f"NetworkPolicies ({names}) but no vpc-cni add-on to enforce them"
    for addon in cni:
        if not _network_policy_agent(addon):
            yield subject(addon), f"NetworkPolicies ({names}) go unenforced: enableNetworkPolicy is not set"
        if _version(addon.inputs.get("addonVersion")) < MIN_VPC_CNI:
            yield subject(addon), f"vpc-cni {addon.inputs.get('addonVersion')} has no network policy agent (1.14+)"


# --- access -----------------------------------------------------------------------------------


def _policy_name(arn: Any) -> str:
    return str(arn or "").rsplit("/", 1)[-1]


def access_of(stack: StackView, role_name: str) -> list[tuple[str, str]]:
    """(access policy name, scope type) of every association of the role's access entry; empty
    when the role has no access entry."""
    suffix = f":role/{role_name}"
    if not any(str(e.inputs.get("principalArn", "")).endswith(suffix) for e in stack.of_type(ACCESS_ENTRY)):
        return []
    return [
        (_policy_name(a.inputs.get("policyArn")), (a.inputs.get("accessScope") or {}).get("type", ""))
        for a in stack.of_type(ACCESS_POLICY)
        if str(a.inputs.get("principalArn", "")).endswith(suffix)
    ] or [("", "")]


@repository_rule(
    "workflow-roles-have-access-entries",
    "With access-entry authentication, a role a workflow assumes is Unauthorized on the cluster "
    "unless it has an access entry with an access policy that covers what the job does.",
)
def workflow_roles_have_access_entries(repo: RepositoryView):
    workflows = repo.root / ".github" / "workflows"
    for path in sorted(workflows.glob("*.y*ml")) if workflows.is_dir() else []:
        seen = set()
        for match in ROLE_VARIABLE.finditer(path.read_text()):
            kind, env = match.group(1), match.group(2).lower()
            stack = repo.stacks.get(env)
            if (kind, env) in seen or stack is None or not stack.of_type(CLUSTER):
                continue
            seen.add((kind, env))
            where = str(path.relative_to(repo.root))
            if kind not in ROLE_KINDS:
                yield where, f"assumes {match.group(0)}, a kind of role identity.ROLE_KINDS does not name"
                continue
            role_name = ROLE_KINDS[kind](stack.service, env)
            granted = access_of(stack, role_name)
            enough = [(p, scope) for p, scope in granted if p in ENOUGH_ACCESS[kind]]
            if not granted:
                yield where, f"assumes {role_name} ({match.group(0)}), which has no access entry on the {env} cluster"
            elif not enough or (kind == "DEPLOY" and not any(scope == "cluster" for _, scope in enough)):
                needed = " or ".join(sorted(ENOUGH_ACCESS[kind]))
                yield where, f"{role_name} has {granted} on the {env} cluster; it needs {needed} (cluster scope)"


# --- controllers' IAM -------------------------------------------------------------------------


def _release(stack: StackView, chart: str) -> Any | None:
    return next((r for r in stack.of_type(RELEASE) if r.inputs.get("chart") == chart), None)


@stack_rule(
    "load-balancer-controller-policy-covers-upstream",
    "The AWS Load Balancer Controller calls every action of its upstream IAM policy (opening node "
    "security groups to the ALB among them); a role that grants less fails at reconcile time.",
)
def load_balancer_controller_policy_covers_upstream(stack: StackView):
    release = _release(stack, "aws-load-balancer-controller")
    if release is None:
        return
    account = ((release.inputs.get("values") or {}).get("serviceAccount") or {}).get("name")
    role = irsa_role(stack, f"kube-system:{account or 'aws-load-balancer-controller'}")
    if role is None:
        yield subject(release), "no IAM role trusts the controller's service account"
        return
    missing = missing_grants(role_statements(stack, role), UPSTREAM_LOAD_BALANCER_POLICY.read_text())
    if missing:
        shown = "; ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        yield subject(role), f"grants less than the upstream policy: {shown}"


@stack_rule(
    "nodes-autoscale-when-the-plan-allows",
    "A node group's maxSize is reached only when an autoscaler changes its desired size; without "
    "one, HPA scale-outs and blue-green previews stay Pending at the desired size.",
)
def nodes_autoscale_when_the_plan_allows(stack: StackView):
    for group in stack.of_type(NODE_GROUP):
        scaling = group.inputs.get("scalingConfig") or {}
        if (scaling.get("maxSize") or 0) <= (scaling.get("minSize") or 0):
            continue
        release = _release(stack, "cluster-autoscaler")
        values = (release.inputs.get("values") or {}) if release else {}
        if release is None or (values.get("autoDiscovery") or {}).get("clusterName") != group.inputs.get("clusterName"):
            grow = f"{scaling.get('minSize')} to {scaling.get('maxSize')}"
            cluster = group.inputs.get("clusterName")
            yield subject(group), f"may grow from {grow} nodes but no cluster-autoscaler discovers cluster {cluster}"
            continue
        account = ((values.get("rbac") or {}).get("serviceAccount") or {}).get("name") or "cluster-autoscaler"
        role = irsa_role(stack, f"kube-system:{account}")
        statements = role_statements(stack, role) if role else []
        owned = f"aws:ResourceTag/k8s.io/cluster-autoscaler/{group.inputs.get('clusterName')}"
        condition = {"StringEquals": {owned: "owned"}}
        missing = [
            action
            for action in ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup")
            if not allows(statements, action, "*", condition)
        ]
        if role is None or missing:
            cannot = ", ".join(missing) or "scale"
            yield subject(release), f"the autoscaler's role (kube-system:{account}) may not {cannot}"
