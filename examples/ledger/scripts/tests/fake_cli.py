"""A stand-in for kubectl and the AWS CLI: answers by command, records every call."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class FakeCli:
    def __init__(self, answers):
        # answers: {("aws", "lambda", "get-alias"): value or [values, one per call]}
        self.answers = {key: list(value) if isinstance(value, list) else [value] for key, value in answers.items()}
        self.calls = []

    def __call__(self, command):
        self.calls.append(list(command))
        for key, values in self.answers.items():
            if tuple(command[: len(key)]) == key:
                value = values.pop(0) if len(values) > 1 else values[0]
                return value if isinstance(value, str) else json.dumps(value)
        return ""

    def called(self, *prefix):
        return [c for c in self.calls if tuple(c[: len(prefix)]) == prefix]


class FakeClock:
    """Time that moves only when the code sleeps."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
