"""Every claim-audit fixture in tests/audit gives exactly its expected findings.

A fixture is {"description", "source", "profile"?, "session": {... "billed": [...]},
"expected": {"conflicts": [rule ids, exactly], "lines"?: [...], "corrected"?: {rule id: [lines]},
"messages"?: {rule id: [substrings]}}}. Exit status follows: 1 with an error finding, else 0.
"""

import pytest
from conftest import AUDITS, line_key, load_case

from reasoner import code_json


@pytest.mark.parametrize("path", AUDITS, ids=[p.stem for p in AUDITS])
def test_audit(path, ontology):
    case = load_case(path)
    expected = case["expected"]
    result = code_json(case["session"], ontology, profile=case.get("profile"))
    table = result.to_table()
    assert sorted({c.rule for c in result.conflicts}) == sorted(set(expected["conflicts"])), f"{case['description']}\n{table}"
    if "lines" in expected:
        assert sorted(line_key(ln) for ln in result.lines) == sorted(line_key(ln) for ln in expected["lines"]), table
    for rule, lines in expected.get("corrected", {}).items():
        found = [c for c in result.conflicts if c.rule == rule]
        got = sorted({line_key(ln) for c in found for ln in c.corrected})
        assert got == sorted(line_key(ln) for ln in lines), (rule, table)
    for rule, fragments in expected.get("messages", {}).items():
        text = " ".join(c.message for c in result.conflicts if c.rule == rule).lower()
        for fragment in fragments:
            assert fragment.lower() in text, (rule, fragment, table)
    for finding in result.conflicts:
        if finding.kind == "audit":
            assert finding.message and finding.codes, finding
