"""The ontology is checked before it codes: the billing invariants (knowledge/check.py's
`invariants`) must hold, or every command that codes stops with exit 3 and the problems
`chemoden check` reports, FILE:LINE first.

The check takes seconds (pySHACL), so its verdict is kept by the content hash of the whole
ontology folder: in the process, and on disk beside the closure cache (pruned like it: the
cache.KEEP most recently used verdicts stay). A changed file changes the hash, so a stale
verdict is never read.
"""

from __future__ import annotations

import json
import os
import tempfile

from ..core.errors import OntologyError
from . import cache, check

_CLEAN: set[str] = set()


def verify(ontology) -> None:
    """Raise OntologyError when the ontology breaks a billing invariant (cached by content hash)."""
    key = ontology.content_digest
    if key in _CLEAN:
        return
    path = cache.directory() / f"verdict-{key[:32]}.json"
    problems = None
    try:
        problems = json.loads(path.read_text(encoding="utf-8"))["problems"]
        cache.used(path)
    except (OSError, ValueError, KeyError, TypeError):
        problems = None  # not kept yet, or damaged: check again
    if problems is None:
        problems = [str(p) for p in check.invariants(ontology.directory)]
        _keep(path, problems)
    if problems:
        shown = "\n  ".join(problems)
        raise OntologyError(f"the ontology breaks {len(problems)} billing invariant(s), so it is not used to code "
                            f"(chemoden check {ontology.directory} lists every problem):\n  {shown}",
                            source=str(ontology.directory))
    _CLEAN.add(key)


def _keep(path, problems: list[str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as tmp:
            json.dump({"problems": problems}, tmp)
        os.replace(tmp.name, path)  # atomic: concurrent processes never read half a file
    except OSError:
        pass  # a read-only home: the verdict is simply not kept
    cache.prune("verdict-*.json")
