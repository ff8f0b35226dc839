"""The Lambda function's bundle: the zip CI keeps holds exactly what Pulumi deploys."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from pulumi_components.lambda_bundle import bundle_files, bundled_packages, distribution_files, write_zip

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "template" / "app"


def test_the_bundle_is_the_service_package_and_the_packages_the_runtime_lacks():
    assert bundled_packages(False) == ["openfeature-sdk"]
    assert bundled_packages(True) == ["openfeature-sdk", "pg8000"]
    files = bundle_files(APP, bundled_packages(True))
    service = {p.relative_to(APP).as_posix() for p in (APP / "service").rglob("*.py") if "__pycache__" not in p.parts}
    assert service <= set(files)
    assert set(distribution_files(["pg8000"])) <= set(files)
    assert not any("__pycache__" in name or name.startswith("tests/") for name in files)


def test_ci_writes_the_same_files_pulumi_deploys(tmp_path):
    destination = tmp_path / "function.zip"
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_components.lambda_bundle", str(APP), str(destination), "--database"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "files" in result.stdout
    with zipfile.ZipFile(destination) as archive:
        assert sorted(archive.namelist()) == sorted(bundle_files(APP, bundled_packages(True)))
    assert write_zip(APP, bundled_packages(False), tmp_path / "small.zip") == sorted(
        bundle_files(APP, ["openfeature-sdk"])
    )
