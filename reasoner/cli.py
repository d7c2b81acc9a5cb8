"""The `chemoden` command line. Thin: parsing arguments, printing results, exit codes.

Exit codes: 0 coded; 1 coded with at least one error-severity conflict;
2 input error (file, field and value named on stderr); 3 broken ontology or rule file;
4 internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from pathlib import Path

from .coding.entry import Coder, check_profile
from .core.errors import EXIT_CONFLICTS, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, ChemodenError, InputError, exit_codes
from .core.version import __version__
from .engines import registry
from .engines.answer import render
from .engines.safety import inspect, run
from .engines.sandbox import forbid_network
from .intake import note
from .intake.files import sources
from .intake.read import note_session, to_session
from .knowledge import check
from .knowledge.library import library, named, resolve
from .knowledge.ontology import default_directory, load
from .surfaces import batch, history, workers
from .surfaces.dataset import build
from .surfaces.serve import Limits, serve

QUERY_FORMATS = ("table", "json", "csv", "tsv", "turtle")  # chemoden query --format


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help, and descriptions and epilogs with their line breaks
    (their examples and exit codes are laid out by hand). No default is shown where there is none to show (no value,
    a flag that is off, an empty list) or where the help already says what the default is."""

    def _fill_text(self, text, width, indent):
        # a laid-out block (a heading, then indented lines: examples, exit codes) stays as written;
        # prose is filled to the terminal's width
        return "\n\n".join(block if "\n " in block else textwrap.fill(" ".join(block.split()), width,
                                                                       initial_indent=indent, subsequent_indent=indent)
                             for block in text.split("\n\n"))

    def _get_help_string(self, action):
        help = action.help or ""
        if action.default is None or action.default is False or action.default == [] or "default" in help:
            return help
        return super()._get_help_string(action)


def _epilog(command: str, *examples: str) -> str:
    """A command's epilog: its examples, then its exit codes (core/errors.py holds their meanings)."""
    lines = "\n".join(f"  {example}" for example in examples)
    return f"Example:\n{lines}\n\n{exit_codes(command)}"


