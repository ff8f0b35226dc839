"""KubernetesCluster: EKS with a private API, encrypted secrets and hardened managed nodes.

Where EKS (and Pulumi's `eks` package) defaults are weak this component
decides otherwise: the API endpoint is private unless CIDRs are named; secrets
are envelope-encrypted with a rotating KMS key; every control-plane log type
is on; authentication uses access entries only, one per principal this
program names (the deploy role, the preview role, the people in
`cluster_admins`); nodes require IMDSv2 with a hop limit of 1 (pods get AWS
credentials through IRSA, never from the node) and boot from encrypted
volumes. The core add-ons are pinned per Kubernetes version so an upgrade is a
reviewed change; the VPC CNI enforces NetworkPolicies; persistent volumes are
encrypted with the cluster's own key; the Cluster Autoscaler's IAM role is
created here, next to the node group it scales.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._base import (
    LOG_RETENTION_DAYS,
    ComponentArgsError,
    child,
    merge_tags,
    policy_json,
    require,
    service_trust,
    type_token,
    web_identity_trust,
)
from .identity import role_arn
from .kms import kms_key
from .reliability.plan import ClusterPlan, RolloutPlan, WorkloadPlan
from .reliability.vocabulary import DeploymentStrategy

# EKS add-on versions per Kubernetes version, pinned; `aws eks describe-addon-versions
# --kubernetes-version <v> --addon-name <name>` lists newer builds.
ADDON_VERSIONS: dict[str, dict[str, str]] = {
    "1.34": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "kube-proxy": "v1.34.0-eksbuild.4",
        "coredns": "v1.12.4-eksbuild.1",
        "aws-ebs-csi-driver": "v1.54.0-eksbuild.1",
    },
    "1.33": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "kube-proxy": "v1.33.3-eksbuild.10",
        "coredns": "v1.12.4-eksbuild.1",
        "aws-ebs-csi-driver": "v1.54.0-eksbuild.1",
    },
}
# The Cluster Autoscaler image per Kubernetes minor: upstream releases one line per minor and
# supports only the matching one (kubernetes/autoscaler, cluster-autoscaler-<version> tags).
CLUSTER_AUTOSCALER_IMAGE_TAGS: dict[str, str] = {"1.34": "v1.34.5", "1.33": "v1.33.6"}
CLUSTER_AUTOSCALER_ACCOUNT = "cluster-autoscaler"  # kube-system/<this> assumes the autoscaler's role
# The VPC CNI enforces NetworkPolicies from this release on (EKS user guide, "Restrict Pod network
# traffic with Kubernetes network policies": VPC CNI 1.14 or later, Linux kernel 5.10+ (AL2023: 6.1)).
NETWORK_POLICY_MIN_VPC_CNI = (1, 14)
# EKS access policies (`aws eks list-access-policies`).
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
# View of every object, Secrets included: Helm keeps its releases in Secrets, and `pulumi preview
# --refresh` reads each object the stack manages. AmazonEKSViewPolicy excludes Secrets.
PREVIEW_POLICY = "AmazonEKSAdminViewPolicy"
_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

# Instance families a managed node group may use; Graviton families end in "g".
NODE_FAMILIES = (
    "t3",
    "t3a",
    "t4g",
    "m5",
    "m5a",
    "m6i",
    "m6a",
    "m6g",
    "m7i",
    "m7a",
    "m7g",
    "m8g",
    "c5",
    "c6i",
    "c6a",
    "c6g",
    "c7i",
    "c7a",
    "c7g",
    "r5",
    "r6i",
    "r6a",
    "r6g",
    "r7i",
    "r7a",
    "r7g",
    "r8g",
)
NODE_SIZES = ("medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge")
_INSTANCE_TYPE = re.compile(r"^([a-z0-9]+)\.([a-z0-9]+)$")
# vCPUs of each size; `medium` is 2 in the burstable t families and 1 in the others (counted as 1).
SIZE_VCPUS = {
    "medium": 1,
    "large": 2,
    "xlarge": 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "12xlarge": 48,
    "16xlarge": 64,
    "24xlarge": 96,
}
# The share of each node's CPU left to the service's pods: the rest is the kubelet's reservation,
# the DaemonSets (CNI, kube-proxy, EBS CSI, node exporter, log agent) and the platform's pods.
SERVICE_CPU_SHARE = 0.5


def _arm(instance_type: str) -> bool:
    return instance_type.split(".")[0].endswith("g")


def vpc_cni_version(version: str) -> tuple[int, int]:
    """(major, minor) of an add-on version such as `v1.20.4-eksbuild.1`."""
    match = re.match(r"^v(\d+)\.(\d+)\.", version)
    if not match:
        raise ComponentArgsError(f"vpc-cni add-on version {version!r} is not of the form v<major>.<minor>.<patch>")
    return int(match.group(1)), int(match.group(2))


def _millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def peak_service_pods(workload: WorkloadPlan, rollout: RolloutPlan) -> int:
    """The most pods of the service at once: the HPA at its maximum during a release. Blue-green
    runs a full preview beside the active pods; rolling and canary surge by max_surge_percent."""
    if rollout.strategy == DeploymentStrategy.BLUE_GREEN:
        return 2 * workload.replicas_max
    return workload.replicas_max + math.ceil(workload.replicas_max * rollout.max_surge_percent / 100)


def check_node_capacity(cluster: ClusterPlan, workload: WorkloadPlan, rollout: RolloutPlan) -> None:
    """The service's peak fits in node_max nodes (CPU requests; the Cluster Autoscaler adds nodes
    up to node_max and no further)."""
    vcpus = min(SIZE_VCPUS.get(t.split(".")[-1], 0) for t in cluster.node_instance_types)
    room = int(cluster.node_max * vcpus * 1000 * SERVICE_CPU_SHARE)
    pods = peak_service_pods(workload, rollout)
    wanted = pods * _millicores(workload.cpu_request)
    require(
        wanted <= room,
        f"cluster.node_max: {cluster.node_max} nodes of {', '.join(cluster.node_instance_types)} leave {room}m CPU "
        f"to the service, and its peak ({pods} pods of {workload.cpu_request} during a {rollout.strategy} release "
        f"at the HPA maximum) requests {wanted}m; raise node_max or choose larger nodes",
    )


@dataclass
class ClusterAccess:
    """Who may use the cluster's API, each through its own access entry.

    The pipelines' roles are named by `identity` (the bootstrap program creates them); people are
    IAM role or user ARNs from stack config (`<service>:cluster_admins`)."""

    deploy_role: str  # role name: `pulumi up` in deploy and rollback; cluster admin
    preview_role: str  # role name: `pulumi preview` and drift detection; view only
    admins: Sequence[str] = ()  # ARNs of people's roles or users; cluster admin

    def validate(self) -> None:
        require(
            bool(self.deploy_role) and bool(self.preview_role), "access: deploy and preview role names are required"
        )
        require(
            isinstance(self.admins, (list, tuple)),
            f"cluster_admins must be a list of IAM role or user ARNs; got {self.admins!r}",
        )
        for arn in self.admins:
            require(
                isinstance(arn, str) and bool(_PRINCIPAL.match(arn)),
                f"cluster_admins: {arn!r} is not an IAM role or user ARN "
                "(arn:aws:iam::<account>:role/<name> or arn:aws:iam::<account>:user/<name>)",
            )
            require(
                arn.split(":", 5)[5] not in (f"role/{self.deploy_role}", f"role/{self.preview_role}"),
                f"cluster_admins: {arn} is a pipeline role; it already has its access entry",
            )
        keys = [key for key, *_ in self.entries()]
        require(len(set(keys)) == len(keys), "cluster_admins: two principals share a name; list each person once")

    def entries(self) -> list[tuple[str, str | None, str, str]]:
        """(key, role name, ARN (for people), access policy) of every access entry."""
        grants: list[tuple[str, str | None, str, str]] = [
            ("deploy", self.deploy_role, "", CLUSTER_ADMIN_POLICY),
            ("preview", self.preview_role, "", PREVIEW_POLICY),
        ]
        for arn in self.admins:
            kind, _, principal = arn.split(":", 5)[5].partition("/")
            key = re.sub(r"[^A-Za-z0-9-]", "-", principal.rsplit("/", 1)[-1])
            grants.append((f"admin-{kind}-{key}", None, arn, CLUSTER_ADMIN_POLICY))
        return grants


@dataclass(frozen=True)
class NodeAutoscaling:
    """What the Cluster Autoscaler's chart needs from the cluster: its IRSA role and image tag."""

    role_arn: pulumi.Input[str]
    image_tag: str


