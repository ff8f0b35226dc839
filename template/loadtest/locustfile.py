"""The load test's scenario: the service's own routes at the rate `profile.json` targets.

Run against staging by the deploy workflow (production waits for its gate), and headless against
the sample app on loopback by `loadtest/tests`. Each user is paced to `per_user_rps` (constant
throughput); the workflow starts `users` of them, so together they send `target_rps`. Probes
(/healthz, /readyz) and /metrics are not part of the SLO, so the scenario leaves them out.

The pacing bounds a run in requests as well as in time: at most users x per_user_rps x run time.
LOAD_TEST_PER_USER_RPS overrides the pace (the loopback test runs briefly at its own rate).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from locust import HttpUser, constant_throughput, task

PROFILE = json.loads((Path(__file__).resolve().parent / "profile.json").read_text())
PER_USER_RPS = float(os.environ.get("LOAD_TEST_PER_USER_RPS", PROFILE["per_user_rps"]))


class ServiceUser(HttpUser):
    wait_time = constant_throughput(PER_USER_RPS)

    @task
    def home(self) -> None:
        self.client.get("/", name="/")