def _coding_options(p, profile_help: str, ontology_help: str) -> None:
    """The options of every command that codes sessions: the profile, the engine, the ontology."""
    p.add_argument("--profile", help=profile_help)
    p.add_argument("--engine", choices=registry.CHOICES, default="auto", help=registry.HELP)
    p.add_argument("--ontology", help=ontology_help)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chemoden", formatter_class=_HelpFormatter,
        description="Derive chemodenervation billing codes from treatment sessions.",
        epilog="Example:\n  chemoden code examples/seed-63m-torticollis.json\n  chemoden COMMAND --help\n\n"
               + exit_codes())
    parser.add_argument("--version", action="version", version=f"chemoden {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    ontology_help = "ontology folder (default: $CHEMODEN_ONTOLOGY, else the shipped one)"
    profile_help = "policy profile name (default: the session's, else the ontology's default; see chemoden profiles)"
    code_p = sub.add_parser(
        "code", formatter_class=_HelpFormatter,
        help="code session files (JSON, JSON-LD or Turtle; folders; - for standard input)",
        description="Code each session: the billing lines (codes, units, modifiers) with why each is billed, the "
                    "conflicts the documentation shows, and notes. A session with a claim (\"billed\") is also "
                    "audited. FILE is a session file (JSON, JSON-LD or Turtle), a folder of them, or - for "
                    "standard input.",
        epilog=_epilog("code", "chemoden code examples/seed-63m-torticollis.json",
                       "chemoden code --format json --profile rt-lt examples/"))
    audit_p = sub.add_parser(
        "audit", formatter_class=_HelpFormatter,
        help="check the claim in each session (its billed lines) against the documentation",
        description="Check the claim each session carries (\"billed\": its billed lines) against what the "
                    "documentation supports: every finding with its rule, severity, message and the corrected "
                    "line(s). A session without a claim is an input error.",
        epilog=_epilog("audit", "chemoden audit examples/audit-53m-claim-as-printed.json"))
    for p in (code_p, audit_p):
        p.add_argument("files", nargs="+", metavar="FILE", help="session files or folders; - reads standard input")
        p.add_argument("--format", choices=("table", "json", "turtle"), default="table",
                       help="table for people; json: one object per session a line; turtle: the session graph, "
                            "its inferences and its result")
        _coding_options(p, profile_help, ontology_help)
        p.add_argument("--store", metavar="DIR", help="a treatment-history store (chemoden load): also check each "
                       "session against its patient's stored history, without writing it (a pre-bill check)")
        p.add_argument("--patient-key", metavar="FILE", help="the key the store's patient identifiers were made "
                       "with (chemoden load --patient-key)")
    extract_p = sub.add_parser(
        "extract", formatter_class=_HelpFormatter,
        help="read procedure notes (plain text) into sessions, with where each fact was read",
        description="Read each procedure note (a plain-text file, or - for standard input) into a session in the "
                    "documented input format: the targets injected today with their sides, doses and sites, the "
                    "guidance, the drug (product, NDC, lot, vial, units given and wasted), setting, approach, "
                    "indication, ICD-10-CM codes, date of service and patient identifier when written. Targets "
                    "named in a plan, a history, an examination or a negation are not read as injected. What "
                    "cannot be settled (a name that could be two targets, a side not found, a dose that belongs "
                    "to no target) is listed under \"unresolved\" with its line and column (exit 2). `chemoden code "
                    "NOTE.txt` reads and codes in one step.",
        epilog=_epilog("extract", "chemoden extract tests/notes/table-cd-pipes-botox-emg.txt --format table",
                       "chemoden extract note.txt > session.json && chemoden code session.json"))
    extract_p.add_argument("files", nargs="+", metavar="NOTE", help="plain-text notes or folders of them; - reads "
                           "standard input")
    extract_p.add_argument("--format", choices=("json", "turtle", "table"), default="json",
                           help="json: the session with \"unresolved\" and \"provenance\" (spans), one object a "
                                "line; turtle: the session with W3C Web Annotations of its spans; table: for people")
    extract_p.add_argument("--ontology", help=ontology_help)
    batch_p = sub.add_parser(
        "batch", formatter_class=_HelpFormatter,
        help="code a JSON Lines file (or a folder of session files) into JSON Lines, in input order",
        description="Code a JSON Lines file (one session a line) or a folder of session files into OUTPUT, one "
                    "JSON object per input record, in input order: what `code --format json` prints, or an error "
                    "record for a record that cannot be coded (the batch goes on). A progress bar shows on a "
                    "terminal; a summary ends the run.",
        epilog=_epilog("batch", "chemoden batch sessions.jsonl -o results.jsonl --jobs 2",
                       "chemoden batch sessions.jsonl -o results.jsonl --resume",
                       "chemoden batch sessions.jsonl -o results.jsonl --dask local --jobs 4"))
    batch_p.add_argument("input", metavar="INPUT", help="a JSON Lines file, or a folder of session files")
    batch_p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="the JSON Lines file to write")
    batch_p.add_argument("--jobs", type=int, default=0, help="worker processes (default: the cores available)")
    batch_p.add_argument("--resume", action="store_true", help="skip the records OUTPUT already holds")
    batch_p.add_argument("--quiet", action="store_true", help="no progress bar")
    batch_p.add_argument("--chunk-size", type=int, default=64, help="sessions reasoned and queried together")
    batch_p.add_argument("--dask", metavar="SCHEDULER", help="run on a Dask cluster: 'local' (a local cluster of --jobs "
                         "worker processes) or a scheduler address such as tcp://10.0.0.5:8786 (default: no cluster)")
    batch_p.add_argument("--profile", help=profile_help)
    batch_p.add_argument("--engine", choices=registry.CHOICES, default="auto", help=registry.HELP)
    batch_p.add_argument("--ontology", help=ontology_help)
    load_p = sub.add_parser(
        "load", formatter_class=_HelpFormatter,
        help="code sessions into a treatment-history store on disk, and check each patient's history",
        description="Code INPUT (session files, folders, JSON Lines) on the batch fast path and write each "
                    "session's graphs into the on-disk store DIR (created readable by its owner only). A session "
                    "id loaded again replaces the stored one. Then the rules across visits (treatment interval, "
                    "cumulative dose, duplicate service) run for every patient the load touched, their findings "
                    "are written into the sessions' result graphs, and a snapshot is published for readers "
                    "(query, serve, export, code --store). One load writes at a time; records that cannot be "
                    "coded are written to DIR/load-errors.jsonl.",
        epilog=_epilog("load", "chemoden load sessions.jsonl --store practice-store --jobs 2",
                       "chemoden load more.jsonl --store practice-store --patient-key key.txt",
                       "chemoden load --store practice-store --recode"))
    load_p.add_argument("inputs", nargs="*", metavar="INPUT", help="session files, folders or JSON Lines files")
    load_p.add_argument("--store", required=True, metavar="DIR", help="the store folder (created when new)")
    load_p.add_argument("--jobs", type=int, default=0, help="worker processes (default: the cores available)")
    load_p.add_argument("--dask", metavar="SCHEDULER", help="code on a Dask cluster: 'local' or a scheduler address")
    load_p.add_argument("--resume", action="store_true",
                        help="skip the records whose session id the store already holds (after an interrupted load)")
    load_p.add_argument("--recode", action="store_true",
                        help="code again every session the store holds, with this ontology and profile")
    load_p.add_argument("--patient-key", metavar="FILE", help="replace patient identifiers by a keyed hash "
                        "(HMAC-SHA256 with the secret in FILE) before anything is written")
    load_p.add_argument("--quiet", action="store_true", help="no progress bar")
    load_p.add_argument("--chunk-size", type=int, default=64, help="sessions reasoned and queried together")
    _coding_options(load_p, profile_help, ontology_help)
    export_p = sub.add_parser(
        "export", formatter_class=_HelpFormatter,
        help="stream a treatment-history store as N-Quads or TriG, for a larger triplestore",
        description="Write every graph of the store's current snapshot (the ontology's and each session's) as "
                    "N-Quads or TriG, streamed: for bulk loading into a triplestore built for billions of "
                    "triples (QLever, Virtuoso, GraphDB, Fuseki).",
        epilog=_epilog("export", "chemoden export --store practice-store --format nquads -o practice.nq"))
    export_p.add_argument("--store", required=True, metavar="DIR", help="the store folder")
    export_p.add_argument("--format", choices=("nquads", "trig"), default="nquads", help="the RDF format")
    export_p.add_argument("-o", "--output", metavar="FILE", help="the file to write (default: standard output)")
    profiles_p = sub.add_parser(
        "profiles", formatter_class=_HelpFormatter, help="list the policy profiles",
        description="List the policy profiles (ontology/profiles.ttl): each name, the default marked, and what "
                    "it chooses where sources disagree. Choose one with --profile NAME or the session field "
                    "\"profile\".",
        epilog=_epilog("profiles", "chemoden profiles"))
    profiles_p.add_argument("--ontology", help=ontology_help)
    query_p = sub.add_parser(
        "query", formatter_class=_HelpFormatter,
        help="run SPARQL (text, a .rq file or a library query name) over the ontology and coded sessions",
        description="Run a read-only SPARQL query over the dataset: the ontology, its OWL-RL inferences and the "
                    "sessions given with --session, coded first. QUERY is SPARQL text, a .rq file or the name of "
                    "a library query (--list shows them). Updates, SERVICE and FROM naming a graph outside the "
                    "dataset are refused. The vocabulary the queries use is described in docs/vocabulary.md "
                    "(and at /vocabulary of chemoden serve).",
        epilog=_epilog("query", "chemoden query --list", "chemoden query code-frequencies --session examples/",
                       "chemoden query --format csv 'PREFIX cd: <https://w3id.org/chemoden#> "
                       "SELECT ?x ?y WHERE { ?x cd:billingRegion ?y } LIMIT 10'"))
    query_p.add_argument("query", nargs="?", metavar="QUERY",
                         help="SPARQL text, a .rq file or a library query name (default: none; give one or --list)")
    query_p.add_argument("--list", action="store_true", help="list the library queries")
    query_p.add_argument("--show", metavar="NAME", help="print a library query: its header and its SPARQL")
    query_p.add_argument("--format", choices=QUERY_FORMATS, default="table",
                         help="json: SPARQL 1.1 results JSON (JSON-LD for CONSTRUCT/DESCRIBE); turtle: CONSTRUCT/DESCRIBE")
    serve_p = sub.add_parser(
        "serve", formatter_class=_HelpFormatter,
        help="a SPARQL 1.1 endpoint with a YASGUI page over the same dataset",
        description="Serve the dataset of chemoden query over HTTP: a read-only SPARQL 1.1 Protocol endpoint at "
                    "/sparql, a query page (YASGUI) at /, the vocabulary reference at /vocabulary, and POST /code "
                    "for one JSON session. Queries run in worker processes within the limits below. It listens "
                    "on this machine only unless --host says otherwise.",
        epilog=_epilog("serve", "chemoden serve --session examples/    (then open http://127.0.0.1:8000/)",
                       "chemoden serve --session examples/ --port 8080 --timeout 60"))
    serve_p.add_argument("--host", default="127.0.0.1", help="address to bind; 127.0.0.1 is this machine only")
    serve_p.add_argument("--port", type=int, default=8000, help="port to listen on")
    limits = Limits()
    serve_p.add_argument("--workers", type=int, default=2, help="query worker processes of the short lane")
    serve_p.add_argument("--long-workers", type=int, default=1,
                         help="query worker processes for queries over the short budget")
    serve_p.add_argument("--code-workers", type=int, default=1, help="worker processes for POST /code")
    serve_p.add_argument("--timeout", type=float, default=limits.timeout, help="seconds a query may run")
    serve_p.add_argument("--short-budget", type=float, default=limits.short_budget,
                         help="CPU seconds a query may use in the short lane before the long lane takes it")
    serve_p.add_argument("--queue-wait", type=float, default=limits.queue_wait,
                         help="seconds a request waits for a free worker before a 503 with Retry-After")
    serve_p.add_argument("--max-rows", type=int, default=limits.max_rows, help="most result rows or triples")
    serve_p.add_argument("--max-request", type=int, default=limits.max_request,
                         help="largest request body or URL in bytes")
    serve_p.add_argument("--max-response", type=int, default=limits.max_response,
                         help="largest answer in bytes")
    serve_p.add_argument("--client-timeout", type=float, default=limits.header_timeout,
                         help="seconds a client may take to send a request's headers, and again its body")
    serve_p.add_argument("--max-connections", type=int, default=limits.max_connections,
                         help="open connections; past it new requests get a 503")
    serve_p.add_argument("--worker-memory", type=int, default=limits.worker_memory,
                         help="MiB of address space per worker process; 0: no limit")
    serve_p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                         help="also answer requests whose Host is NAME (repeatable; default: the bound address, "
                              "and localhost when bound to loopback)")
    serve_p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                         help="also run POSTs sent by web pages of ORIGIN, e.g. https://app.example.org (repeatable; "
                              "default: the page's own origin only)")
    for p in (query_p, serve_p):
        p.add_argument("--session", action="append", default=[], metavar="FILE_OR_DIR",
                       help="code these sessions and add them (repeatable; folders and JSON Lines too; "
                            "default: none, the ontology only)")
        p.add_argument("--store", metavar="DIR", help="answer from a treatment-history store (chemoden load) "
                       "instead of coding --session files: nothing is recoded")
        _coding_options(p, profile_help, ontology_help)
    check_p = sub.add_parser(
        "check", formatter_class=_HelpFormatter,
        help="check an ontology folder: shapes, quality checks, OWL-RL consistency, SPARQL syntax",
        description="Check an ontology folder as a maintainer edits it: prefixes, Turtle and SPARQL syntax, the "
                    "SHACL shapes, the quality checks (qc/*-violation.rq) and OWL-RL consistency. Each problem is "
                    "one line, FILE:LINE: SUBJECT: what to fix [check], in file and line order.",
        epilog=_epilog("check", "chemoden check", "chemoden check --all path/to/ontology-copy"))
    check_p.add_argument("path", nargs="?", metavar="PATH", help="ontology folder (default: the shipped one)")
    check_p.add_argument("--all", "--verbose", dest="all", action="store_true",
                         help="list every problem (by default a check with more than "
                              f"{check.COLLAPSE_AFTER} prints its first and a count)")
    return parser


