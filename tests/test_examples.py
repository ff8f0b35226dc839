"""The committed example repositories are exactly what the template renders from their answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scripts.regenerate_examples import (
    EXAMPLES,
    TEMPLATE,
    VENDORED,
    answer_files,
    drift,
    link_static_files,
    link_vendored_components,
    render_all,
    static_files,
)
from scripts.template_parts import ROOT


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


@pytest.mark.parametrize("name", [f.stem for f in answer_files()])
def test_example_links_the_component_library_instead_of_copying_it(name):
    vendored = EXAMPLES / name / VENDORED
    assert vendored.is_symlink(), f"examples/{name}/{VENDORED} must link to pulumi_components/, not copy it"
    assert vendored.resolve() == ROOT / "pulumi_components"


def test_a_vendored_copy_that_differs_from_the_package_is_refused(tmp_path):
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "pulumi_components", repo / VENDORED, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / VENDORED / "network.py").write_text("# edited in the rendered repo\n")
    with pytest.raises(RuntimeError, match="network.py"):
        link_vendored_components(repo)


@pytest.mark.parametrize("name", [f.stem for f in answer_files()])
def test_example_links_the_static_template_files_instead_of_copying_them(name):
    copies = [
        relative
        for relative, source in static_files().items()
        if (EXAMPLES / name / relative).is_file()
        and not (EXAMPLES / name / relative).is_symlink()
        and (EXAMPLES / name / relative).read_bytes() == (TEMPLATE / source).read_bytes()
    ]
    assert not copies, f"examples/{name} copies static template files instead of linking them: {copies[:5]}"
    linked = {r: source for r, source in static_files().items() if (EXAMPLES / name / r).is_symlink()}
    assert linked, "no static template file is linked: static_files() found nothing to link"
    for relative, source in linked.items():
        assert (EXAMPLES / name / relative).resolve() == (TEMPLATE / source).resolve()


def test_a_file_only_some_answers_get_is_linked_under_the_name_it_renders_to():
    files = static_files()
    conditional = {rendered: source for rendered, source in files.items() if rendered != source}
    assert Path("app/service/migrate.py") in conditional, sorted(conditional)[:5]
    assert all("{" not in rendered.as_posix() for rendered in files)


def test_a_rendered_file_that_differs_from_its_static_source_stays_a_file(tmp_path):
    repo = tmp_path / "examples" / "demo"
    relative = next(r for r in static_files() if r.suffix == ".py")
    (repo / relative).parent.mkdir(parents=True)
    (repo / relative).write_text("# the team's own version\n")
    link_static_files(repo)
    assert not (repo / relative).is_symlink()
