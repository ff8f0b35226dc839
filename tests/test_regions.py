"""The region table against botocore's endpoint data: the AWS commercial partition's regions
(the `aws` partition of botocore/data/endpoints.json, the list the AWS SDKs ship) are exactly
the regions the answers accept, each with a failover region."""

from __future__ import annotations

import json
from pathlib import Path

import botocore

from pulumi_components.reliability.answers import AWS_REGION_AZS, DR_REGION_PAIRS, region_error


def commercial_regions() -> dict[str, str]:
    data = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    (aws,) = [partition for partition in data["partitions"] if partition["partition"] == "aws"]
    return {name: region["description"] for name, region in aws["regions"].items()}


def test_every_commercial_region_is_in_the_table_and_nothing_else():
    regions = commercial_regions()
    missing = {name: regions[name] for name in sorted(set(regions) - set(AWS_REGION_AZS))}
    assert not missing, f"regions AWS offers that AWS_REGION_AZS lacks (add each with its AZ count): {missing}"
    assert set(AWS_REGION_AZS) <= set(regions), set(AWS_REGION_AZS) - set(regions)


def test_every_region_fails_over_to_another_region_of_the_table():
    assert set(DR_REGION_PAIRS) == set(AWS_REGION_AZS)
    for region, failover in DR_REGION_PAIRS.items():
        assert failover != region and failover in AWS_REGION_AZS
        assert AWS_REGION_AZS[failover] >= 3  # a failover region runs the three-AZ plan


def test_the_new_zealand_region_is_accepted():
    assert commercial_regions()["ap-southeast-6"] == "Asia Pacific (New Zealand)"
    assert region_error("ap-southeast-6") == ""
    assert DR_REGION_PAIRS["ap-southeast-6"] == "ap-southeast-2"
