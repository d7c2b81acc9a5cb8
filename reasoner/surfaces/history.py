"""The treatment-history store: `chemoden load`, `query/serve --store`, `code --store`, `export`.

A load codes its records on the batch fast path (worker processes, chunks, error records:
nothing lost) and writes each session's graphs into the on-disk store (engines/diskstore.py),
replacing a session loaded before under the same id:

    graph/session/{id}/asserted   the session as read and resolved
    graph/session/{id}/inferred   its OWL-RL classification
    graph/session/{id}/result     its billing lines, conflicts and notes, and the history findings
    graph/session/{id}/input      the input as given (patient identifier already keyed), to recode

Then the rules across visits (coding/history.py) run for every patient the load touched, and
a snapshot is published for readers. The store remembers the ontology's hash, the profile and
the patient key's fingerprint it was built with; another ontology or profile is refused until
`--recode` recodes what it holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TextIO

from rdflib import Literal

from ..coding import history
from ..coding.entry import Coder
from ..core.errors import EXIT_CONFLICTS, EXIT_INPUT, EXIT_OK, ChemodenError, InputError
from ..core.vocab import CD
from ..engines.backend import nt, nt_line, to_quads
from ..engines.diskstore import Reader, Writer
from ..engines.store import OxigraphStore
from ..intake.files import Record, count_records, sources
from ..intake.read import note_document
from ..knowledge.ontology import Ontology
from . import batch
from .dataset import ONTOLOGY_GRAPH, ONTOLOGY_INFERRED, Dataset, ontology_graphs, result_graphs, session_graph

# The parent gathers the workers' N-Quads and hands them to the store's bulk loader this many
# sessions (or bytes) at a time: far quicker a quad than a transaction per chunk. Each call adds
# its own files to the database, which RocksDB then compacts into what it holds: 256 sessions a
# call made that work grow with the store (the writing of a 40,000-session store took 179 s of
# CPU), 512 keep it flat (125 s; 1,024 no quicker and 100 MB more memory). About 28 KB of
# N-Quads a session.
HISTORY_CHUNK = 512
HISTORY_BYTES = 16 * 1024 * 1024


# ---------------------------------------------------------------------------
# The patient key
# ---------------------------------------------------------------------------

def read_key(path: str | None) -> bytes | None:
    """The secret of --patient-key FILE (its bytes, surrounding white space removed)."""
    if path is None:
        return None
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise InputError(f"cannot read the key file: {exc.strerror}", source=str(path), field="--patient-key") from None
    if len(key) < 16:
        raise InputError(f"the key has {len(key)} bytes; use at least 16 random bytes (e.g. openssl rand -hex 32)",
                         source=str(path), field="--patient-key")
    return key


def fingerprint(key: bytes | None) -> str | None:
    """What the manifest keeps of the key: enough to tell two keys apart, nothing to recover it."""
    return None if key is None else hmac.new(key, b"chemoden store key check", hashlib.sha256).hexdigest()[:16]


# ---------------------------------------------------------------------------
# Compatibility of a store with this run
# ---------------------------------------------------------------------------

def check_manifest(manifest: dict, ontology: Ontology, profile: str | None, key: bytes | None, directory,
                   *, writing: bool, key_matters: bool = True) -> None:
    """Refuse a store built with another ontology, profile or patient key (all said at once)."""
    problems = []
    if manifest.get("ontology") and manifest["ontology"] != ontology.digest:
        problems.append(f"it was built with another ontology (hash {manifest['ontology'][:12]}, this one is "
                        f"{ontology.digest[:12]}); recode what it holds with: chemoden load --store {directory} --recode")
    if writing and "profile" in manifest and profile != manifest.get("profile"):
        problems.append(f"it was built with --profile {manifest.get('profile') or '(each session its own)'}, not "
                        f"{profile or '(each session its own)'}; recode it with: chemoden load --store {directory} "
                        f"--recode{' --profile ' + profile if profile else ''}")
    # only where patient identifiers meet the store's (load, code --store): reading needs no key
    if key_matters and "patient_key" in manifest and fingerprint(key) != manifest.get("patient_key"):
        if manifest.get("patient_key") is None:
            problems.append("its patient identifiers are not keyed: leave out --patient-key")
        elif key is None:
            problems.append("its patient identifiers are keyed: give the same --patient-key FILE")
        else:
            problems.append("its patient identifiers were keyed with another --patient-key")
    if problems:
        raise InputError("; ".join(problems), source=str(directory), field="--store")


# ---------------------------------------------------------------------------
# Workers: code a chunk, return what the store needs as N-Quads
# ---------------------------------------------------------------------------

_STATE: dict = {}


@dataclass
class Loaded:
    """One record as a worker hands it back: its session's quads, or its error record."""

    number: int
    error_line: str | None = None
    failure: str | None = None
    identifier: str | None = None
    patient: str | None = None
    nquads: bytes = b""  # the asserted, inferred and result graphs
    input_nquads: bytes = b""  # the input graph: written last, so a session counts as stored once whole
    conflicts: bool = False
    errors: bool = False


