import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_cli  # noqa: F401 (puts scripts/ on the path)
import pytest
from smoke_test import main, smoke_test


def serve(statuses):
    """A local server answering each path with its next status (the last one repeats)."""
    answers = {path: list(codes) for path, codes in statuses.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            codes = answers.get(self.path, [404])
            code = codes.pop(0) if len(codes) > 1 else codes[0]
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def server():
    started = []

    def start(statuses):
        srv, url = serve(statuses)
        started.append(srv)
        return url

    yield start
    for srv in started:
        srv.shutdown()


def test_healthy_release_passes(server):
    url = server({"/healthz": [200], "/readyz": [200]})
    assert main([url, "--attempts", "1"]) == 0


def test_release_that_becomes_ready_passes_after_retries(server):
    url = server({"/healthz": [200], "/readyz": [503, 503, 200]})
    naps = []
    assert smoke_test(url, attempts=5, interval=1, sleep=naps.append, log=lambda _: None)
    assert naps == [1, 1]


def test_release_never_ready_fails_and_says_why(server):
    url = server({"/healthz": [200], "/readyz": [503]})
    lines = []
    assert not smoke_test(url, attempts=3, interval=0, sleep=lambda _: None, log=lines.append)
    assert "FAILED /readyz: HTTP 503" in lines


def test_unreachable_release_fails():
    lines = []
    assert not smoke_test("http://127.0.0.1:9", attempts=1, interval=0, timeout=1, log=lines.append)
    assert any("no answer" in line for line in lines)


def test_only_http_urls_are_accepted():
    with pytest.raises(ValueError, match="https://"):
        smoke_test("file:///etc/passwd", attempts=1, interval=0)