def _report(error: ChemodenError) -> None:
    """One stderr line per error: a session's input errors are all reported at once."""
    for line in error.lines():
        print(f"chemoden: {line}", file=sys.stderr)


def _code(args) -> int:
    coder = Coder(args.ontology, engine=args.engine, profile=args.profile)
    key = history.read_key(args.patient_key)
    if key is not None and args.store is None:
        raise InputError("only with --store (the key makes identifiers comparable with the store's)",
                         field="--patient-key")
    coder.patient_key = key
    stdin = sys.stdin.buffer.read() if "-" in args.files else None
    status = EXIT_OK
    first = True
    for outcome in coder.code(sources(args.files, stdin), claim_required=args.command == "audit"):
        if outcome.error is not None:
            _report(outcome.error)
            status = max(status, outcome.error.exit_code)
            continue
        if args.store is not None:
            history.prebill(outcome.results, args.store, coder.ontology, key=key, engine=args.engine)
        for result in outcome.results:
            if args.format == "json":
                print(result.to_json())
            elif args.format == "turtle":
                print(result.to_turtle())
            else:
                if not first:
                    print()
                print(result.to_table())
            first = False
            if result.has_errors:
                status = max(status, EXIT_CONFLICTS)
        sys.stdout.flush()
    return status


def _extract(args) -> int:
    ontology = load(args.ontology)
    stdin = sys.stdin.buffer.read() if "-" in args.files else None
    paths = [str(p) for a in args.files for p in (sorted(Path(a).rglob("*.txt")) if Path(a).is_dir() else [a])]
    status = EXIT_OK
    for record in sources(paths, stdin):
        try:
            if record.error is not None:
                raise record.error
            try:
                text = record.text.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InputError(f"not UTF-8 text (byte {exc.start})", source=record.source) from None
            extraction = note.extract(text, ontology.lexicon, source=record.source)
            # what `code` would refuse in the session read (no injection, a value out of range) is an
            # input error here too, after the output; unresolved items are reported instead
            session, refused = None, None
            try:
                if not extraction.unresolved:
                    session = note_session(extraction, ontology)
                elif args.format == "turtle":  # what was settled, annotated
                    session = to_session(extraction, ontology)
            except ChemodenError as exc:
                refused = exc
            if args.format == "json":
                print(json.dumps(extraction.as_json(), ensure_ascii=False))
            elif args.format == "table":
                print(note.table(extraction))
            elif session is not None:
                print(session.graph.serialize(format="turtle"))
            for u in extraction.unresolved:
                print(f"chemoden: {record.source}: line {u.line}, column {u.column}: {note.problem(u)}", file=sys.stderr)
            if extraction.unresolved:
                status = max(status, EXIT_INPUT)
            if refused is not None:
                raise refused
        except ChemodenError as exc:
            _report(exc)
            status = max(status, exc.exit_code)
        sys.stdout.flush()
    return status