def _init(ontology_dir, profile, engine, chunk_size, key) -> None:
    batch._init_worker(ontology_dir, profile, engine, chunk_size)
    coder = batch._STATE["coder"]
    coder.patient_key = key
    if "known" not in _STATE or _STATE.get("ontology") is not coder.ontology:
        # the ontology's triples as N-Triples lines: what a session's graphs leave out
        _STATE.update(ontology=coder.ontology, known={nt_line(t) for t in ontology_graphs(coder.ontology, engine)[2]})


def _input_text(record: Record, session, index: int, key: bytes | None) -> tuple[str, str]:
    """(format, text) of the session as given, its patient identifier keyed: the JSON document,
    the procedure note's text, or the session's input triples as N-Triples. A note is kept as
    written, for --recode to read it again, unless it names the patient and a patient key is in
    use: its words hold the identifier the key stands for, so the session read from it is kept
    instead (JSON, keyed; pseudonymise has left out the note's annotations, as a recode will)."""
    import pyoxigraph as ox

    if record.fmt == "text" and getattr(session, "note", None) is not None:
        if key is None or session.patient is None:
            return "text", session.note.text
        doc = dict(note_document(session.note), patient=session.patient)
        return "json", json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if record.fmt != "turtle" and session.plain:
        doc = json.loads(record.text)
        if isinstance(doc, list):
            doc = doc[index]
        if key is not None and "patient" in doc:
            doc = dict(doc, patient=session.patient)
        return "json", json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    triples = [(s, p, Literal(session.patient) if p == CD.patientId and key is not None else o)
               for s, p, o in session.input_graph]
    return "turtle", ox.serialize(to_quads(triples), format=ox.RdfFormat.N_TRIPLES).decode("utf-8")


def _load_chunk(records: list[Record]) -> list[Loaded]:
    coder = batch._STATE["coder"]
    out = []
    for outcome in coder.code(records, one_session="a load record"):
        record = outcome.record
        if outcome.error is not None:
            line, status = batch._output(outcome)  # the error record (a coded one needs no JSON)
            out.append(Loaded(record.number, error_line=line, failure=status[1]))
            continue
        result = outcome.results[0]
        session = result.session
        # N-Quads written as text: Oxigraph quads and its serialiser cost more than coding
        # made them worth (the store's parser reads the text back into the same quads)
        quads = []
        for part, lines in result_graphs(result, _STATE["known"], nt_line).items():
            graph = nt(session_graph(session.identifier, part))
            quads += [f"{line} {graph} .\n" for line in lines]
        fmt, text = _input_text(record, session, 0, coder.patient_key)
        graph = nt(session_graph(session.identifier, "input"))
        given = [f"{nt_line(t)} {graph} .\n" for t in ((session.iri, CD.inputFormat, Literal(fmt)),
                                                        (session.iri, CD.inputDocument, Literal(text)))]
        out.append(Loaded(record.number, identifier=session.identifier, patient=session.patient,
                          nquads="".join(quads).encode("utf-8"), input_nquads="".join(given).encode("utf-8"),
                          conflicts=bool(result.conflicts), errors=result.has_errors))
    return out


# ---------------------------------------------------------------------------
# The load
# ---------------------------------------------------------------------------

