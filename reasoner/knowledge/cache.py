"""The ontology's OWL-RL closure, computed once and kept on disk.

Keyed by a hash of every ontology file and rule (Ontology.digest) and the engine, so a change
to the ontology rebuilds it. Stored under $CHEMODEN_CACHE, else $XDG_CACHE_HOME/chemoden, else
~/.cache/chemoden: never inside the repository. Each change to an ontology copy leaves a new
entry, so every write keeps only the KEEP most recently used entries of its kind (closures,
verdicts) and removes the others; reading an entry marks it used.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rdflib import Graph

from ..engines import registry

KEEP = 8  # entries of each kind (closures, verdicts) kept in the cache directory, the most recently used



def directory() -> Path:
    if os.environ.get("CHEMODEN_CACHE"):
        return Path(os.environ["CHEMODEN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chemoden"


def closure(ontology, engine: str) -> Graph:
    """The ontology's closure by `engine`, from the disk cache when it is there."""
    engine = registry.closure_engine(engine)
    path = directory() / f"closure-{ontology.digest[:16]}-{engine}.nt"
    if path.exists():
        try:
            graph = Graph().parse(path, format="nt")
        except Exception:  # a damaged cache file is rebuilt, never trusted
            path.unlink(missing_ok=True)
        else:
            used(path)
            return graph
    graph = ontology.closure(engine)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            graph.serialize(tmp, format="nt", encoding="utf-8")
        os.replace(tmp.name, path)  # atomic: concurrent workers never read half a file
    except OSError:
        pass  # a read-only home is no reason to fail: the closure is simply not kept
    prune("closure-*.nt")
    return graph


def used(path: Path) -> None:
    """Mark an entry as just used, so pruning keeps it (its modification time is the clock)."""
    try:
        os.utime(path)
    except OSError:
        pass  # gone meanwhile, or read-only: it is only a cache


def prune(pattern: str, keep: int | None = None) -> None:
    """Remove all but the `keep` (default KEEP) most recently used entries matching `pattern`.
    Another process may be pruning too, or writing: a file already gone is no error."""
    keep = KEEP if keep is None else keep
    entries = []
    for path in directory().glob(pattern):
        try:
            entries.append((path.stat().st_mtime, path))
        except OSError:
            continue
    entries.sort(key=lambda entry: entry[0], reverse=True)
    for _, path in entries[keep:]:
        try:
            path.unlink()
        except OSError:
            pass