def _batch(args) -> int:
    summary = batch.run(args.input, args.output, jobs=args.jobs, resume=args.resume, quiet=args.quiet,
                        profile=args.profile, engine=args.engine, ontology_dir=args.ontology, dask=args.dask,
                        chunk_size=max(1, args.chunk_size))
    print(summary.text(), file=sys.stderr)
    for failure in summary.first_failures:
        print(f"  {failure}", file=sys.stderr)
    return summary.exit_code


def _load(args) -> int:
    if not args.inputs and not args.recode and not args.resume:
        raise InputError("give the sessions to load (files, folders, JSON Lines), or --recode", field="INPUT")
    summary = history.run_load(args.inputs, args.store, jobs=args.jobs, dask=args.dask, profile=args.profile,
                               resume=args.resume, recode=args.recode, key=history.read_key(args.patient_key),
                               engine=args.engine, ontology_dir=args.ontology, chunk_size=max(1, args.chunk_size),
                               quiet=args.quiet)
    print(summary.text(), file=sys.stderr)
    for failure in summary.first_failures:
        print(f"  {failure}", file=sys.stderr)
    if summary.errors_file:
        print(f"  every failed record: {summary.errors_file}", file=sys.stderr)
    return history.exit_status(summary)


def _export(args) -> int:
    if args.output:
        try:
            with open(args.output, "wb") as out:
                history.export(args.store, args.format, out)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", source=args.output, field="--output") from None
    else:
        history.export(args.store, args.format, sys.stdout.buffer)
    return EXIT_OK


