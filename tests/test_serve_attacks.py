"""`chemoden serve` under the requests an attacker or a careless client sends: each is refused
with a clear 4xx (or stopped within its limit) and the server goes on serving everyone else.
The endpoint (tests/conftest.py) runs with small limits: 3 s a query, 1 s in the short lane,
100 kB a request, 5 MB an answer, 2 s for a client to send its headers or body."""

import json
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from test_serve import ENDLESS, http, sparql_get

ROOT = Path(__file__).resolve().parent.parent
SESSION = (ROOT / "examples" / "seed-63m-torticollis.json").read_bytes()
ASK = "ASK { ?s a <https://w3id.org/chemoden#Session> }"
pytestmark = pytest.mark.xdist_group("serve")


def raw(endpoint, data: bytes, timeout=10.0) -> bytes:
    """Send bytes as they are; the whole answer (until the server closes or the timeout)."""
    host, port = endpoint.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:  # the server may answer and close before reading everything
            pass
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return out


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def post_code(endpoint, body: bytes, headers=None):
    return http(f"{endpoint}/code", data=body, headers={"Content-Type": "application/json", **(headers or {})})


def code_still_works(endpoint):
    status, _, body = post_code(endpoint, SESSION)
    assert status == 200, body
    assert json.loads(body)["lines"]


# -- POST /code ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    (b'{"id": "' + b"[" * 900 + b'", "injections": ' + b"[" * 900 + b"]" * 900 + b"}", "nested"),
    (b"[" * 100_000, "nested"),
    (b'{"id": "\\ud800", "injections": []}', "invalid Unicode"),
], ids=["900-deep", "100000-deep", "lone-surrogate"])
def test_a_hostile_session_is_a_400_and_the_coding_worker_stays(endpoint, body, field):
    status, _, answer = post_code(endpoint, body)
    assert status == 400 and field in json.loads(answer)["error"]["message"], answer
    code_still_works(endpoint)


# -- the HTTP layer ------------------------------------------------------------------------------

def _post(path: str, headers: str, body: bytes = b"") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
            f"{headers}Connection: close\r\n\r\n").encode() + body


@pytest.mark.parametrize("request_bytes", [
    _post("/sparql", "Content-Length: -1\r\n", b"ASK {}"),
    _post("/sparql", "Content-Length: 1_8\r\n", b"ASK {}"),
    _post("/sparql", "Content-Length: 6\r\nContent-Length: 7\r\n", b"ASK {}"),
    b"GET /sparql HTTP/1.1\r\nHost: exa mple\r\n\r\n",
    b"GET /sparql HTTP/1.1\r\nHost: 127.0.0.1:80x\r\n\r\n",
    b"GET /sparql HTTP/1.1\r\n\r\n",
], ids=["negative-length", "underscore-length", "two-lengths", "host-with-space", "host-bad-port", "no-host"])
def test_malformed_requests_are_400(endpoint, request_bytes):
    assert status_of(raw(endpoint, request_bytes)) == 400


def test_a_body_shorter_than_its_length_is_408_within_the_client_timeout(endpoint):
    start = time.monotonic()
    answer = raw(endpoint, _post("/sparql", "Content-Length: 100\r\n", b"ASK {}"))
    assert status_of(answer) == 408 and time.monotonic() - start < 6


def test_a_client_trickling_its_headers_is_cut_off(endpoint):
    host, port = endpoint.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /status HTTP/1.1\r\n")
        closed = False
        for _ in range(40):  # one header byte every 0.2 s: the headers never end
            try:
                sock.sendall(b"X")
                time.sleep(0.2)
                if sock.recv(1, socket.MSG_DONTWAIT) == b"":
                    closed = True
                    break
            except BlockingIOError:
                continue
            except OSError:
                closed = True
                break
        assert closed and time.monotonic() - start < 6


