"""Load the ontology: its Turtle files and its rule, conflict and note queries.

Everything the reasoner knows about muscles, codes and policies comes from the
folder read here; the Python code only orchestrates.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from rdflib import Graph
from rdflib.plugins.sparql import prepareQuery, prepareUpdate

from ..core.errors import OntologyError
from ..engines import registry
from ..engines.inference import closure as owl_rl_closure
from . import reading
from .names import NameIndex
from .reading import Lexicon

# Folder name -> kind of query file. Files run in name order inside a folder.
QUERY_FOLDERS = {"rules": "rule", "conflicts": "conflict", "audit": "audit", "notes": "note", "history": "history"}
SEVERITIES = ("error", "warning")
_HEADER = re.compile(r"^#\s*([a-z][a-z-]*)\s*:\s*(.*)$")


def default_directory() -> Path:
    """The ontology folder: $CHEMODEN_ONTOLOGY; else ontology/ beside the package in a checkout;
    else the copy the installed package carries (read through importlib.resources)."""
    env = os.environ.get("CHEMODEN_ONTOLOGY")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "ontology"
    if (checkout / "chemoden.ttl").is_file():
        return checkout
    shipped = Path(str(resources.files("reasoner") / "ontology"))  # the wheel's copy (setup.py)
    return shipped if shipped.is_dir() else checkout  # neither: Ontology() says the folder is not found


@dataclass(frozen=True)
class QueryFile:
    """One .rq file with its header (id, severity, rationale, source)."""

    id: str
    kind: str  # rule | conflict | audit | note | history
    form: str  # construct | update | select
    path: Path
    text: str
    rationale: str
    source: str
    severity: str | None = None
    header: dict = field(default_factory=dict, compare=False)

    @property
    def supersedes(self) -> frozenset[str]:
        """Rule ids whose findings on the same codes this rule's finding replaces."""
        return frozenset(self.header.get("supersedes", "").replace(",", " ").split())

    @cached_property
    def prepared(self):
        return prepareUpdate(self.text) if self.form == "update" else prepareQuery(self.text)


def header_lines(text: str) -> dict[str, list[str]]:
    """The leading '# key: value' comment lines of a query file, each key with its first value
    and the raw lines indented under it ('#   ...'), which continue it."""
    header: dict[str, list[str]] = {}
    last = None
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        match = _HEADER.match(line)
        if match and not line.startswith("#  "):
            last = match.group(1)
            header[last] = [match.group(2).strip()]
        elif last:
            header[last].append(line[1:].rstrip())
    return header


def parse_header(text: str) -> dict[str, str]:
    """Read the leading '# key: value' comment lines; indented '#' lines continue a value."""
    return {key: " ".join(part.strip() for part in lines if part.strip()) for key, lines in header_lines(text).items()}


def _query_form(text: str, read_only: bool = False) -> str:
    """construct, select or update; with `read_only` (the library of named queries) also ask
    and describe, which no rule, conflict, audit check or note may be."""
    body = "\n".join(
        line for line in text.splitlines()
        if not line.lstrip().startswith("#") and not re.match(r"\s*(PREFIX|BASE)\b", line, re.I)
    )
    word = re.search(r"[A-Za-z]+", body)
    keyword = word.group(0).upper() if word else ""
    if keyword in ("INSERT", "DELETE", "WITH"):
        return "update"
    if keyword == "CONSTRUCT":
        return "construct"
    if keyword == "SELECT":
        return "select"
    if read_only and keyword in ("ASK", "DESCRIBE"):
        return keyword.lower()
    raise ValueError(f"expected CONSTRUCT, SELECT or an update, found {keyword or 'nothing'!r}")