@dataclass
class LoadSummary(batch.Summary):
    replaced: int = 0
    patients: int = 0
    history_findings: int = 0
    history_seconds: float = 0.0
    sessions_in_store: int = 0
    errors_file: str | None = None
    failure_lines: list[str] = field(default_factory=list, repr=False)

    def text(self) -> str:
        rate = (self.coded + self.failed) / self.seconds if self.seconds else 0.0  # the records of this run
        parts = [f"{self.total} records", f"{self.coded} coded ({self.replaced} replaced a session already stored)",
                 f"{self.failed} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} already in the store (resumed)")
        return (f"load: {', '.join(parts)}; {rate:.1f} records/s; history of {self.patients} patients checked "
                f"({self.history_findings} findings, {self.history_seconds:.1f} s); the store holds "
                f"{self.sessions_in_store} sessions")


def _all_records(inputs: list[str]) -> Iterator[Record]:
    for path in inputs:
        if not Path(path).exists():
            yield Record(0, str(path), None, None, InputError("file not found", source=str(path)))
        else:
            yield from sources([path])


def _count(inputs: list[str]) -> int:
    total = 0
    for path in inputs:
        p = Path(path)
        total += count_records(p) if p.is_dir() or p.suffix.lower() in (".jsonl", ".ndjson") else 1
    return total


def _stored_ids(store) -> set[str]:
    """The identifiers of the sessions a store holds."""
    rows = store.query("PREFIX cd: <https://w3id.org/chemoden#> SELECT ?id WHERE { GRAPH ?g { ?s cd:inputDocument ?d } "
                       "GRAPH ?h { ?s a cd:Session ; cd:identifier ?id } }")
    return {r["id"].value for r in rows}


def _recode_records(store) -> Iterator[Record]:
    """The sessions a store holds, as records of their input (to code them again)."""
    rows = store.query("PREFIX cd: <https://w3id.org/chemoden#> SELECT ?s ?f ?d WHERE { GRAPH ?g { ?s cd:inputFormat ?f ; "
                       "cd:inputDocument ?d } } ORDER BY ?s")
    for n, row in enumerate(rows, start=1):
        yield Record(n, f"store:{row['s'].value}", row["d"].value.encode("utf-8"), row["f"].value)


def run_load(inputs: list[str], directory: str | Path, *, jobs: int | None = None, dask: str | None = None,
             profile: str | None = None, resume: bool = False, recode: bool = False, key: bytes | None = None,
             engine: str = "auto", ontology_dir: str | None = None, chunk_size: int = 64, quiet: bool = False,
             progress_stream: TextIO | None = None) -> LoadSummary:
    import pyoxigraph as ox

    _init(ontology_dir, profile, engine, chunk_size, key)
    coder: Coder = batch._STATE["coder"]
    ontology = coder.ontology
    writer = Writer(directory, create=not recode)
    summary = LoadSummary()
    try:
        manifest = writer.manifest
        if recode:
            profile = profile if profile is not None else manifest.get("profile")
            batch._STATE.clear()
            _init(ontology_dir, profile, engine, chunk_size, None)  # what is stored is keyed already
            coder = batch._STATE["coder"]
            # only the key is checked: a recode is how a store changes its ontology or profile
            check_manifest({k: v for k, v in manifest.items() if k == "patient_key"}, ontology, profile, key, directory,
                           writing=False)
        else:
            check_manifest(manifest, ontology, profile, key, directory, writing=True)
        store = writer.store
        # the ontology's graphs: (re)written whenever the ontology is new to the store
        if manifest.get("ontology") != ontology.digest:
            asserted, inferred, _ = ontology_graphs(ontology, engine)
            for name, triples in ((ONTOLOGY_GRAPH, asserted), (ONTOLOGY_INFERRED, inferred)):
                graph = ox.NamedNode(str(name))
                if store.contains_named_graph(graph):
                    store.remove_graph(graph)
                store.bulk_extend(to_quads(triples, graph))
        existing = _stored_ids(store)
        if recode:
            records = list(_recode_records(store))
            inputs_total = len(records)
            record_iter: Iterable[Record] = iter(records)
        else:
            inputs_total = _count(inputs)
            record_iter = _all_records(inputs)
        summary.total = inputs_total
        if resume and not recode:
            record_iter = _skip_loaded(record_iter, existing, summary)
        stream = progress_stream or sys.stderr
        progress = batch.Progress(summary.total, stream, enabled=not quiet and stream.isatty())
        progress.update(summary.skipped)
        errors_path = Path(directory) / "load-errors.jsonl"
        touched: set[str] = set()
        start = time.monotonic()
        pending = _Pending(store)
        with open(errors_path, "a", encoding="utf-8") as errors_file:
            for chunk in _coded(record_iter, jobs, dask, ontology_dir, profile, engine, chunk_size, key):
                _write(store, pending, chunk, existing, summary, touched, errors_file)
                progress.update(len(chunk))
            pending.flush()
        progress.close()
        summary.seconds = time.monotonic() - start
        if summary.failed:
            summary.errors_file = str(errors_path)
        # the rules across visits: the patients touched (all of them after a resume or a recode,
        # whose interrupted or earlier run may have left findings out of date)
        started = time.monotonic()
        everyone = resume or recode
        summary.patients, summary.history_findings = refresh_history(store, ontology, None if everyone else touched)
        summary.history_seconds = time.monotonic() - started
        summary.sessions_in_store = len(existing)
        writer.publish(ontology=ontology.digest, profile=profile, patient_key=fingerprint(key),
                       sessions=summary.sessions_in_store)
    finally:
        writer.close()
    return summary