@dataclass
class KubernetesClusterArgs:
    name: str  # the cluster name, e.g. "payments-prod"
    region: str
    plan: ClusterPlan
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    log_retention_days: int
    access: ClusterAccess | None = None  # required to build the cluster; preflight checks the plan alone
    tags: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        plan = self.plan
        if self.access is not None:
            self.access.validate()
        require(
            plan.kubernetes_version in ADDON_VERSIONS and plan.kubernetes_version in CLUSTER_AUTOSCALER_IMAGE_TAGS,
            f"cluster.kubernetes_version: {plan.kubernetes_version!r} has no pinned add-ons; "
            f"accepted: {', '.join(sorted(ADDON_VERSIONS))}",
        )
        require(
            vpc_cni_version(ADDON_VERSIONS[plan.kubernetes_version]["vpc-cni"]) >= NETWORK_POLICY_MIN_VPC_CNI,
            "vpc-cni add-on must be 1.14 or later to enforce NetworkPolicies",
        )
        require(bool(plan.node_instance_types), "cluster.node_instance_types must name at least one instance type")
        for instance_type in plan.node_instance_types:
            match = _INSTANCE_TYPE.match(instance_type)
            if not match or match.group(1) not in NODE_FAMILIES or match.group(2) not in NODE_SIZES:
                raise ComponentArgsError(
                    f"cluster.node_instance_types: unknown instance type {instance_type!r}; use a family of "
                    f"{', '.join(NODE_FAMILIES)} with a size of {', '.join(NODE_SIZES)}"
                )
        require(
            len({_arm(t) for t in plan.node_instance_types}) == 1,
            "cluster.node_instance_types must all be Graviton (arm64) or all x86_64",
        )
        require(
            1 <= plan.node_min <= plan.node_desired <= plan.node_max,
            f"cluster.node_min/node_desired/node_max must satisfy 1 <= min <= desired <= max; "
            f"got {plan.node_min}/{plan.node_desired}/{plan.node_max}",
        )
        require(20 <= plan.node_disk_gb <= 16384, f"cluster.node_disk_gb must be 20 to 16384; got {plan.node_disk_gb}")
        for cidr in plan.public_access_cidrs:
            try:
                network = ipaddress.ip_network(cidr)
            except ValueError:
                raise ComponentArgsError(f"cluster.public_access_cidrs: {cidr!r} is not a CIDR") from None
            require(network.prefixlen > 0, "cluster.public_access_cidrs must not open the API to the whole internet")
        require(len(self.private_subnet_ids) >= 2, "network.az_count: EKS needs subnets in at least two AZs")
        require(
            self.log_retention_days in LOG_RETENTION_DAYS,
            f"log_retention_days must be one of {LOG_RETENTION_DAYS}; got {self.log_retention_days}",
        )


