"""ContainerRegistry under Pulumi mocks: immutable, scanned, encrypted, and pruned."""

import json

import pytest

from pulumi_components import ComponentArgsError, ContainerRegistry, ContainerRegistryArgs
from pulumi_components.container_registry import KEEP_IMAGES
from pulumi_components.testing import run_with_mocks

TAGS = {"service": "svc", "environment": "prod", "team": "platform", "managed-by": "pulumi"}


def test_repository_is_immutable_scanned_and_encrypted_with_its_own_key():
    run = run_with_mocks(lambda: ContainerRegistry("svc-prod", ContainerRegistryArgs(name="svc-prod", tags=TAGS)))
    (repo,) = run.of_type("aws:ecr/repository:Repository")
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    (encryption,) = repo.inputs["encryptionConfigurations"]
    assert encryption["encryptionType"] == "KMS" and encryption["kmsKey"].startswith("arn:")
    assert repo.inputs["tags"] == TAGS
    (key,) = run.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    (policy,) = run.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    rules = json.loads(policy.inputs["policy"])["rules"]
    assert rules[-1]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES}


def test_bad_name_is_rejected_before_anything_exists():
    with pytest.raises(ComponentArgsError, match="registry name"):
        ContainerRegistry("x", ContainerRegistryArgs(name="Svc-Prod"))