def _skip_loaded(records: Iterable[Record], existing: set[str], summary: LoadSummary) -> Iterator[Record]:
    for record in records:
        ident = batch._session_id(record) if record.fmt != "turtle" else None
        if ident is None and record.text is not None and record.source and not record.source.count(":"):
            ident = Path(record.source).stem
        if ident is not None and ident in existing:
            summary.skipped += 1
            continue
        yield record


def _coded(records: Iterable[Record], jobs, dask, ontology_dir, profile, engine, chunk_size, key):
    chunks = batch._chunks(iter(records), chunk_size)
    if not jobs:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if dask:
        yield from batch._dask_results(dask, chunks, jobs, ontology_dir, profile, engine, task=_dask_load_chunk,
                                       extra=(key,))
    elif jobs == 1:
        yield from map(_load_chunk, chunks)
    else:
        ctx = get_context("spawn" if sys.platform == "darwin" else "fork")
        with ctx.Pool(jobs, initializer=_init, initargs=(ontology_dir, profile, engine, chunk_size, key)) as pool:
            yield from pool.imap(_load_chunk, chunks)


def _dask_load_chunk(records, ontology_dir, profile, engine, key):
    _init(ontology_dir, profile, engine, batch.DEFAULT_CHUNK, key)
    return _load_chunk(records)


class _Pending:
    """The sessions coded and not yet written: their graphs go to the bulk loader (no
    transaction, several times quicker), then their input graphs in one transaction. A session
    is stored (for --resume) once its input graph is: should a load stop between the two, the
    next load codes the session again and writes the same quads again."""

    def __init__(self, store):
        self.store = store
        self.graphs: list[bytes] = []
        self.inputs: list[bytes] = []
        self.ids: set[str] = set()
        self.size = 0

    def add(self, loaded: Loaded) -> None:
        self.graphs.append(loaded.nquads)
        self.inputs.append(loaded.input_nquads)
        self.ids.add(loaded.identifier)
        self.size += len(loaded.nquads) + len(loaded.input_nquads)
        if len(self.ids) >= HISTORY_CHUNK or self.size >= HISTORY_BYTES:
            self.flush()

    def flush(self) -> None:
        import pyoxigraph as ox

        if self.graphs:
            # lenient: the workers' text is checked term by term (engines/backend.py: nt), and the
            # parser's checks of the same IRIs took a fifth of the bulk loader's time
            self.store.bulk_load(input=b"".join(self.graphs), format=ox.RdfFormat.N_QUADS, lenient=True)
            self.store.load(input=b"".join(self.inputs), format=ox.RdfFormat.N_QUADS)
        self.graphs, self.inputs, self.ids, self.size = [], [], set(), 0


