"""The load-test gate over stats files in Locust's own format (loadtest/tests runs Locust itself)."""

import json

import fake_cli  # noqa: F401 (puts scripts/ on the path)
import pytest
from load_test_gate import RunStats, StatsError, Thresholds, breaches, main, read_stats

# The header Locust 2.47 writes to <prefix>_stats.csv (`locust --csv <prefix>`).
HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
LIMITS = Thresholds(max_error_ratio=0.001, max_p99_ms=500, min_rps=9)


def stats_file(tmp_path, requests=3000, failures=0, rps=10.0, p99="91"):
    row = f"{requests},{failures},13,18.0,1.9,125.8,68.0,{rps},0.0,13,17,21,24,40,73,91,{p99},130,130,130"
    path = tmp_path / "load_stats.csv"
    path.write_text(f"{HEADER}\nGET,/,{row}\n,Aggregated,{row}\n")
    return path


def profile(tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"max_error_ratio": 0.001, "max_p99_ms": 500, "min_rps": 9, "target_rps": 10}))
    return str(path)


def test_a_run_within_the_slo_passes(tmp_path, capsys):
    assert main([str(stats_file(tmp_path)), "--profile", profile(tmp_path)]) == 0
    assert "within the SLO" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("run", "breach"),
    [
        ({"failures": 4}, "error ratio 0.00133 (4 of 3000) is above the SLO's error budget 0.001"),
        ({"p99": "620"}, "p99 620 ms is above the latency SLO 500 ms"),
        ({"rps": 6.5}, "achieved 6.50 requests/s, below the 9/s the test must apply"),
    ],
)
def test_each_breach_fails_the_gate_and_says_why(tmp_path, capsys, run, breach):
    assert main([str(stats_file(tmp_path, **run)), "--profile", profile(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert breach in out and "production is not deployed" in out


def test_the_error_budget_itself_is_within_the_slo():
    assert breaches(RunStats(requests=3000, failures=3, rps=10, p99_ms=500), LIMITS) == []


def test_flags_override_the_profile(tmp_path):
    path = stats_file(tmp_path, rps=40.0)
    assert main([str(path), "--profile", profile(tmp_path), "--min-rps", "50"]) == 1
    assert main([str(path), "--max-error-ratio", "0.01", "--max-p99-ms", "100", "--min-rps", "20"]) == 0


def test_missing_thresholds_are_named(tmp_path):
    with pytest.raises(SystemExit, match="--max-p99-ms is needed"):
        main([str(stats_file(tmp_path)), "--max-error-ratio", "0.01", "--min-rps", "1"])


def test_the_summary_reaches_the_job_summary(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    main([str(stats_file(tmp_path, p99="900")), "--profile", profile(tmp_path)])
    assert "| p99 (ms) | 900 | 500 |" in summary.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n", "is not a Locust stats file"),
        (f"{HEADER}\nGET,/,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n", "has no Aggregated row"),
        (f"{HEADER}\n,Aggregated,0,0,0,0,0,0,0,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n", "sent no requests"),
    ],
)
def test_a_file_that_shows_nothing_fails(tmp_path, text, message):
    path = tmp_path / "load_stats.csv"
    path.write_text(text)
    with pytest.raises(StatsError, match=message):
        read_stats(path)
    assert main([str(path), "--profile", profile(tmp_path)]) == 1


def test_a_missing_file_fails(tmp_path):
    assert main([str(tmp_path / "none_stats.csv"), "--profile", profile(tmp_path)]) == 1