def _profiles(args) -> int:
    ontology = load(args.ontology)
    for name in ontology.names.enum_choices("profile"):
        iri = ontology.names.enum("profile", name)
        comment = ontology.graph.value(iri, ontology.graph.namespace_manager.expand_curie("rdfs:comment"))
        default = " (default)" if ontology.names.defaults.get("profile") == iri else ""
        print(f"{name}{default}: {comment or ''}")
    return EXIT_OK


def _dataset(args):
    """The ontology and the --session inputs, coded (or the --store's snapshot); what could not be
    read is reported and skipped."""
    ontology = load(args.ontology)
    check_profile(ontology, args.profile)
    if args.store is not None:
        if args.session:
            raise InputError("give --session or --store, not both (load the sessions into the store)", field="--session")
        dataset, args.reader = history.open_dataset(args.store, ontology)
        return ontology, dataset
    dataset = build(ontology, args.session, profile=args.profile, engine=args.engine)
    for failure in dataset.failures:
        _report(failure)
    return ontology, dataset


def _query(args, wall: bool) -> int:
    ontology = load(args.ontology)
    queries = library(ontology.directory)
    if args.list:
        width = max(map(len, queries), default=0)
        for name, q in queries.items():
            print(f"{name.ljust(width)}  {q.title}")
        return EXIT_OK
    if args.show:
        sys.stdout.write(named(args.show, queries).text.rstrip("\n") + "\n")
        return EXIT_OK
    if not args.query:
        raise InputError("give a query (SPARQL text, a .rq file or a library query name) or --list", field="QUERY")
    text = resolve(args.query, queries)
    inspect(text)  # refuse an update or SERVICE before coding anything
    ontology, dataset = _dataset(args)
    if wall:
        forbid_network()  # the rest is the user's query: this process needs no network for it
    answer = run(dataset.store, text, dataset.graphs)
    sys.stdout.write(render(answer, args.format, QUERY_FORMATS))
    entry = queries.get(args.query)
    # quiet when a --session failed: its own line has said why
    if (entry is not None and "sessions" in entry.needs and not dataset.sessions and not dataset.stored_sessions
            and not dataset.failures):
        print(f"chemoden: {args.query} reads coded sessions and none is loaded: add --session FILE_OR_DIR "
              "(a session file, a folder of them or a JSON Lines file)", file=sys.stderr)
    return EXIT_INPUT if dataset.failures else EXIT_OK


