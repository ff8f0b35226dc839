"""ContainerRegistry: the ECR repository the service's images are pushed to.

Tags are immutable (a tag always names the same image, and deployments use
digests anyway), every push is scanned, images are encrypted with the
repository's own KMS key, and old images expire so the repository does not
grow without bound while the recent ones stay available for a rollback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._base import child, require, type_token
from .kms import kms_key

KEEP_IMAGES = 30  # releases that stay available to roll back to
UNTAGGED_EXPIRY_DAYS = 7


@dataclass
class ContainerRegistryArgs:
    name: str  # the repository name, e.g. "payments-prod"
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        require(
            self.name == self.name.lower() and 2 <= len(self.name) <= 256,
            f"registry name must be lowercase, 2 to 256 characters; got {self.name!r}",
        )


def lifecycle_policy() -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Drop untagged layers after {UNTAGGED_EXPIRY_DAYS} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": UNTAGGED_EXPIRY_DAYS,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the last {KEEP_IMAGES} images for rollbacks",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
                    "action": {"type": "expire"},
                },
            ]
        }
    )


class ContainerRegistry(pulumi.ComponentResource):
    repository: aws.ecr.Repository

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("ContainerRegistry"), name, None, opts)
        key = kms_key(
            f"{args.name}-images", description=f"Encrypts the images of {args.name}", parent=self, tags=args.tags
        )
        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=key.arn)
            ],
            tags=dict(args.tags),
            opts=child(self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle", repository=self.repository.name, policy=lifecycle_policy(), opts=child(self)
        )
        self.repository_url = self.repository.repository_url
        self.register_outputs({"repository_url": self.repository_url})
