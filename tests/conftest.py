"""Shared fixtures: the shipped ontology, loaded once per test process."""

import json
import os
import sys
from pathlib import Path

import pytest

from reasoner import load_ontology

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS.parent / "benchmarks"))  # generate.py and load.py for the tests
CASES = sorted((TESTS / "cases").glob("*.json"))
AUDITS = sorted((TESTS / "audit").glob("*.json"))
ERRORS = sorted((TESTS / "errors").glob("*"))
# `make parity` (CHEMODEN_PARITY=full, run by CI after `make test`) compares the reference paths
# (owlrl closure, rdflib store) with the fast ones on every fixture; `make test` on a sample
# that fires every rule.
PARITY_FULL = os.environ.get("CHEMODEN_PARITY") == "full"


def pytest_collection_modifyitems(config, items):
    if PARITY_FULL:
        return
    later = pytest.mark.skip(reason="a reference comparison of `make parity` (CI runs it after `make test`)")
    for item in items:
        if item.get_closest_marker("parity"):
            item.add_marker(later)


def covering(items: list, fired: dict) -> list:
    """The fewest items (greedily, in their order on ties) whose fired sets together hold all that
    any item fires."""
    wanted = set().union(*fired.values()) if fired else set()
    chosen = []
    while wanted:
        best = max(items, key=lambda i: (len(fired[i] & wanted), -items.index(i)))
        chosen.append(best)
        wanted -= fired[best]
    return chosen


def load_case(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def line_key(line) -> tuple:
    """What a fixture pins down about a line: code, units, modifiers (order-free) and NDC."""
    if isinstance(line, dict):
        return (line["code"], int(line.get("units", 1)), tuple(sorted(line.get("modifiers", []))), line.get("ndc"))
    return (line.code, line.units, tuple(sorted(line.modifiers)), line.ndc)


@pytest.fixture(scope="session")
def ontology():
    return load_ontology()


ENDPOINT_LOG: dict = {}  # where the endpoint below writes its log (worker deaths, warnings)


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory):
    """`chemoden serve` on a free loopback port, over the example sessions, with limits small
    enough to test: 3 s a query (1 s in the short lane), 2,000 rows, 100 kB a request, 5 MB an
    answer, 2 s for a client to send its headers or body. Yields its base URL."""
    import os
    import subprocess
    import sys
    import time

    root = TESTS.parent
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    ENDPOINT_LOG["path"] = log
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "reasoner", "serve", "--port", "0", "--session", "examples",
                                 "--timeout", "3", "--max-rows", "2000", "--max-request", "100000", "--workers", "2",
                                 "--short-budget", "1", "--client-timeout", "2", "--max-response", "5000000",
                                 "--allow-origin", "https://app.example.org"],
                                cwd=root, stdout=subprocess.DEVNULL, stderr=err, env=os.environ.copy())
    deadline = time.monotonic() + 120
    url = None
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        for line in log.read_text().splitlines():
            if "SPARQL endpoint http://" in line:
                url = line.split("SPARQL endpoint ")[1].split()[0].rsplit("/sparql", 1)[0]
        time.sleep(0.1)
    if url is None:
        proc.kill()
        pytest.fail(f"chemoden serve did not start: {log.read_text()}")
    yield url
    proc.terminate()  # the server ends its workers on the way out
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
