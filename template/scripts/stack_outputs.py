"""The stack outputs the pipelines read, by name, in one place.

    pulumi stack output --json --stack prod > outputs.json
    python scripts/stack_outputs.py outputs.json base_url        # prints one value
    python scripts/stack_outputs.py --optional outputs.json image   # "" when the stack has none yet

Workflows and release scripts ask for outputs through this module, so a renamed
export fails here with the missing name instead of deep inside a deploy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# What each platform's program must export for its pipelines (checked by the
# template's tests against the program run under Pulumi mocks).
REQUIRED = {
    "aws-eks": ("base_url", "cluster_name", "image", "image_repository_url"),
    "aws-lambda": (
        "base_url",
        "function_name",
        "alias_name",
        "function_version",
        "codedeploy_application",
        "codedeploy_deployment_group",
        "codedeploy_pre_traffic_hook",  # "" unless blue-green
    ),
}
DATABASE = ("db_instance_identifier", "db_subnet_group_name", "db_security_group_id")
# With a database, per platform: the release's migration Job the restore test copies (EKS).
DATABASE_ON = {"aws-eks": ("migration_job",), "aws-lambda": ()}


class MissingOutput(KeyError):
    def __str__(self) -> str:
        return f"stack output {self.args[0]!r} is missing; the program must export it (see scripts/stack_outputs.py)"


def load(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def get(outputs: dict[str, Any], name: str) -> Any:
    if name not in outputs:
        raise MissingOutput(name)
    return outputs[name]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    optional = "--optional" in args  # a stack never deployed has no outputs yet: print ""
    args = [a for a in args if a != "--optional"]
    if len(args) != 2:
        sys.stderr.write("usage: stack_outputs.py [--optional] OUTPUTS_JSON NAME\n")
        return 2
    try:
        value = get(load(args[0]), args[1])
    except MissingOutput as error:
        if optional:
            print("")
            return 0
        sys.stderr.write(f"{error}\n")
        return 1
    print(value if isinstance(value, str) else json.dumps(value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
