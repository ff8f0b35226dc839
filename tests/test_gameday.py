"""The local game day, for real on loopback: the sample app, Debian's Prometheus with the generated
rules (time scaled down 60x), healthy traffic that fires nothing, then an outage that pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from monitoring_repos import repo, tool


def test_game_day_pages_on_an_outage_and_stays_quiet_when_healthy():
    prometheus = tool("prometheus")
    root = repo(platform="aws-eks", monitoring_level="standard")
    result = subprocess.run(
        [sys.executable, "monitoring/gameday.py", "--json", "--healthy-seconds", "15", "--prometheus", prometheus],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["alerts_during_healthy_traffic"] == [], result.stdout
    assert outcome["page_firing_after_seconds"] is not None, result.stdout
    # the page has no `for`: it fires at the first evaluation that sees both windows over the threshold
    assert outcome["page_pending_after_seconds"] is None, result.stdout
    assert outcome["ok"] and result.returncode == 0, result.stdout
    for pid in outcome["stopped_pids"]:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process {pid} is still running after the game day")
