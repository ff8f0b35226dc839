"""This service's infrastructure, composed from its stack config.

Every number comes from the `plan` in Pulumi.<stack>.yaml, which the
reliability model wrote; nothing here is sized by hand. Change the plan
there (or the answers, with `copier update`), not in this file.
"""

import pulumi
from components import Network, NetworkArgs
from components.reliability import from_config

config = pulumi.Config()
service = config.require("service")
platform = config.require("platform")
region = pulumi.Config("aws").require("region")
plan = from_config(config.require_object("plan"))
name = f"{service}-{plan.name}"

network = Network(name, NetworkArgs(name=name, region=region, plan=plan.network, tags=plan.tags))

pulumi.export("vpc_id", network.vpc.id)
pulumi.export("private_subnet_ids", network.subnet_ids["private"])