class KubernetesCluster(pulumi.ComponentResource):
    """Exposes what workloads and add-ons build on: `kubeconfig` (a secret, for a
    Kubernetes provider), `oidc_provider` and `irsa_role()` for pod IAM roles,
    `workload_security_group` (the database admits it), `node_role`."""

    cluster: aws.eks.Cluster
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_provider: aws.iam.OpenIdConnectProvider
    node_role: aws.iam.Role
    workload_security_group: aws.ec2.SecurityGroup
    node_group: aws.eks.NodeGroup
    volume_key: aws.kms.Key  # encrypts persistent volumes (the default StorageClass names it)
    autoscaling: NodeAutoscaling | None  # None when the plan fixes the node count

    def __init__(self, name: str, args: KubernetesClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        require(args.access is not None, "access: name the deploy and preview roles (and cluster_admins)")
        super().__init__(type_token("KubernetesCluster"), name, None, opts)
        self._name, self._args = name, args
        plan, tags = args.plan, args.tags

        self.key = kms_key(
            f"{args.name}-eks",
            description=f"Encrypts Kubernetes secrets and control-plane logs of {args.name}",
            parent=self,
            tags=tags,
            service_principals=[f"logs.{args.region}.amazonaws.com"],
        )
        # EKS writes here; creating the group first sets its retention and key.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=self.key.arn,
            tags=tags,
            opts=child(self),
        )
        role = self._cluster_role(name, args)
        public = bool(plan.public_access_cidrs)
        self.cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=args.name,
            version=plan.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.private_subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(plan.public_access_cidrs) if public else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.key.arn)
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # No implicit entry for the creator: every principal has an explicit one below. The
                # creator is usually the deploy role, and EKS refuses a second entry for a principal
                # that already has one (ResourceInUseException); an implicit entry would also belong
                # to whoever ran the first `pulumi up`, which this program cannot name or revoke.
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=plan.deletion_protection,
            tags=merge_tags(tags, Name=args.name),
            # EKS fixes the creator's entry at creation: changing it would replace a running cluster,
            # so a cluster created before explicit entries keeps its own (CHANGELOG says how to adopt it).
            opts=child(
                self, depends_on=[log_group], ignore_changes=["accessConfig.bootstrapClusterCreatorAdminPermissions"]
            ),
        )
        self.cluster_name = self.cluster.name
        issuer = self.cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"])
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=tags,
            opts=child(self),
        )
        self.oidc_issuer = issuer.apply(lambda url: url.removeprefix("https://"))

        self.workload_security_group = aws.ec2.SecurityGroup(
            f"{name}-workload-sg",
            name=f"{args.name}-workload",
            description=f"Nodes and pods of {args.name}; databases admit this group",
            vpc_id=args.vpc_id,
            tags=merge_tags(tags, Name=f"{args.name}-workload"),
            opts=child(self),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-workload-egress",
            security_group_id=self.workload_security_group.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="Image pulls and AWS APIs through NAT and VPC endpoints",
            tags=tags,
            opts=child(self),
        )

        self.access_entries = self._access_entries(name, args.access)
        self.volume_key = kms_key(
            f"{args.name}-volumes",
            description=f"Encrypts the persistent volumes of {args.name}",
            parent=self,
            tags=tags,
        )
        addons = self._addons_before_nodes(name, args)
        self.node_role = self._node_role(name, args)
        self.node_group = self._node_group(name, args, addons)
        self._addons_after_nodes(name, args)
        self.autoscaling = self._autoscaling(args) if plan.node_max > plan.node_min else None
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data).apply(
                lambda a: kubeconfig(a[0], a[1], a[2], args.region)
            )
        )
        self.register_outputs(
            {
                "cluster_name": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_provider_arn": self.oidc_provider.arn,
                "node_role_arn": self.node_role.arn,
                "workload_security_group_id": self.workload_security_group.id,
                "volume_key_arn": self.volume_key.arn,
            }
        )

    def irsa_role(
        self,
        role_name: str,
        *,
        namespace: str,
        service_account: str,
        managed_policy_arns: Sequence[str] = (),
        policy: pulumi.Input[str] | None = None,
    ) -> aws.iam.Role:
        """An IAM role that only `namespace/service_account` of this cluster can assume (IRSA)."""
        trust = pulumi.Output.all(self.oidc_provider.arn, self.oidc_issuer).apply(
            lambda a: web_identity_trust(a[0], a[1], namespace, service_account)
        )
        role = aws.iam.Role(
            f"{self._name}-{role_name}",
            assume_role_policy=trust,
            tags=self._args.tags,
            opts=child(self),
        )
        for index, arn in enumerate(managed_policy_arns):
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{role_name}-{index}", role=role.name, policy_arn=arn, opts=child(self)
            )
        if policy is not None:
            aws.iam.RolePolicy(f"{self._name}-{role_name}-inline", role=role.id, policy=policy, opts=child(self))
        return role

    def _access_entries(self, name: str, access: ClusterAccess) -> list[aws.eks.AccessPolicyAssociation]:
        """One access entry per principal, each with one cluster-wide access policy. The deploy role
        installs cluster-scoped objects (CRDs, ClusterRoles, webhooks, the StorageClass), so a
        namespace-scoped policy cannot deploy this stack."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        associations = []
        for key, role_name, arn, policy in access.entries():
            principal = (
                pulumi.Output.all(account, partition).apply(lambda a, r=role_name: role_arn(a[0], r, a[1]))
                if role_name
                else arn
            )
            entry = aws.eks.AccessEntry(
                f"{name}-access-{key}",
                cluster_name=self.cluster.name,
                principal_arn=principal,
                type="STANDARD",
                tags=self._args.tags,
                opts=child(self),
            )
            associations.append(
                aws.eks.AccessPolicyAssociation(
                    f"{name}-access-{key}",
                    cluster_name=self.cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=partition.apply(lambda p, n=policy: f"arn:{p}:eks::aws:cluster-access-policy/{n}"),
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=child(self),
                )
            )
        return associations

    def _autoscaling(self, args: KubernetesClusterArgs) -> NodeAutoscaling:
        role = self.irsa_role(
            "cluster-autoscaler",
            namespace="kube-system",
            service_account=CLUSTER_AUTOSCALER_ACCOUNT,
            policy=cluster_autoscaler_policy(args.name),
        )
        return NodeAutoscaling(role_arn=role.arn, image_tag=CLUSTER_AUTOSCALER_IMAGE_TAGS[args.plan.kubernetes_version])

    def _cluster_role(self, name: str, args: KubernetesClusterArgs) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "eks.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                    }
                ]
            ),
            tags=args.tags,
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-cluster-kms",
            role=role.id,
            policy=self.key.arn.apply(
                lambda arn: policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"],
                            "Resource": arn,
                        }
                    ]
                )
            ),
            opts=child(self),
        )
        return role

    def _node_role(self, name: str, args: KubernetesClusterArgs) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=service_trust("ec2.amazonaws.com"),
            tags=args.tags,
            opts=child(self),
        )
        # The CNI policy is not here: vpc-cni gets it through IRSA, so pods never inherit it.
        for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"):
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=child(self),
            )
        return role

    def _addon(self, name: str, addon: str, **kwargs) -> aws.eks.Addon:
        args = self._args
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            addon_version=ADDON_VERSIONS[args.plan.kubernetes_version][addon],
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            tags=args.tags,
            **kwargs,
        )

    def _addons_before_nodes(self, name: str, args: KubernetesClusterArgs) -> list[aws.eks.Addon]:
        cni_role = self.irsa_role(
            "vpc-cni",
            namespace="kube-system",
            service_account="aws-node",
            managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"],
        )
        return [
            self._addon(
                name,
                "vpc-cni",
                service_account_role_arn=cni_role.arn,
                # The network policy agent: without it NetworkPolicies are accepted and not enforced.
                configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
                opts=child(self),
            ),
            self._addon(name, "kube-proxy", opts=child(self)),
        ]

    def _addons_after_nodes(self, name: str, args: KubernetesClusterArgs) -> None:
        # CoreDNS and the EBS CSI controller are Deployments: they need nodes to schedule on.
        after = child(self, depends_on=[self.node_group])
        self._addon(name, "coredns", opts=after)
        ebs_role = self.irsa_role(
            "ebs-csi",
            namespace="kube-system",
            service_account="ebs-csi-controller-sa",
            managed_policy_arns=["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"],
            policy=self.volume_key.arn.apply(ebs_csi_key_policy),
        )
        self._addon(name, "aws-ebs-csi-driver", service_account_role_arn=ebs_role.arn, opts=after)

    def _node_group(self, name: str, args: KubernetesClusterArgs, addons: list[aws.eks.Addon]) -> aws.eks.NodeGroup:
        plan, tags = args.plan, args.tags
        template = aws.ec2.LaunchTemplate(
            f"{name}-nodes-lt",
            name_prefix=f"{args.name}-nodes-",
            description=f"Hardened nodes of {args.name}",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=plan.node_disk_gb,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            # Naming security groups here replaces EKS's own, so the cluster group is named too.
            vpc_security_group_ids=[
                self.cluster.vpc_config.cluster_security_group_id,
                self.workload_security_group.id,
            ],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags=merge_tags(tags, Name=f"{args.name}-node")
                )
                for kind in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            tags=tags,
            opts=child(self),
        )
        arm = _arm(plan.node_instance_types[0])
        return aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_group_name_prefix=f"{args.name}-",
            node_role_arn=self.node_role.arn,
            subnet_ids=list(args.private_subnet_ids),
            instance_types=list(plan.node_instance_types),
            ami_type="AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=plan.node_min, desired_size=plan.node_desired, max_size=plan.node_max
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels={"groundwork/pool": "general"},
            tags=merge_tags(tags, Name=f"{args.name}-nodes"),
            # The autoscaler owns the current size once the group exists.
            opts=child(self, depends_on=addons, ignore_changes=["scalingConfig.desiredSize"]),
        )


def ebs_csi_key_policy(key_arn: str) -> str:
    """What the EBS CSI driver needs to create and attach volumes encrypted with `key_arn`
    (aws-ebs-csi-driver docs/install.md, "Set up driver permissions", KMS policy): grants for
    EC2 to use the key on the volume's behalf, and the data-key operations. The key's policy
    delegates to IAM (`kms.kms_key`), so this policy is what lets the driver use the key."""
    return policy_json(
        [
            {
                "Sid": "GrantsForVolumes",
                "Effect": "Allow",
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": key_arn,
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
            {
                "Sid": "UseKey",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": key_arn,
            },
        ]
    )


def cluster_autoscaler_policy(cluster_name: str) -> str:
    """The Cluster Autoscaler's policy for auto-discovery (kubernetes/autoscaler,
    cluster-autoscaler/cloudprovider/aws/README.md, "Full Cluster Autoscaler Features Policy"),
    with the scaling actions limited by tag as it recommends: EKS tags the Auto Scaling group of
    every managed node group `k8s.io/cluster-autoscaler/<cluster>: owned`."""
    return policy_json(
        [
            {
                "Sid": "Discover",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                    "eks:DescribeNodegroup",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ScaleOwnNodeGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            },
        ]
    )


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (no static credentials)."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
        }
    }
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "users": [{"name": cluster_name, "user": user}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
        }
    )