def test_many_trickling_clients_do_not_lock_others_out(endpoint):
    """300 connections sending headers a byte at a time (a slowloris): others are still served at
    once, and the server closes the slow ones after the client timeout."""
    host, port = endpoint.split("//")[1].split(":")
    slow = []
    for _ in range(300):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.sendall(b"GET /status HTTP/1.1\r\nX-Slow: ")
        slow.append(sock)
    try:
        start = time.monotonic()
        assert http(f"{endpoint}/status")[0] == 200
        assert time.monotonic() - start < 2
        time.sleep(3.5)  # past the 2 s client timeout
        closed = 0
        for sock in slow:
            try:
                sock.sendall(b"x")
                closed += sock.recv(1, socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        assert closed == len(slow)
    finally:
        for sock in slow:
            sock.close()


def test_a_body_over_the_limit_is_refused_without_reading_it(endpoint):
    headers = f"Content-Length: {50_000_000}\r\n"
    assert status_of(raw(endpoint, _post("/sparql", headers, b"ASK {}"))) == 413
    chunked = (b"POST /code HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    chunk = b"x" * 60_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(2))  # 120 kB, and it never ends
    assert status_of(raw(endpoint, chunked + body)) == 413


# -- cost per query ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("SELECT * WHERE " + "{" * 10_000 + "}" * 10_000, b"deep"),
    ("SELECT * WHERE { FILTER(" + "(" * 5_000 + "1" + ")" * 5_000 + ") }", b"deep"),
    # the scanner that skips strings and IRIs can be misled by `1<2`: the bracket count cannot
    ("SELECT * WHERE { FILTER(1<2" + "(" * 30_000 + "1" + ")" * 30_000 + ") }", b"brackets"),
], ids=["braces", "parentheses", "hidden-behind-less-than"])
def test_deep_nesting_is_a_400_before_any_parser(endpoint, text, message):
    status, _, body = http(f"{endpoint}/sparql", data=text.encode(), headers={"Content-Type": "application/sparql-query"})
    assert status == 400 and message in body, body[:200]
    assert sparql_get(endpoint, ASK, "application/sparql-results+json")[0] == 200


def test_an_answer_over_the_byte_limit_is_refused(endpoint):
    # 512 kB doubled up from 16 bytes, on 12 rows: a 6 MB answer from a 1 kB query
    doubling = ('SELECT ?x ?n WHERE { BIND("xxxxxxxxxxxxxxxx" AS ?a0) '
                + " ".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(15))
                + " BIND(?a15 AS ?x) VALUES ?n { 1 2 3 4 5 6 7 8 9 10 11 12 } }")
    status, _, body = sparql_get(endpoint, doubling, "application/sparql-results+json")
    assert status == 422 and b"bytes" in body, body[:200]


def test_heavy_queries_do_not_starve_cheap_ones(endpoint):
    """Two endless queries at once, then a cheap one: answered at once by the short lane while
    the heavy ones are stopped at the time limit."""
    def status():
        return json.loads(http(f"{endpoint}/status")[2])

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and status()["idle"]["query"] < 2:  # the short lane is up and idle
        time.sleep(0.2)
    outcomes = []
    heavy = [threading.Thread(target=lambda: outcomes.append(sparql_get(endpoint, ENDLESS, "text/csv")[0]))
             for _ in range(2)]
    before = status()["restarts"]
    for t in heavy:
        t.start()
    while time.monotonic() < deadline and status()["restarts"] < before + 2:
        time.sleep(0.1)  # both have used their CPU budget: one runs in the long lane, one waits or is refused
    start = time.monotonic()
    assert sparql_get(endpoint, ASK, "application/sparql-results+json")[0] == 200
    # starved, it would wait for a heavy query's time limit (3 s); served, it takes milliseconds
    assert time.monotonic() - start < 1.0
    for t in heavy:
        t.join(30)
    assert sorted(outcomes) == [503, 503]


# -- who may call --------------------------------------------------------------------------------

def test_a_foreign_host_is_refused(endpoint):
    status, _, body = http(f"{endpoint}/status", headers={"Host": "attacker.example:80"})
    assert status == 403 and b"--allow-host" in body
    assert http(f"{endpoint}/status", headers={"Host": "localhost"})[0] == 200


@pytest.mark.parametrize("path, content_type, body", [
    ("/code", "text/plain", SESSION),
    ("/sparql", "application/x-www-form-urlencoded", b"query=" + urllib.parse.quote(ASK).encode()),
])
def test_cross_site_posts_are_refused(endpoint, path, content_type, body):
    status, _, answer = http(f"{endpoint}{path}", data=body,
                             headers={"Content-Type": content_type, "Origin": "https://attacker.example"})
    assert status == 403 and b"--allow-origin" in answer
    own = http(f"{endpoint}{path}", data=body, headers={"Content-Type": content_type, "Origin": endpoint})
    allowed = http(f"{endpoint}{path}", data=body,
                   headers={"Content-Type": content_type, "Origin": "https://app.example.org"})
    assert own[0] != 403 and allowed[0] != 403


def test_the_page_forbids_framing_and_foreign_scripts(endpoint):
    status, headers, _ = http(f"{endpoint}/")
    csp = headers["Content-Security-Policy"]
    assert status == 200 and "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
    assert headers["X-Frame-Options"] == "DENY"
