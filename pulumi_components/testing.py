"""Run a Pulumi program or component under `pulumi.runtime.set_mocks` and capture
every resource it registers: no CLI, no credentials, no provider plugins.

Shared by this package's tests and by every generated repo's `infra/tests/`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.stack import wait_for_rpcs

ACCOUNT_ID = "123456789012"
# The image a release passes (`--config <service>:image=...`), pinned by digest.
RELEASE_IMAGE = f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/service@sha256:" + "0" * 64


@dataclass
class CapturedResource:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str | None = None
    provider: str | None = None  # the explicit provider reference, if any
    state: dict[str, Any] = field(default_factory=dict)  # what the mock provider answered (ARN, computed outputs)

    def get(self, *path: str, default: Any = None) -> Any:
        value: Any = self.inputs
        for key in path:
            if not isinstance(value, Mapping) or key not in value:
                return default
            value = value[key]
        return value


def _eks_cluster(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    cluster = inputs.get("name", name)
    return {
        "endpoint": f"https://{cluster.upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(b"mock certificate authority").decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{cluster.upper()}"}]}],
        "vpcConfig": {
            **(inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-{cluster}-cluster",
            "vpcId": "vpc-mock",
        },
    }


def _rds_instance(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    identifier = inputs.get("identifier", name)
    address = f"{identifier}.abcdefghijkl.{region}.rds.amazonaws.com"
    secrets = []
    if inputs.get("manageMasterUserPassword"):
        secrets = [{"secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:rds!db-{identifier}-AbCdEf"}]
    return {"address": address, "endpoint": f"{address}:5432", "port": 5432, "masterUserSecrets": secrets}


def _lambda_function(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{inputs.get('name', name)}"
    invoke = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return {"arn": arn, "version": "1", "qualifiedArn": f"{arn}:1", "invokeArn": invoke}


def _lambda_alias(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{inputs.get('functionName')}:{inputs.get('name')}"
    return {"arn": arn, "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"}


def _http_api(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {
        "apiEndpoint": f"https://{name}.execute-api.{region}.amazonaws.com",
        "executionArn": f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{name}",
    }


def _http_stage(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"invokeUrl": f"https://{inputs.get('apiId')}.execute-api.{region}.amazonaws.com/"}


def _certificate(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    domains = [inputs.get("domainName", name), *(inputs.get("subjectAlternativeNames") or [])]
    return {
        "arn": f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{name}",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_0123456789abcdef.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_fedcba9876543210.{name}.acm-validations.aws.",
            }
            for domain in domains
        ],
        "status": "PENDING_VALIDATION",
    }


def _bucket(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    # S3 appends a unique suffix to a prefix; a bucket's id is its name.
    bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}20261130000000000000000001"
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": region}


def _api_domain(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    config = dict(inputs.get("domainNameConfiguration") or {})
    config |= {"targetDomainName": f"d-0123456789.execute-api.{region}.amazonaws.com", "hostedZoneId": "Z1UJRXOUMOOFQ8"}
    return {"domainNameConfiguration": config, "arn": f"arn:aws:apigateway:{region}::/domainnames/{name}"}


# Outputs a real provider computes (they are not inputs, so echoing inputs cannot supply them).
COMPUTED_STATE: dict[str, Callable[[str, dict[str, Any], str], dict[str, Any]]] = {
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:lambda/function:Function": _lambda_function,
    "aws:lambda/alias:Alias": _lambda_alias,
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:apigatewayv2/stage:Stage": _http_stage,
    "aws:ec2/launchTemplate:LaunchTemplate": lambda name, inputs, region: {"latestVersion": 1},
    "aws:acm/certificate:Certificate": _certificate,
    "aws:route53/record:Record": lambda name, inputs, region: {"fqdn": str(inputs.get("name", name)).rstrip(".")},
    "aws:s3/bucket:Bucket": _bucket,
    "aws:apigatewayv2/domainName:DomainName": _api_domain,
    "aws:wafv2/webAcl:WebAcl": lambda name, inputs, region: {
        "arn": f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:regional/webacl/{inputs.get('name', name)}/0123-4567"
    },
    # AppConfig's generated ids (the Data API's resource ARNs and IAM policies name them).
    "aws:appconfig/environment:Environment": lambda name, inputs, region: {"environmentId": f"{name}-envid"},
    "aws:appconfig/configurationProfile:ConfigurationProfile": lambda name, inputs, region: {
        "configurationProfileId": f"{name}-profileid"
    },
    "aws:appconfig/hostedConfigurationVersion:HostedConfigurationVersion": lambda name, inputs, region: {
        "versionNumber": 1
    },
    # A stack reference finds no outputs under mocks, unless the mocks are given its stack's outputs.
    "pulumi:pulumi:StackReference": lambda name, inputs, region: {"outputs": {}, "secretOutputNames": []},
    # The load balancer controller fills in the ALB's name once the Ingress is admitted.
    "kubernetes:networking.k8s.io/v1:Ingress": lambda name, inputs, region: {
        "status": {"loadBalancer": {"ingress": [{"hostname": f"k8s-{name}-0123456789.{region}.elb.amazonaws.com"}]}}
    },
}


def _promoted_instance(identifier: str, region: str) -> dict[str, Any]:
    """What `aws.rds.get_instance` returns for a replica that was promoted and given its managed secret."""
    return {
        "dbInstanceIdentifier": identifier,
        "address": f"{identifier}.abc.{region}.rds.amazonaws.com",
        "endpoint": f"{identifier}.abc.{region}.rds.amazonaws.com:5432",
        "replicateSourceDb": "",
        "dbSubnetGroup": identifier.rsplit("-", 3)[0] + f"-db-{region}",
        "vpcSecurityGroups": ["sg-standby-db"],
        "kmsKeyId": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/standby",
        "masterUserSecrets": [
            {
                "secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:rds!db-standby",
                "kmsKeyId": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/standby",
                "secretStatus": "active",
            }
        ],
    }


class CapturingMocks(pulumi.runtime.Mocks):
    """Echoes inputs back as state, with an id and an ARN; answers the invokes
    the components make with plausible values for `region`."""

    def __init__(self, region: str = "us-east-1", stack_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.region = region
        # Stack name -> the outputs a StackReference to it reads (a platform's contract, for example).
        self.stack_outputs = dict(stack_outputs or {})
        self.resources: list[CapturedResource] = []
        self.provider_regions: dict[str, str] = {}  # explicit aws providers: name -> region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        captured = CapturedResource(
            args.typ, args.name, dict(args.inputs), getattr(args, "parent", None), getattr(args, "provider", None)
        )
        self.resources.append(captured)
        # A resource lives in its own `region`, else its provider's, else the stack's.
        region = str(args.inputs.get("region") or self._region_of(getattr(args, "provider", None)))
        state = {
            "arn": f"arn:aws:mock:{region}:{ACCOUNT_ID}:{args.typ.split(':')[-1].lower()}/{args.name}",
            "name": args.name,
            **args.inputs,
        }
        if args.typ == "pulumi:providers:aws" and args.inputs.get("region"):
            self.provider_regions[args.name] = str(args.inputs["region"])
        computed = COMPUTED_STATE.get(args.typ)
        if computed:
            state.update(computed(args.name, dict(args.inputs), region))
        if args.typ == "pulumi:pulumi:StackReference" and args.inputs.get("name") in self.stack_outputs:
            state["outputs"] = dict(self.stack_outputs[args.inputs["name"]])
        captured.state = state
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        token = args.token
        region = self._region_of(getattr(args, "provider", None))
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{region}{letter}" for letter in "abcdef"]
            return {"names": names, "zoneIds": [f"use1-az{i}" for i in range(1, 7)]}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:root", "userId": "mock"}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        if token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region}
        if token == "aws:ecr/getRepository:getRepository":  # a registry the bootstrap program created
            name = args.args["name"]
            return {
                "name": name,
                "arn": f"arn:aws:ecr:{region}:{ACCOUNT_ID}:repository/{name}",
                "registryId": ACCOUNT_ID,
                "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{name}",
            }
        if token == "aws:route53/getZone:getZone":  # a public hosted zone, looked up by name
            zone = str(args.args.get("name", "")).rstrip(".")
            return {"zoneId": "Z0123456789MOCKZONE", "name": zone, "privateZone": False}
        if token == "aws:rds/getInstance:getInstance":  # a promoted replica the standby stack adopts
            return _promoted_instance(str(args.args["dbInstanceIdentifier"]), region)
        if token == "aws:rds/getSubnetGroup:getSubnetGroup":
            return {
                "name": args.args["name"],
                "vpcId": "vpc-standby",
                "subnetIds": ["subnet-i1", "subnet-i2", "subnet-i3"],
            }
        if token == "aws:ec2/getSubnets:getSubnets":
            return {"ids": ["subnet-p1", "subnet-p2", "subnet-p3"]}
        if token == "aws:lb/getLoadBalancer:getLoadBalancer":  # the ALB the controller created, by name
            lb = str(args.args.get("name"))
            arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:loadbalancer/app/{lb}/0123456789abcdef"
            return {"name": lb, "arn": arn, "arnSuffix": f"app/{lb}/0123456789abcdef"}
        if token == "aws:lb/getHostedZoneId:getHostedZoneId":  # the ALBs' canonical zone of us-east-1
            return {"id": "Z35SXDOTRQ7X7K"}
        if token in ("github:index/getUser:getUser", "github:index/getTeam:getTeam"):
            # A stable numeric id per login or slug, as GitHub's API returns.
            handle = str(args.args.get("username") or args.args.get("slug"))
            return {"id": str(sum(ord(c) * 31**i for i, c in enumerate(handle)) % 10**8), "slug": handle}
        return {}

    def _region_of(self, provider: str | None) -> str:
        # A provider reference is "<urn>::<id>"; the URN ends with the provider's name.
        name = (provider or "").split("::")[-2] if provider and "::" in provider else ""
        return self.provider_regions.get(name, self.region)

    def of_type(self, type_: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == type_]


@dataclass
class ProgramRun:
    mocks: CapturingMocks
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def resources(self) -> list[CapturedResource]:
        return self.mocks.resources

    def of_type(self, type_: str) -> list[CapturedResource]:
        return self.mocks.of_type(type_)

    def output(self, name: str) -> Any:
        """The settled value of a stack output (secret outputs included)."""
        return resolve(self.outputs[name])


def resolve(value: Any) -> Any:
    """The value of an Output (or a plain value) once the program has settled."""
    if isinstance(value, pulumi.Output):
        return asyncio.get_event_loop().run_until_complete(value.future(with_unknowns=True))
    return value


def _settle() -> None:
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(wait_for_rpcs())
    except BaseException:
        _drop_queued_outputs()
        raise


def _drop_queued_outputs() -> None:
    """A program that failed leaves its outputs queued: drop them, or the next program run in this
    process would wait on them and raise the failed program's error."""
    from pulumi.runtime.settings import SETTINGS

    with SETTINGS.lock:
        SETTINGS.outputs.clear()