def _serve(args) -> int:
    for name in ("workers", "long_workers", "code_workers", "max_rows", "max_request", "max_response", "max_connections"):
        if getattr(args, name) < 1:
            raise InputError(f"must be at least 1, not {getattr(args, name)}", field="--" + name.replace("_", "-"))
    for name in ("timeout", "short_budget", "queue_wait", "client_timeout"):
        if not getattr(args, name) > 0:
            raise InputError(f"must be more than 0 seconds, not {getattr(args, name)}", field="--" + name.replace("_", "-"))
    limits = Limits(timeout=args.timeout, max_rows=args.max_rows, max_request=args.max_request,
                    max_response=args.max_response, short_budget=args.short_budget, queue_wait=args.queue_wait,
                    max_connections=args.max_connections, worker_memory=max(0, args.worker_memory),
                    header_timeout=args.client_timeout, body_timeout=args.client_timeout)
    workers.start_early()  # the workers' fork server imports the package while the dataset loads
    ontology, dataset = _dataset(args)
    return serve(dataset, ontology, host=args.host, port=args.port, workers=args.workers, long_workers=args.long_workers,
                 code_workers=args.code_workers, limits=limits, allow_hosts=args.allow_host,
                 allow_origins=args.allow_origin, profile=args.profile, engine=args.engine)


def _check(args) -> int:
    path = args.path or str(default_directory())
    problems = check.run(path)
    for line in check.lines(problems, everything=args.all):
        print(line)
    if problems:
        print(f"chemoden check: {len(problems)} problem(s) in {path}", file=sys.stderr)
        return EXIT_CONFLICTS
    print(f"{path}: {check.summary(path)}")
    return EXIT_OK


def main(argv: list[str] | None = None, *, wall: bool = True) -> int:
    """The command; wall=False leaves `chemoden query` without the network wall (engines/sandbox.py),
    for callers that run it inside a process that needs its network afterwards."""
    # rdflib logs a traceback for every ill-typed literal it reads ("abc"^^xsd:integer); the
    # shapes and the OWL-RL check report those in one line, so the log stays quiet
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)
    args = _parser().parse_args(argv)
    try:
        if args.command in ("code", "audit"):
            return _code(args)
        if args.command == "extract":
            return _extract(args)
        if args.command == "batch":
            return _batch(args)
        if args.command == "load":
            return _load(args)
        if args.command == "export":
            return _export(args)
        if args.command == "query":
            return _query(args, wall)
        if args.command == "serve":
            return _serve(args)
        if args.command == "check":
            return _check(args)
        return _profiles(args)
    except ChemodenError as exc:
        _report(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug, not a user error: one line, no traceback
        print(f"chemoden: internal error: {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return EXIT_INTERNAL
