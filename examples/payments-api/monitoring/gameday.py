"""Local game day: the sample app, a Prometheus with this repo's alert rules, traffic, then an outage.

    python monitoring/gameday.py            # needs `prometheus` on PATH (apt-get install prometheus)

No cloud account, nothing but loopback. The rules are this repo's own, built by
the same reliability model as monitoring/prometheus/rules.yml, with every
window and `for` sixty times shorter (the 1h page window lasts a minute), so the
drill takes about a minute: healthy traffic, during which nothing may fire;
then every request to / fails, and the page must fire (it has no `for`, so it
is never pending first).
Exit status 0 when both held. Every process it starts is stopped on exit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "infra"))

from components.reliability import Answers, plan_service  # noqa: E402
from components.reliability.alerts import scrape_job  # noqa: E402
from components.reliability.prometheus_rules import rule_file  # noqa: E402

TIME_SCALE = 60  # windows and `for` durations divided by this
PAGE = "AvailabilityBudgetBurnPage"
REQUESTS_PER_SECOND = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.load(response)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} within {timeout:.0f}s")


class Drill:
    def __init__(self, workdir: Path, prometheus: str) -> None:
        answers = yaml.safe_load((REPO / ".copier-answers.yml").read_text())
        self.plan = plan_service(Answers.from_mapping(answers))
        self.slug = self.plan.answers.service_slug
        self.workdir, self.prometheus_bin = workdir, prometheus
        self.app_port, self.prom_port = free_port(), free_port()
        self.fault = workdir / "fault"
        self.fault.write_text("0")
        self.processes: list[subprocess.Popen] = []
        self.stop_traffic = threading.Event()
        self.started = time.monotonic()

    # -- setup ---------------------------------------------------------------------------
    def write_config(self) -> Path:
        rules = self.workdir / "rules.yml"
        rules.write_text(yaml.safe_dump(rule_file(self.plan, time_scale=TIME_SCALE), sort_keys=False))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [
                {
                    "job_name": scrape_job(self.slug),
                    "static_configs": [{"targets": [f"127.0.0.1:{self.app_port}"], "labels": {"namespace": self.slug}}],
                }
            ],
        }
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def start(self, argv: list[str], log: str, **kwargs) -> None:
        out = open(self.workdir / log, "w")  # noqa: SIM115 - closed with the process
        self.processes.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **kwargs))

    def start_app(self) -> None:
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.app_port), "FAULT_FILE": str(self.fault)}
        env.pop("DATABASE_URL", None)
        self.start([sys.executable, "-m", "service"], "app.log", cwd=REPO / "app", env=env)
        wait_until(lambda: get_json(f"http://127.0.0.1:{self.app_port}/healthz")["status"] == "ok", 20, "app up")

    def start_prometheus(self, config: Path) -> None:
        self.start(
            [
                self.prometheus_bin,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.prom_port}",
            ],
            "prometheus.log",
        )
        wait_until(self.scraped, 30, "Prometheus scraping the app")
        # ServiceAbsent is true until the first scrape lands; let the rules see the app first.
        wait_until(lambda: not self.alerts(), 30, "no alert active once the app is scraped")

    def scraped(self) -> bool:
        query = urllib.parse.quote(f'up{{job="{scrape_job(self.slug)}"}} == 1')
        return bool(get_json(f"http://127.0.0.1:{self.prom_port}/api/v1/query?query={query}")["data"]["result"])

    def traffic(self) -> None:
        url = f"http://127.0.0.1:{self.app_port}/"
        while not self.stop_traffic.is_set():
            try:
                urllib.request.urlopen(url, timeout=2).close()
            except (urllib.error.HTTPError, urllib.error.URLError, OSError):
                pass  # the injected 500s are the point
            time.sleep(1 / REQUESTS_PER_SECOND)

    def stop(self) -> None:
        self.stop_traffic.set()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- observation ---------------------------------------------------------------------
    def alerts(self) -> dict[str, str]:
        """alertname -> state (pending or firing)."""
        data = get_json(f"http://127.0.0.1:{self.prom_port}/api/v1/alerts")["data"]["alerts"]
        return {a["labels"]["alertname"]: a["state"] for a in data}

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def healthy_phase(self, seconds: float) -> list[str]:
        self.say(f"healthy traffic for {seconds:.0f}s: nothing may fire")
        seen: set[str] = set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for name, state in self.alerts().items():
                if f"{name}:{state}" not in seen:
                    self.say(f"  {name}: {state}")
                    seen.add(f"{name}:{state}")
            time.sleep(0.25)
        return sorted(seen)

    def outage_phase(self, timeout: float) -> dict[str, float]:
        self.fault.write_text("1")
        began = time.monotonic()
        self.say("outage: every request to / fails")
        times: dict[str, float] = {}
        deadline = began + timeout
        while time.monotonic() < deadline and "firing" not in times:
            state = self.alerts().get(PAGE)
            if state and state not in times:
                times[state] = round(time.monotonic() - began, 1)
                self.say(f"  {PAGE}: {state} after {times[state]}s")
            time.sleep(0.1)
        return times


def run(healthy_seconds: float, outage_timeout: float, prometheus: str) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="gameday-"))
    drill = Drill(workdir, prometheus)
    try:
        drill.start_app()
        drill.start_prometheus(drill.write_config())
        threading.Thread(target=drill.traffic, daemon=True).start()
        healthy = drill.healthy_phase(healthy_seconds)
        outage = drill.outage_phase(outage_timeout)
    finally:
        drill.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "time_scale": TIME_SCALE,
        "alerts_during_healthy_traffic": healthy,
        "page_pending_after_seconds": outage.get("pending"),
        "page_firing_after_seconds": outage.get("firing"),
        "ok": not healthy and "firing" in outage,
        "stopped_pids": [process.pid for process in drill.processes],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--healthy-seconds", type=float, default=20)
    parser.add_argument("--outage-timeout", type=float, default=60)
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on the last line")
    args = parser.parse_args()
    if not args.prometheus:
        print("prometheus is not on PATH (Debian/Ubuntu: apt-get install prometheus)", file=sys.stderr)
        return 2
    result = run(args.healthy_seconds, args.outage_timeout, args.prometheus)
    print(json.dumps(result) if args.json else ("game day passed" if result["ok"] else f"game day failed: {result}"))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
