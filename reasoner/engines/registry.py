"""Which engines exist, which are installed here, and what "auto" means: decided once, here.

An engine is the way a session is coded:
- "fast": the ontology's OWL-RL closure cached, the OWL 2 RL rules over each chunk compiled in
  Python (engines/rl.py), the rules and checks run by Oxigraph; needs pyoxigraph;
- "owlrl": the reference, the owlrl closure of ontology plus session, rdflib's SPARQL;
- "reasonable": the reference flow with the Rust OWL 2 RL reasoner; needs reasonable.
"auto" is "fast" where pyoxigraph is installed, else "owlrl". The fast path closes the
ontology itself with reasonable where installed (parity-tested), else owlrl.

A missing optional package is an EngineMissing error (exit 2) naming what to install.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

from ..core.errors import EngineMissing, InputError


@dataclass(frozen=True)
class Engine:
    name: str
    packages: tuple[str, ...]  # optional packages it needs
    extra: str  # the pip extra that brings them
    summary: str


ENGINES = {
    "fast": Engine("fast", ("pyoxigraph",), "fast",
                   "cached ontology closure, OWL 2 RL rules in Python, SPARQL on Oxigraph"),
    "owlrl": Engine("owlrl", (), "", "the reference: owlrl closure of ontology plus session, rdflib SPARQL"),
    "reasonable": Engine("reasonable", ("reasonable",), "fast", "the reference flow with the Rust reasoner"),
}
CHOICES = ("auto", *ENGINES)
HELP = ("fast (cached closure, Oxigraph), owlrl (the reference path), reasonable; "
        "auto = fast where pyoxigraph is installed, else owlrl")


@cache
def has_package(name: str) -> bool:
    """True when the optional package imports (probed once per process)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def has_oxigraph() -> bool:
    return has_package("pyoxigraph")


def installed(name: str) -> bool:
    engine = ENGINES.get(name)
    return engine is not None and all(has_package(p) for p in engine.packages)


def require(name: str) -> str:
    """`name` when it is an engine installed here; else EngineMissing naming what to install."""
    engine = ENGINES.get(name)
    if engine is None:
        raise InputError(f"unknown engine {name!r} (known: {', '.join(CHOICES)})", field="--engine")
    missing = [p for p in engine.packages if not has_package(p)]
    if missing:
        raise EngineMissing(f"engine {name!r} needs {', '.join(missing)}, which is not installed: "
                            f"pip install 'chemoden[{engine.extra}]' (or use --engine owlrl)", field="--engine")
    return name


def resolve(name: str = "auto") -> str:
    """The engine that codes: "auto" decided here, any other name checked as installed."""
    if name == "auto":
        return "fast" if has_oxigraph() else "owlrl"
    return require(name)


def closure_engine(name: str = "auto") -> str:
    """The OWL-RL reasoner that closes a graph for this engine: owlrl or reasonable."""
    if name in ("auto", "fast"):
        return "reasonable" if installed("reasonable") else "owlrl"
    return require(name)


def status() -> dict[str, bool]:
    """Every engine and whether it is installed here (for `chemoden --version` and docs)."""
    return {name: installed(name) for name in ENGINES}
