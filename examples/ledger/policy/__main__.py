"""Serve the guardrail policies to the Pulumi engine (`pulumi preview --policy-pack policy`)."""

from guardrail_policies import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(PACK_NAME, POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
