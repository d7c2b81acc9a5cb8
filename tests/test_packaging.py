"""Installed, Chemoden works outside its checkout: the wheel carries the ontology, the query
page and the license. Build the wheel, install it into a fresh virtual environment, and from a
folder outside the checkout run `code`, `check`, `query --list` and `serve` answering a query."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("packaging")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy: setuptools writes its scratch folder (build/) into the source tree, and a
    # stale or concurrent one in the checkout breaks the build ("File exists", "Directory not empty").
    source = tmp_path_factory.mktemp("source") / "chemoden"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "node_modules",
        "test-artifacts", ".ruff_cache", ".hypothesis", ".import_linter_cache"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(out), "-q"],
                          capture_output=True, text=True, cwd=out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "absent from the packages configuration" not in proc.stderr, proc.stderr
    return next(out.glob("chemoden-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The bin folder of a fresh virtual environment with the wheel (and its fast extra) installed."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=True)
    bin_dir = env / "bin"
    proc = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", f"{wheel}[fast]"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return bin_dir


def _run(bin_dir: Path, cwd: Path, *args, timeout=300):
    env = {k: v for k, v in os.environ.items() if k not in ("CHEMODEN_ONTOLOGY", "PYTHONPATH")}
    return subprocess.run([str(bin_dir / "chemoden"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_the_wheel_carries_the_ontology_the_page_and_the_license(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.split("/", 2)[2] for n in names if n.startswith("reasoner/ontology/")}
    in_checkout = {str(p.relative_to(ROOT / "ontology")) for p in (ROOT / "ontology").rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts}
    assert in_checkout <= shipped, sorted(in_checkout - shipped)
    assert "reasoner/web/index.html" in names and "reasoner/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_installed_chemoden_codes_checks_and_lists_outside_the_checkout(installed, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    example = work / "session.json"
    shutil.copy(ROOT / "examples" / "seed-60f-cervical-dystonia.json", example)
    proc = _run(installed, work, "code", "--format", "json", "session.json")
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["lines"], proc.stdout
    proc = _run(installed, work, "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no problems" in proc.stdout and "site-packages/reasoner/ontology" in proc.stdout
    proc = _run(installed, work, "query", "--list")
    assert proc.returncode == 0 and "code-frequencies" in proc.stdout, proc.stderr
    proc = _run(installed, work, "--version")
    assert re.fullmatch(r"chemoden \d+\.\d+\.\d+\S*\n", proc.stdout), proc.stdout


def test_installed_chemoden_serves_a_query(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CHEMODEN_ONTOLOGY", "PYTHONPATH")}
    server = subprocess.Popen([str(installed / "chemoden"), "serve", "--port", "0", "--workers", "1"], cwd=tmp_path,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline, address = time.monotonic() + 240, None
        while address is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line and server.poll() is not None:
                break
            match = re.search(r"(http://[^ ]+)/sparql", line)
            address = match.group(1) if match else None
        assert address, "the server did not start"
        request = urllib.request.Request(f"{address}/sparql?query=ASK%7B%3Fs%20a%20%3Fo%7D",
                                         headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert json.loads(answer.read())["boolean"] is True
    finally:
        server.terminate()
        server.wait(30)
