"""The questionnaire: bad answers fail with the validator's own message and write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ROOT, render

QUESTIONS = {
    name: spec for name, spec in yaml.safe_load((ROOT / "copier.yml").read_text()).items() if not name.startswith("_")
}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"service_slug": "PaymentsAPI"}, "service_slug must be a DNS-1123 label"),
        ({"service_slug": "a" * 64}, "service_slug must be at most 40 characters; got 64"),
        ({"aws_region": "us-middle-1"}, "aws_region must be an AWS region code"),
        ({"sla": 100}, "sla must be between 93.056 and 99.999 percent"),
        ({"sla": 42}, "sla must be between 93.056 and 99.999 percent"),
        ({"sla": 92.5}, "sla must be between 93.056 and 99.999 percent"),
        ({"environments": ["dev", "staging"]}, "environments must include prod"),
        ({"latency_slo_ms": 5}, "latency_slo_ms must be a whole number from 10"),
        ({"load_test_rps": 0}, "load_test_rps must be a whole number from 1 to 10000"),
        ({"load_test_rps": 500}, "load_test_rps must be at most 24 requests per second"),
        ({"owner_email": "not-an-address"}, "owner_email must be an e-mail address"),
        ({"team": "Platform Team"}, "team must be lowercase letters"),
        ({"repository_url": "github.com/acme/pay"}, "repository_url must be a GitHub repository URL"),
        ({"sla": 99.99, "dr_region": "us-east-1"}, "dr_region must differ from aws_region"),
        ({"domain": "Example.com."}, "domain must be the name of a Route 53 public hosted zone"),
        ({"domain": "localhost"}, "domain must be the name of a Route 53 public hosted zone"),
        ({"domain": "a-long-subdomain.of-a-long-company-name.example"}, "certificate name holds at most 64"),
    ],
)
def test_bad_answer_fails_with_its_message_and_writes_nothing(tmp_path: Path, answers, message):
    dst = tmp_path / "service"
    with pytest.raises(ValueError) as failure:
        render(dst, **answers)
    assert message in str(failure.value)
    question = next(iter(answers)) if len(answers) == 1 else "dr_region"
    assert f"question '{question}'" in str(failure.value)  # the right validator, not another one
    assert not dst.exists()


def test_unknown_choice_lists_the_accepted_ones(tmp_path: Path):
    with pytest.raises(ValueError, match=r"Invalid choice for 'platform'.*aws-eks.*aws-lambda"):
        render(tmp_path / "service", platform="gcp-gke")
    assert not (tmp_path / "service").exists()


def test_every_question_has_help_and_a_default():
    for name, spec in QUESTIONS.items():
        assert spec.get("help"), f"{name} has no help text"
        assert "default" in spec, f"{name} has no default"


def test_questions_that_do_not_apply_are_not_asked(tmp_path: Path):
    answers = yaml.safe_load((render(tmp_path / "a", sla=99.9) / ".copier-answers.yml").read_text())
    assert "dr_region" not in answers
    answers = yaml.safe_load((render(tmp_path / "b", sla=99.99) / ".copier-answers.yml").read_text())
    assert answers["dr_region"] == "us-west-2"
