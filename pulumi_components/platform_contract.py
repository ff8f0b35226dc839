"""The Pulumi side of the platform contract (`reliability/contract.py`): the platform program
exports it, a hosted service's program reads it through a StackReference.

    platform:  export_contract({...every PlatformContract field...})
    service:   platform = read_contract("acme/platform/prod")
               platform.field("vpc_id")  ->  Output[str]

Reading checks the whole contract once (every output present, typed, on the same conventions)
before any field reaches a resource, so a platform that renamed or dropped an output fails the
service's `pulumi up` with the names, not halfway through with a resource wired to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from .reliability.contract import PlatformContract, hosting_problems


def export_contract(values: Mapping[str, pulumi.Input[Any]]) -> None:
    """Export every contract field, and only those, under its own name."""
    names = PlatformContract.output_names()
    missing = [name for name in names if name not in values]
    unknown = sorted(set(values) - set(names))
    if missing or unknown:
        raise ValueError(
            "the platform contract exports exactly the fields of PlatformContract: "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"not fields {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
        )
    for name in names:
        pulumi.export(name, values[name])


class PlatformReference:
    """A platform stack's contract, read once and checked as a whole."""

    def __init__(self, stack: str, opts: pulumi.ResourceOptions | None = None, **hosting: Any) -> None:
        """`hosting` (env, region, az_count): what the service needs of the platform; checked with
        the contract (reliability.contract.hosting_problems)."""
        self.stack = stack
        self.reference = pulumi.StackReference(stack, opts=opts)
        self.contract: pulumi.Output[PlatformContract] = self.reference.outputs.apply(
            lambda outputs: _checked(PlatformContract.from_outputs(outputs or {}, stack), stack, hosting)
        )

    def subnet_ids(self, kind: str, count: int) -> list[pulumi.Output[str]]:
        """The first `count` subnets of `kind` (private, isolated), one Output each."""
        ids = self.field(f"{kind}_subnet_ids")
        return [ids.apply(lambda values, i=i: values[i]) for i in range(count)]

    def kubeconfig(self) -> pulumi.Output[str]:
        """A kubeconfig for the platform's cluster, authenticated by `aws eks get-token` as the caller."""
        from .kubernetes_cluster import kubeconfig

        return self.contract.apply(
            lambda c: kubeconfig(c.cluster_name, c.cluster_endpoint, c.cluster_ca_data, c.region)
        )

    def field(self, name: str) -> pulumi.Output[Any]:
        if name not in PlatformContract.output_names():
            names = ", ".join(PlatformContract.output_names())
            raise ValueError(f"{name} is not an output of the platform contract; it has {names}")
        return self.contract.apply(lambda contract: getattr(contract, name))


def _checked(contract: PlatformContract, stack: str, hosting: dict[str, Any]) -> PlatformContract:
    problems = hosting_problems(contract, **hosting) if hosting else []
    if problems:
        raise ValueError(f"platform stack {stack}: " + "; ".join(problems))
    return contract


def read_contract(stack: str, opts: pulumi.ResourceOptions | None = None, **hosting: Any) -> PlatformReference:
    return PlatformReference(stack, opts, **hosting)
