import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_cli  # noqa: F401 (puts scripts/ on the path)
import pytest
from smoke_test import main, smoke_test


def handler(answers):
    """Answers each path with its next status (the last one repeats); (status, location) redirects."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            codes = answers.get(self.path, [404])
            code = codes.pop(0) if len(codes) > 1 else codes[0]
            code, location = code if isinstance(code, tuple) else (code, "")
            self.send_response(code)
            if location:
                self.send_header("Location", location)
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, and a client context that trusts only it."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a certificate for the local HTTPS server")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key, ssl.create_default_context(cafile=str(cert))


@pytest.fixture
def servers(certificate):
    """`https(statuses)` and `http(statuses)` start local servers and return their URL and port."""
    cert, key, _ = certificate
    started = []

    def start(statuses, tls):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler({p: list(c) for p, c in statuses.items()}))
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(cert), str(key))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        # A short poll: shutdown() waits for serve_forever's next look at its flag (0.5 s by default).
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        started.append(server)
        port = server.server_address[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}", port

    yield {"https": lambda statuses: start(statuses, True), "http": lambda statuses: start(statuses, False)}
    for server in started:
        server.shutdown()


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check(url, context, *, http_port=None, attempts=1, lines=None, sleep=lambda _: None):
    log = lines.append if lines is not None else (lambda _: None)
    port = http_port if http_port is not None else closed_port()
    options = {"interval": 1, "timeout": 2, "sleep": sleep, "log": log, "context": context, "http_port": port}
    return smoke_test(url, attempts=attempts, **options)


HEALTHY = {"/healthz": [200], "/readyz": [200]}


def test_healthy_release_over_https_passes(servers, certificate):
    url, _ = servers["https"](HEALTHY)
    lines = []
    assert check(url, certificate[2], lines=lines)
    assert any(line.startswith("plain HTTP not served") for line in lines)


def test_release_that_becomes_ready_passes_after_retries(servers, certificate):
    url, _ = servers["https"]({"/healthz": [200], "/readyz": [503, 503, 200]})
    naps = []
    assert check(url, certificate[2], attempts=5, sleep=naps.append)
    assert naps == [1, 1]


def test_release_never_ready_fails_and_says_why(servers, certificate):
    url, _ = servers["https"]({"/healthz": [200], "/readyz": [503]})
    lines = []
    assert not check(url, certificate[2], attempts=3, lines=lines)
    assert "FAILED /readyz: HTTP 503" in lines


def test_a_certificate_that_does_not_verify_fails(servers):
    url, _ = servers["https"](HEALTHY)
    lines = []
    assert not check(url, None, lines=lines)  # the system's CAs do not trust the test certificate
    assert any("FAILED /healthz: no answer" in line and "CERTIFICATE_VERIFY_FAILED" in line for line in lines)


def test_plain_http_redirected_to_https_passes(servers, certificate):
    url, _ = servers["https"](HEALTHY)
    _, http_port = servers["http"]({"/healthz": [(301, "https://127.0.0.1/healthz")]})
    lines = []
    assert check(url, certificate[2], http_port=http_port, lines=lines)
    assert "plain HTTP redirects to https://127.0.0.1/healthz" in lines


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (200, "plain HTTP served http://127.0.0.1:{port}/healthz (HTTP 200)"),
        ((301, "http://127.0.0.1/elsewhere"), "with HTTP 301 to http://127.0.0.1/elsewhere"),
    ],
)
def test_plain_http_served_fails(servers, certificate, answer, message):
    url, _ = servers["https"](HEALTHY)
    _, http_port = servers["http"]({"/healthz": [answer]})
    lines = []
    assert not check(url, certificate[2], http_port=http_port, lines=lines)
    assert any(line.startswith("FAILED plain HTTP") and message.format(port=http_port) in line for line in lines)


def test_unreachable_release_fails(certificate):
    lines = []
    assert not check(f"https://127.0.0.1:{closed_port()}", certificate[2], lines=lines)
    assert any("no answer" in line for line in lines)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "file:///etc/passwd", "127.0.0.1"])
def test_only_https_urls_are_accepted(url):
    with pytest.raises(ValueError, match="must start with https://"):
        smoke_test(url, attempts=1, interval=0)


def test_the_command_refuses_plain_http_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["http://api.example.com"])
    assert exit_.value.code == 2
    assert "must start with https://" in capsys.readouterr().err