def load_query(path: Path, kind: str) -> QueryFile:
    text = path.read_text(encoding="utf-8")
    header = parse_header(text)
    missing = [k for k in ("id", "rationale", "source") if not header.get(k)]
    if kind in ("conflict", "audit") and header.get("severity") not in SEVERITIES:
        missing.append("severity (error or warning)")
    if kind == "history" and header.get("severity") not in SEVERITIES + ("note",):
        missing.append("severity (error, warning or note)")
    if missing:
        raise OntologyError(f"header lacks {', '.join(missing)}", source=str(path))
    try:
        form = _query_form(text)
    except ValueError as exc:
        raise OntologyError(str(exc), source=str(path)) from None
    query = QueryFile(
        id=header["id"], kind=kind, form=form, path=path, text=text,
        rationale=header["rationale"], source=header["source"],
        severity=header.get("severity"), header=header,
    )
    try:
        _check_syntax(query)  # now, so that a broken rule fails at load, naming its file
    except Exception as exc:  # the parsers raise errors of several kinds
        raise OntologyError(f"SPARQL syntax error: {exc}", source=str(path)) from None
    return query


def _check_syntax(query: QueryFile) -> None:
    """Parse the query: with Oxigraph when installed (fast), else by preparing it with rdflib."""
    if not registry.has_oxigraph():
        query.prepared  # noqa: B018
        return
    import pyoxigraph

    store = pyoxigraph.Store()
    if query.form == "update":
        store.update(query.text)
    else:
        store.query(query.text)


class Ontology:
    """The asserted ontology graph plus its query files, loaded once per process."""

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory else default_directory()
        if not self.directory.is_dir():
            raise OntologyError("ontology folder not found", source=str(self.directory))
        self.turtle_files = sorted(self.directory.glob("*.ttl"))
        if not self.turtle_files:
            raise OntologyError("no Turtle files in the ontology folder", source=str(self.directory))
        self.graph = Graph()
        for path in self.turtle_files:
            try:
                self.graph.parse(path, format="turtle")
            except Exception as exc:
                raise OntologyError(f"cannot parse Turtle: {exc}", source=str(path)) from None
        self.queries: dict[str, list[QueryFile]] = {}
        for folder, kind in QUERY_FOLDERS.items():
            self.queries[kind] = [load_query(p, kind) for p in sorted((self.directory / folder).glob("*.rq"))]
        seen: dict[str, Path] = {}
        for query in self.all_queries:
            if query.id in seen:
                raise OntologyError(f"rule id {query.id!r} is also used by {seen[query.id]}", source=str(query.path))
            seen[query.id] = query.path
        self._closures: dict[str, Graph] = {}

    @property
    def all_queries(self) -> list[QueryFile]:
        return [q for kind in QUERY_FOLDERS.values() for q in self.queries[kind]]

    def query(self, rule_id: str) -> QueryFile:
        for query in self.all_queries:
            if query.id == rule_id:
                return query
        raise KeyError(rule_id)

    @cached_property
    def digest(self) -> str:
        """A hash of every file the reasoning depends on (cache key for closures)."""
        h = hashlib.sha256()
        for path in self.turtle_files + [q.path for q in self.all_queries]:
            h.update(path.name.encode())
            h.update(path.read_bytes())
        return h.hexdigest()

    @cached_property
    def content_digest(self) -> str:
        """A hash of every file in the folder (what `chemoden check` reads), for verdicts."""
        h = hashlib.sha256()
        for path in sorted(p for p in self.directory.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(self.directory)).encode())
            h.update(path.read_bytes())
        return h.hexdigest()

    @cached_property
    def context(self) -> dict:
        path = self.directory / "context.jsonld"
        try:
            return json.loads(path.read_text(encoding="utf-8"))["@context"]
        except (OSError, ValueError, KeyError) as exc:
            raise OntologyError(f"cannot read the JSON-LD context: {exc}", source=str(path)) from None

    @cached_property
    def names(self) -> NameIndex:
        return NameIndex(self.graph)

    @cached_property
    def lexicon(self) -> Lexicon:
        """The words procedure notes are read with (knowledge/reading.py)."""
        return reading.build(self.graph, self.names)

    def closure(self, engine: str) -> Graph:
        """The ontology's own OWL-RL closure, computed once per engine."""
        if engine not in self._closures:
            self._closures[engine] = owl_rl_closure(self.graph, engine)
        return self._closures[engine]


_DEFAULT: dict[Path, Ontology] = {}


def load(directory: str | Path | None = None) -> Ontology:
    """The ontology in `directory` (default: see default_directory), cached per folder."""
    path = (Path(directory) if directory else default_directory()).resolve()
    if path not in _DEFAULT:
        _DEFAULT[path] = Ontology(path)
    return _DEFAULT[path]