def _write(store, pending: _Pending, chunk: list[Loaded], existing: set[str], summary: LoadSummary,
           touched: set[str], errors_file) -> None:
    import pyoxigraph as ox

    for loaded in chunk:
        if loaded.error_line is not None:
            summary.failed += 1
            errors_file.write(loaded.error_line + "\n")
            if len(summary.first_failures) < 5:
                summary.first_failures.append(loaded.failure)
            continue
        summary.coded += 1
        summary.with_conflicts += loaded.conflicts
        summary.with_errors += loaded.errors
        if loaded.identifier in existing:
            summary.replaced += 1
            if loaded.identifier in pending.ids:  # the same id twice in one load: the first is written first
                pending.flush()
            for part in ("asserted", "inferred", "result", "input"):
                name = ox.NamedNode(str(session_graph(loaded.identifier, part)))
                if store.contains_named_graph(name):
                    store.remove_graph(name)
        existing.add(loaded.identifier)
        if loaded.patient is not None:
            touched.add(loaded.patient)
        pending.add(loaded)
    errors_file.flush()


# ---------------------------------------------------------------------------
# History findings in the store
# ---------------------------------------------------------------------------

_WITH_PATIENT = """PREFIX cd: <https://w3id.org/chemoden#>
SELECT ?s ?id ?patient WHERE { GRAPH ?g { ?s a cd:Session ; cd:identifier ?id ; cd:patientId ?patient } }"""
_ALL_SESSIONS = """PREFIX cd: <https://w3id.org/chemoden#>
SELECT ?s ?id WHERE { GRAPH ?g { ?s a cd:Session ; cd:identifier ?id } }"""
_OLD_FINDINGS = """PREFIX cd: <https://w3id.org/chemoden#>
SELECT ?g ?f WHERE { GRAPH ?g { ?f cd:fromHistory true } }"""


def refresh_history(store, ontology, patients: set[str] | None) -> tuple[int, int]:
    """Recompute the history findings of `patients` (None: everyone) in the store: (patients, findings)."""
    import pyoxigraph as ox

    source = store  # where the rules run
    if patients is None:
        sessions = {r["s"].value: r["id"].value for r in store.query(_ALL_SESSIONS)}
        patient_count = len({r["p"].value for r in store.query(
            "PREFIX cd: <https://w3id.org/chemoden#> SELECT DISTINCT ?p WHERE { ?s cd:patientId ?p }",
            use_default_graph_as_union=True)})
    elif len(patients) <= history.WHOLE_STORE_AFTER:
        # a few patients: their sessions copied into a store of their own, where the rules run
        # as over a whole store (over the large store, even one patient's run reads it all)
        source, sessions = _patients_copy(store, patients)
        patient_count = len(patients)
    else:
        # one pass over the sessions with a patient (asking once per patient cost a scan each)
        sessions = {r["s"].value: r["id"].value for r in store.query(_WITH_PATIENT)
                    if r["patient"].value in patients}
        patient_count = len(patients)
    # the findings an earlier run wrote for these sessions go first
    old = [(r["g"], r["f"]) for r in store.query(_OLD_FINDINGS)]
    for graph, node in old:
        if node.value.rsplit("/history/", 1)[0] not in sessions:
            continue
        store.remove(ox.Quad(ox.NamedNode(node.value.rsplit("/history/", 1)[0]),
                             ox.NamedNode(str(CD.hasConflict)), node, graph))
        store.remove(ox.Quad(ox.NamedNode(node.value.rsplit("/history/", 1)[0]),
                             ox.NamedNode(str(CD.hasNote)), node, graph))
        for quad in list(store.quads_for_pattern(node, None, None, graph)):
            store.remove(quad)
    found = history.findings(history.oxigraph_select(source), ontology,
                             None if patients is None or source is not store else patients, sessions=list(sessions))
    count = 0
    quads = []
    for s, items in found.items():
        if s not in sessions:
            continue
        count += len(items)
        quads += to_quads(history.finding_triples(s, items), ox.NamedNode(str(session_graph(sessions[s], "result"))))
    if quads:
        store.extend(quads)
    return patient_count, count


_SESSION_GRAPHS_OF = """PREFIX cd: <https://w3id.org/chemoden#>
SELECT ?g ?s ?id ?patient WHERE { GRAPH ?g { ?s cd:patientId ?patient ; cd:identifier ?id } }"""


