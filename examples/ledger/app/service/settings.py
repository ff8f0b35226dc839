"""Facts fixed when the repository was generated; regenerate with `copier update`."""

SERVICE = "ledger"
# Histogram bounds for http_request_duration_seconds, from the reliability model: Prometheus'
# defaults plus the latency SLO (250 ms) itself, so the latency SLI reads an exact bucket.
LATENCY_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY_SLO_SECONDS = 0.25
