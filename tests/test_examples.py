"""The committed example repositories are exactly what the template renders from their answers."""

from __future__ import annotations

import pytest
import yaml

from scripts.regenerate_examples import EXAMPLES, answer_files, drift, render_all


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_all(tmp_path_factory.mktemp("examples"))


def test_there_are_named_examples():
    assert len(answer_files()) >= 2
    for answers in answer_files():
        assert (EXAMPLES / answers.stem).is_dir(), f"examples/{answers.stem} was never generated"


@pytest.mark.parametrize("name", [f.stem for f in answer_files()])
def test_example_has_no_drift(rendered, name):
    stale = drift(EXAMPLES / name, rendered[name])
    assert not stale, (
        f"examples/{name} is stale in {len(stale)} file(s), e.g. {stale[:5]}; "
        "run `python -m scripts.regenerate_examples` and review the diff"
    )


@pytest.mark.parametrize("name", [f.stem for f in answer_files()])
def test_example_records_its_answers(name):
    answers = yaml.safe_load((EXAMPLES / "answers" / f"{name}.yml").read_text())
    recorded = yaml.safe_load((EXAMPLES / name / ".copier-answers.yml").read_text())
    for key, value in answers.items():
        assert recorded[key] == value, key


def test_drift_is_detected(rendered, tmp_path):
    import shutil

    name = next(iter(rendered))
    copy = tmp_path / name
    shutil.copytree(rendered[name], copy, symlinks=True)
    (copy / "README.md").write_text((copy / "README.md").read_text() + "hand edit\n")
    (copy / "stray.txt").write_text("x")
    assert drift(rendered[name], copy) == ["README.md", "stray.txt"]
