"""The vocabularies: declared once, offered by the questionnaire as declared, held by the answers
as members, and written to every file as their plain string values."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import ROOT

from extensions.groundwork import GroundworkExtension, to_yaml
from pulumi_components.reliability import plan_service
from pulumi_components.reliability.answers import AnswerError, Answers
from pulumi_components.reliability.vocabulary import (
    QUESTION_VOCABULARIES,
    DeploymentStrategy,
    Kind,
    NatStrategy,
    Platform,
    Severity,
    Vocabulary,
    question_choices,
)

COPIER = yaml.safe_load((ROOT / "copier.yml").read_text())
BASE = dict(project_name="Payments", service_slug="payments", team="pay", owner_email="pay@example.com")


@pytest.mark.parametrize("vocabulary", Vocabulary.__subclasses__(), ids=lambda v: v.__name__)
def test_every_value_has_a_label_and_a_description(vocabulary):
    assert list(vocabulary)
    for member in vocabulary:
        assert member.label and member.description, member
        assert member == member.value and f"{member}" == member.value  # usable wherever its string is


@pytest.mark.parametrize("question", sorted(QUESTION_VOCABULARIES))
def test_the_questionnaire_offers_each_vocabulary_as_declared(question):
    spec = COPIER[question]
    assert spec["choices"] == f"{{{{ vocabulary_choices('{question}') }}}}"
    default = spec["default"]
    if "{{" in default:  # a default that depends on an earlier answer (database: none on a platform)
        from jinja2 import Environment

        default = Environment().from_string(default).render(kind="service")
    assert default in QUESTION_VOCABULARIES[question].values()
    assert question in Answers.__dataclass_fields__  # the model holds every answer with a vocabulary


def test_kind_picks_the_folder_copier_renders():
    """copier.yml's _subdirectory renders platform/ for the platform kind and template/ for a service."""
    from jinja2 import Environment

    subdirectory = Environment().from_string(COPIER["_subdirectory"])
    assert {kind: subdirectory.render(kind=kind) for kind in Kind} == {"service": "template", "platform": "platform"}
    assert all((ROOT / subdirectory.render(kind=kind)).is_dir() for kind in Kind)


def test_the_choices_copier_parses_are_the_values_under_their_labels():
    from jinja2 import Environment

    environment = Environment(extensions=[GroundworkExtension])
    rendered = environment.from_string("{{ vocabulary_choices('platform') }}").render()
    assert (
        yaml.safe_load(rendered)
        == question_choices("platform")
        == {
            "Kubernetes on AWS EKS": "aws-eks",
            "Serverless on AWS Lambda": "aws-lambda",
        }
    )


def test_answers_hold_members_and_refuse_other_values():
    answers = Answers.from_mapping({**BASE, "platform": "aws-lambda", "deployment_strategy": "blue-green"})
    assert answers.platform is Platform.AWS_LAMBDA
    assert answers.deployment_strategy is DeploymentStrategy.BLUE_GREEN
    with pytest.raises(AnswerError, match="deployment_strategy must be one of rolling, canary, blue-green; got 'big"):
        Answers(**BASE, deployment_strategy="big-bang")


def test_files_carry_the_plain_values():
    plan = plan_service(Answers(**BASE, platform="aws-eks"))
    data = {"platform": plan.answers.platform, "nat": NatStrategy.PER_AZ, "severity": [Severity.CRITICAL]}
    assert yaml.safe_load(to_yaml(data)) == {"platform": "aws-eks", "nat": "per-az", "severity": ["critical"]}
    assert "!!python" not in yaml.safe_dump(data) and json.loads(json.dumps(data))["nat"] == "per-az"
