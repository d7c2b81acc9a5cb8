"""Every bad input in tests/errors ends in exit 2 with a message naming field and value.

A fixture is a session file (.json or .ttl) and, beside it, NAME.expect.json:
{"exit": 2, "message": [substrings the stderr line must contain]}.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ERROR_DIR = Path(__file__).parent / "errors"
INPUTS = sorted(p for p in ERROR_DIR.iterdir() if not p.name.endswith(".expect.json"))


@pytest.mark.parametrize("path", INPUTS, ids=[p.name for p in INPUTS])
def test_bad_input(path):
    expect = json.loads(path.with_name(path.stem + ".expect.json").read_text())
    proc = subprocess.run([sys.executable, "-m", "reasoner", "code", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == expect["exit"], proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in expect["message"]:
        assert fragment.lower() in lines[0].lower(), (fragment, lines[0])