def _patients_copy(store, patients: set[str]):
    """An in-memory store of the ontology's graphs and the given patients' sessions (asserted,
    inferred and result graphs), and those sessions {IRI: id}: found by index lookups, however
    large the store."""
    import pyoxigraph as ox

    mem = ox.Store()
    for name in (ONTOLOGY_GRAPH, ONTOLOGY_INFERRED):
        mem.extend(store.quads_for_pattern(None, None, None, ox.NamedNode(str(name))))
    sessions = {}
    for patient in sorted(patients):
        for row in store.query(_SESSION_GRAPHS_OF, substitutions={ox.Variable("patient"): ox.Literal(patient)}):
            sessions[row["s"].value] = row["id"].value
            stem = row["g"].value.rsplit("/", 1)[0]
            for part in ("asserted", "inferred", "result"):
                mem.extend(store.quads_for_pattern(None, None, None, ox.NamedNode(f"{stem}/{part}")))
    return mem, sessions


# ---------------------------------------------------------------------------
# Readers: query, serve, export, the pre-bill check
# ---------------------------------------------------------------------------

def open_dataset(directory, ontology: Ontology, *, key: bytes | None = None) -> tuple[Dataset, Reader]:
    """The store's current snapshot as the dataset `query` and `serve` answer from (the reader
    holds the snapshot until closed)."""
    reader = Reader(directory)
    try:
        check_manifest(reader.manifest, ontology, None, key, directory, writing=False, key_matters=False)
    except ChemodenError:
        reader.close()
        raise
    store = OxigraphStore(reader.store, path=reader.path)
    dataset = Dataset(store, graphs=store.graph_names(), directory=ontology.directory)
    dataset.stored_sessions = int(reader.manifest.get("sessions", 0))
    return dataset, reader


def export(directory, fmt: str, output) -> None:
    import pyoxigraph as ox

    reader = Reader(directory)
    try:
        reader.store.dump(output, format=ox.RdfFormat.N_QUADS if fmt == "nquads" else ox.RdfFormat.TRIG)
    finally:
        reader.close()


def prebill(results: list, directory, ontology: Ontology, *, key: bytes | None = None, engine: str = "auto") -> None:
    """Add to each result the history findings its session would have in the store (nothing
    is written): the patient's stored sessions, with this one in place of a stored session of
    the same id, in a store of their own."""
    import pyoxigraph as ox

    reader = Reader(directory)
    try:
        check_manifest(reader.manifest, ontology, None, key, directory, writing=False)
        source = reader.store
        base = [q for name in (ONTOLOGY_GRAPH, ONTOLOGY_INFERRED)
                for q in source.quads_for_pattern(None, None, None, ox.NamedNode(str(name)))]
        known = ontology_graphs(ontology, engine)[2]
        for result in results:
            session = result.session
            patient = session.patient
            mem = ox.Store()
            mem.extend(base)
            if patient is not None:
                graphs = {r["g"] for r in source.query(
                    "PREFIX cd: <https://w3id.org/chemoden#> SELECT DISTINCT ?g ?p WHERE { GRAPH ?g { ?s cd:patientId ?p } }",
                    substitutions={ox.Variable("p"): ox.Literal(patient)})}
                own = {str(session_graph(session.identifier, "asserted"))}
                for graph in graphs:
                    if graph.value in own:
                        continue
                    stem = graph.value.rsplit("/", 1)[0]
                    for part in ("asserted", "inferred", "result"):
                        mem.extend(source.quads_for_pattern(None, None, None, ox.NamedNode(f"{stem}/{part}")))
            for part, triples in result_graphs(result, known).items():
                mem.extend(to_quads(triples, ox.NamedNode(str(session_graph(session.identifier, part)))))
            found = history.findings(history.oxigraph_select(mem), ontology, [patient] if patient is not None else [],
                                     sessions=[str(session.iri)]).get(str(session.iri), [])
            conflicts, notes = history.split(found)
            result.conflicts.extend(conflicts)
            result.notes.extend(notes)
    finally:
        reader.close()


def exit_status(summary: LoadSummary) -> int:
    if summary.failed:
        return EXIT_INPUT
    return EXIT_CONFLICTS if summary.with_errors else EXIT_OK
