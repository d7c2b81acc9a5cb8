"""The ontology's OWL-RL closure, computed once and kept on disk.

Keyed by a hash of every ontology file and rule (Ontology.digest) and the engine, so a change
to the ontology rebuilds it. Stored under $CHEMODEN_CACHE, else $XDG_CACHE_HOME/chemoden, else
~/.cache/chemoden: never inside the repository.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rdflib import Graph

from ..engines import registry


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
            return Graph().parse(path, format="nt")
        except Exception:  # a damaged cache file is rebuilt, never trusted
            path.unlink(missing_ok=True)
    graph = ontology.closure(engine)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            graph.serialize(tmp, format="nt", encoding="utf-8")
        os.replace(tmp.name, path)  # atomic: concurrent workers never read half a file
    except OSError:
        pass  # a read-only home is no reason to fail: the closure is simply not kept
    return graph
