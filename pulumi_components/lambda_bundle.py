"""The Lambda function's code archive: the app's package, plus the pure-Python distributions it needs
taken from the environment that runs the Pulumi program.

That environment is installed from the repository's hash-locked requirements.lock, which includes
app/requirements.txt: the files bundled are the very versions the lock pins, the same on every
machine that previews, deploys or checks drift, with no build step in between. Only source and data
files go in (no __pycache__, no install records), so two installs of the same lock give the same
archive and the function's code shows no change until the lock does. Pure Python only: a
distribution with compiled modules would be built for the deploying machine, not for Lambda, and is
refused.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from pathlib import Path

import pulumi
from packaging.requirements import Requirement

from ._base import ComponentArgsError

# Written by the installer: they differ between two installs of the same files.
_INSTALL_RECORDS = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
_COMPILED = (".so", ".pyd", ".dylib")


def closure(names: Iterable[str]) -> list[importlib.metadata.Distribution]:
    """The named distributions and everything they require (markers evaluated, extras left out)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError as error:
            raise ComponentArgsError(
                f"{name} is not installed where the Pulumi program runs: install requirements.lock "
                "(it includes app/requirements.txt) before bundling the function"
            ) from error
        seen[key] = distribution
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return [seen[key] for key in sorted(seen)]


def distribution_files(names: Iterable[str]) -> dict[str, Path]:
    """Archive path -> installed file, for the distributions' modules, data and metadata."""
    files: dict[str, Path] = {}
    for distribution in closure(names):
        for entry in distribution.files or []:
            relative = entry.as_posix()
            if "__pycache__" in entry.parts or relative.startswith(".."):
                continue
            if entry.parent.name.endswith(".dist-info") and entry.name in _INSTALL_RECORDS:
                continue
            if entry.suffix in _COMPILED or ".cpython-" in entry.name:
                raise ComponentArgsError(
                    f"{distribution.metadata['Name']} has compiled code ({relative}): the function bundle takes "
                    "pure-Python distributions only"
                )
            files[relative] = Path(str(distribution.locate_file(entry)))
    return files


def bundled_packages(has_database: bool) -> list[str]:
    """What the handler imports that the Lambda runtime lacks (it ships botocore): the OpenFeature
    SDK, and with a database the PostgreSQL driver its migrations use."""
    return ["openfeature-sdk", *(["pg8000"] if has_database else [])]


def bundle_files(app_dir: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Archive path -> file, for exactly what `function_code` deploys with these packages."""
    files = {
        path.relative_to(app_dir).as_posix(): path
        for path in sorted((app_dir / "service").rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    return files | distribution_files(packages)


def write_zip(app_dir: Path, packages: Iterable[str], destination: Path) -> list[str]:
    """The function's archive as a zip file, for CI to keep beside the image scan; the names written."""
    import zipfile

    files = bundle_files(app_dir, packages)
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.write(files[name], name)
    return sorted(files)


def function_code(app_dir: Path, packages: Iterable[str] = ()) -> pulumi.Archive:
    """`app_dir` as it is, or its `service` package with `packages` and their requirements beside it."""
    packages = list(packages)
    if not packages:
        return pulumi.FileArchive(str(app_dir))
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {"service": pulumi.FileArchive(str(app_dir / "service"))}
    for relative, path in sorted(distribution_files(packages).items()):
        assets[relative] = pulumi.FileAsset(str(path))
    return pulumi.AssetArchive(assets)


if __name__ == "__main__":  # python -m components.lambda_bundle <app dir> <zip> [--database]
    import sys

    names = write_zip(Path(sys.argv[1]), bundled_packages("--database" in sys.argv[3:]), Path(sys.argv[2]))
    print(f"{sys.argv[2]}: {len(names)} files")
