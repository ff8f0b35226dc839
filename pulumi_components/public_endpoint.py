"""PublicEndpoint: the service's name on the internet, served over HTTPS only.

The team's Route 53 hosted zone is looked up by name (it exists before the first
deploy; the `domain` answer names it). The component requests an ACM certificate
for the hostname, writes its DNS validation record into the zone and waits for ACM
to issue it: `certificate_arn` resolves only then, so a load balancer listener or an
API domain built from it never meets a certificate still pending validation. Once
the platform has something to serve the name (the ALB the load balancer controller
creates, or the HTTP API's custom domain), `alias()` points the hostname at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._base import child, require, type_token
from .reliability.answers import CERTIFICATE_NAME_MAX_LENGTH, domain_error

VALIDATION_TTL_SECONDS = 60


@dataclass
class PublicEndpointArgs:
    hostname: str  # the name clients use, e.g. payments.example.com (the plan's edge.hostname)
    zone: str  # the public hosted zone that holds it (the plan's edge.zone)
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        message = domain_error(self.zone)
        require(not message, message.replace("domain must", "edge.zone must", 1))
        require(
            not domain_error(self.hostname) and self.hostname.endswith(f".{self.zone}"),
            f"edge.hostname must be a name inside edge.zone ({self.zone}), such as api.{self.zone}; "
            f"got {self.hostname!r}",
        )
        require(
            len(self.hostname) <= CERTIFICATE_NAME_MAX_LENGTH,
            f"edge.hostname must be at most {CERTIFICATE_NAME_MAX_LENGTH} characters (a certificate's name); "
            f"got {len(self.hostname)}",
        )


class PublicEndpoint(pulumi.ComponentResource):
    """Exposes `certificate` (and `certificate_arn`, issued), `zone_id`, `url` (https://<hostname>)
    and, after `alias()`, `record`."""

    record: aws.route53.Record | None = None

    def __init__(self, name: str, args: PublicEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("PublicEndpoint"), name, None, opts)
        self._name, self._args = name, args
        zone = aws.route53.get_zone_output(
            name=args.zone, private_zone=False, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.zone_id = zone.zone_id
        self.certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=args.hostname,
            validation_method="DNS",
            tags=dict(args.tags),
            opts=child(self),
        )
        # One name, one validation record. ACM's record for a name is the same for every
        # certificate of this account, so a replaced certificate reuses it.
        option = self.certificate.domain_validation_options[0]
        validation_record = aws.route53.Record(
            f"{name}-certificate-validation",
            zone_id=self.zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=VALIDATION_TTL_SECONDS,
            allow_overwrite=True,
            opts=child(self),
        )
        self.validation = aws.acm.CertificateValidation(
            f"{name}-certificate-issued",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
            opts=child(self),
        )
        self.certificate_arn: pulumi.Output[str] = self.validation.certificate_arn
        self.hostname = args.hostname
        self.url = f"https://{args.hostname}"
        self.register_outputs({"hostname": args.hostname, "url": self.url, "certificate_arn": self.certificate_arn})

    def alias(self, target: pulumi.Input[str], target_zone_id: pulumi.Input[str]) -> aws.route53.Record:
        """Point the hostname at what serves it: an alias A record of `target` (the load
        balancer's or the API domain's DNS name) in its canonical zone `target_zone_id`."""
        self.record = aws.route53.Record(
            f"{self._name}-record",
            zone_id=self.zone_id,
            name=self._args.hostname,
            type="A",
            aliases=[
                # One record and no failover policy: target health would change no answer.
                aws.route53.RecordAliasArgs(name=target, zone_id=target_zone_id, evaluate_target_health=False)
            ],
            opts=child(self),
        )
        return self.record

    def alias_load_balancer(self, dns_name: pulumi.Input[str]) -> aws.route53.Record:
        """Point the hostname at an Application Load Balancer of this region by its DNS name
        (the one the load balancer controller writes into the Ingress status)."""
        zone = aws.lb.get_hosted_zone_id_output(
            load_balancer_type="application", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        return self.alias(dns_name, zone.id)
