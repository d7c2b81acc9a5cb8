"""The Makefile's targets do what the README's Quick start says (read with `make -n`, which prints
the commands a target would run without running them)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*args: str) -> str:
    proc = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_run_installs_the_query_page_files_before_coding(tmp_path):
    # WEB names the file `npm ci` leaves behind; pointing it at a missing one is a fresh checkout
    commands = dry_run("run", f"WEB={tmp_path / 'node_modules' / '.package-lock.json'}")
    assert "npm ci" in commands and "chemoden code examples/" in commands
    assert commands.index("npm ci") < commands.index("chemoden code examples/")


def test_bench_store_is_its_own_target_not_part_of_make_test():
    assert "benchmarks/store.py" in dry_run("bench-store")
    phony = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith(".PHONY:"))
    assert "bench-store" in phony.split()
    assert "store.py" not in dry_run("test")  # the long benchmark never runs with the tests
