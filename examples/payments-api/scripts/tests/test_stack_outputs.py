import json

import fake_cli  # noqa: F401 (puts scripts/ on the path)
import pytest
from stack_outputs import MissingOutput, get, main


def test_prints_a_named_output(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"base_url": "https://x.example", "ids": ["a"]}))
    assert main([str(path), "base_url"]) == 0
    assert main([str(path), "ids"]) == 0
    assert capsys.readouterr().out.splitlines() == ["https://x.example", '["a"]']


def test_missing_output_names_itself(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text("{}")
    assert main([str(path), "cluster_name"]) == 1
    assert "'cluster_name' is missing" in capsys.readouterr().err
    with pytest.raises(MissingOutput):
        get({}, "x")


def test_an_optional_output_a_stack_does_not_have_yet_prints_empty(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text("{}")  # `pulumi stack output --json` of a stack never deployed
    assert main(["--optional", str(path), "image"]) == 0
    path.write_text(json.dumps({"image": "r@sha256:" + "a" * 64}))
    assert main(["--optional", str(path), "image"]) == 0
    assert capsys.readouterr().out.splitlines() == ["", "r@sha256:" + "a" * 64]
    assert main(["--optional", str(path)]) == 2
