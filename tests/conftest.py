"""Shared fixtures: the shipped ontology, loaded once per test process."""

import json
from pathlib import Path

import pytest

from reasoner import load_ontology

TESTS = Path(__file__).parent
CASES = sorted((TESTS / "cases").glob("*.json"))
AUDITS = sorted((TESTS / "audit").glob("*.json"))
ERRORS = sorted((TESTS / "errors").glob("*"))


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