def run_with_mocks(
    build: Callable[[], Any],
    *,
    project: str = "test",
    stack: str = "test",
    config: Mapping[str, Any] | None = None,
    region: str = "us-east-1",
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ProgramRun:
    """Call `build()` (which creates resources) under fresh mocks and wait for it to settle;
    `stack_outputs` are what StackReferences to those stacks read."""
    mocks = CapturingMocks(region, stack_outputs)
    _drop_queued_outputs()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    values = {"aws:region": region, **(config or {})}
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}
    )
    build()
    _settle()
    return ProgramRun(mocks)


def stack_config(stack_file: Path) -> dict[str, Any]:
    """The `config:` block of a Pulumi.<stack>.yaml."""
    import yaml

    return dict((yaml.safe_load(stack_file.read_text()) or {}).get("config") or {})


def run_program(
    program_dir: Path,
    *,
    project: str,
    stack: str,
    config: Mapping[str, Any],
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ProgramRun:
    """Run `program_dir/__main__.py` as `pulumi up` would, under mocks."""
    region = str(config.get("aws:region", "us-east-1"))
    outputs: dict[str, Any] = {}
    export = pulumi.export

    def record(name: str, value: Any) -> None:
        outputs[name] = value
        export(name, value)

    def build() -> None:
        sys.path.insert(0, str(program_dir))
        pulumi.export = record
        try:
            runpy.run_path(str(program_dir / "__main__.py"), run_name="__main__")
        finally:
            pulumi.export = export
            sys.path.remove(str(program_dir))

    if stack_outputs is None:
        stack_outputs = stand_in_platform(project, config)
    run = run_with_mocks(build, project=project, stack=stack, config=config, region=region, stack_outputs=stack_outputs)
    run.outputs = outputs
    return run


def walk(value: Any) -> Iterator[Any]:
    """Every nested value of a resource's inputs (for searches such as 'no plaintext secret')."""
    yield value
    if isinstance(value, Mapping):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from walk(item)


def stand_in_platform(project: str, config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """For a service on a shared cluster (`<project>:cluster: shared`), the outputs of a platform stack
    that hosts it (its environment, region, zones and SLA), under the stack name it reads; {} for any
    other program. The contract test runs the service against a real platform program's outputs instead."""
    if config.get(f"{project}:cluster") != "shared":
        return {}
    from .reliability.contract import platform_stack

    plan = config[f"{project}:plan"]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    env = plan["name"]
    stack = platform_stack(str(config[f"{project}:platform_stack"]), env)
    outputs = platform_outputs(
        "platform", env, str(config.get("aws:region", "us-east-1")), float(config[f"{project}:sla"])
    )
    zones = plan["network"]["az_count"]  # a bad value is the program's to report, naming its key
    for kind in ("private", "isolated") if isinstance(zones, int) else ():
        outputs[f"{kind}_subnet_ids"] = [
            f"subnet-platform-{env}-{kind}-{i}" for i in range(plan["network"]["az_count"])
        ]
    return {stack: outputs}


# Every monitoring component a platform may run (reliability.plan, at comprehensive).
ALL_MONITORING = (
    "prometheus",
    "alertmanager",
    "grafana",
    "loki",
    "alloy",
    "tempo",
    "opentelemetry-collector",
    "blackbox-exporter",
)


def platform_outputs(
    platform: str, env: str, region: str = "us-east-1", sla: float = 99.95, components: tuple[str, ...] = ALL_MONITORING
) -> dict[str, Any]:
    """A platform stack's outputs as a platform of this template exports them (PlatformContract),
    for a hosted service's tests; the contract test checks them against a real platform program's."""
    from .identity import runner_scale_set_name
    from .reliability.contract import CONTRACT_VERSION, conventions

    cluster = f"{platform}-{env}"
    issuer = f"oidc.eks.{region}.amazonaws.com/id/{cluster.upper()}"
    return {
        "contract_version": CONTRACT_VERSION,
        "platform": platform,
        "environment": env,
        "region": region,
        "sla": sla,
        "cluster_name": cluster,
        "cluster_endpoint": f"https://{cluster.upper()}.gr7.{region}.eks.amazonaws.com",
        "cluster_ca_data": base64.b64encode(b"mock certificate authority").decode(),
        "oidc_provider_arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{issuer}",
        "oidc_issuer": issuer,
        "vpc_id": f"vpc-{cluster}",
        "vpc_cidr": "10.30.0.0/16",
        "private_subnet_ids": [f"subnet-{cluster}-private-{i}" for i in range(3)],
        "isolated_subnet_ids": [f"subnet-{cluster}-isolated-{i}" for i in range(3)],
        "workload_security_group_id": f"sg-{cluster}-workloads",
        "runner_label": runner_scale_set_name(platform, env),
        "monitoring_components": list(components),
        **conventions(),
    }
