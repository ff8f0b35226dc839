"""This platform's infrastructure, one environment per stack: the shared EKS cluster its services
deploy into (`cluster: shared` in their repositories) and the contract it exports to them.

    Network + KubernetesCluster + PlatformAddons + CiRunners (organization-wide)
    + MonitoringStack (set up for tenants)   -> components/platform_cluster.py
    exports: every field of PlatformContract  -> components/reliability/contract.py

Every number comes from the `plan` in Pulumi.<stack>.yaml, which the reliability model wrote.
"""

from pathlib import Path

import pulumi
from components import preflight
from components.ci_runners import bootstrap_api_cidrs, github_repository
from components.platform_cluster import PlatformCluster, PlatformClusterArgs
from components.platform_contract import export_contract
from components.reliability import from_config
from components.reliability.alertmanager import CONFIG_KEYS as ONCALL_CONFIG_KEYS

REPO = Path(__file__).resolve().parent.parent

config = pulumi.Config()
platform = pulumi.get_project()
region = pulumi.Config("aws").require("region")
plan = from_config(config.require_object("plan"))
name = f"{platform}-{plan.name}"
preflight(plan, region, None)  # bad config fails here, naming its key, before any resource exists
# The first `pulumi up` creates the runners, so it runs from an admin's workstation through the API
# opened to that admin's address only (README, "First deploy of an environment").
admin_cidrs = bootstrap_api_cidrs(config.get_object("bootstrap_api_cidrs"))

built = PlatformCluster(
    name,
    PlatformClusterArgs(
        platform=platform,
        plan=plan,
        region=region,
        sla=config.require_float("sla"),
        repository=github_repository(config.require("repository")),
        repo_dir=REPO,
        admins=config.get_object("cluster_admins") or [],
        admin_cidrs=admin_cidrs,
        # `pulumi config set --secret oncall_credential ...`: the platform team's own on-call.
        oncall_credentials={key: config.get_secret(key) for key in ONCALL_CONFIG_KEYS},
        tags=plan.tags,
    ),
)
export_contract(built.contract())
pulumi.export("kubeconfig", built.cluster.kubeconfig)  # a secret output, for the platform team
