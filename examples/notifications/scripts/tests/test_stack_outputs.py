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
