"""The `chemoden` command line. Thin: parsing arguments, printing results, exit codes.

Exit codes: 0 coded; 1 coded with at least one error-severity conflict;
2 input error (file, field and value named on stderr); 3 broken ontology or rule file;
4 internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .coding.entry import Coder, check_profile
from .core.errors import EXIT_CONFLICTS, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, ChemodenError, InputError
from .core.version import __version__
from .engines import registry
from .engines.answer import render
from .engines.safety import inspect, run
from .engines.sandbox import forbid_network
from .intake.files import sources
from .knowledge import check
from .knowledge.library import library, resolve
from .knowledge.ontology import default_directory, load
from .surfaces import batch
from .surfaces.dataset import build
from .surfaces.serve import Limits, serve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chemoden", description="Derive chemodenervation billing codes from treatment sessions.")
    parser.add_argument("--version", action="version", version=f"chemoden {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    code_p = sub.add_parser("code", help="code session files (JSON, JSON-LD or Turtle; folders; - for standard input)")
    audit_p = sub.add_parser("audit", help="check the claim in each session (its billed lines) against the documentation")
    for p in (code_p, audit_p):
        p.add_argument("files", nargs="+", metavar="FILE")
        p.add_argument("--format", choices=("table", "json", "turtle"), default="table")
        p.add_argument("--profile", help="policy profile name (default: the session's, else the ontology's default)")
        p.add_argument("--engine", choices=registry.CHOICES, default="auto", help=registry.HELP)
        p.add_argument("--ontology", help="ontology folder (default: the shipped one, or $CHEMODEN_ONTOLOGY)")
    batch_p = sub.add_parser("batch", help="code a JSON Lines file (or a folder of session files) into JSON Lines, in input order")
    batch_p.add_argument("input", metavar="INPUT")
    batch_p.add_argument("-o", "--output", required=True, metavar="OUTPUT")
    batch_p.add_argument("--jobs", type=int, default=0, help="worker processes (default: the cores available)")
    batch_p.add_argument("--resume", action="store_true", help="skip the records OUTPUT already holds")
    batch_p.add_argument("--quiet", action="store_true", help="no progress bar")
    batch_p.add_argument("--chunk-size", type=int, default=64, help="sessions reasoned and queried together (default 64)")
    batch_p.add_argument("--dask", metavar="SCHEDULER", help="run on a Dask cluster: 'local' (a local cluster of --jobs "
                         "worker processes) or a scheduler address such as tcp://10.0.0.5:8786")
    batch_p.add_argument("--profile")
    batch_p.add_argument("--engine", choices=registry.CHOICES, default="auto")
    batch_p.add_argument("--ontology")
    profiles_p = sub.add_parser("profiles", help="list the policy profiles")
    profiles_p.add_argument("--ontology")
    query_p = sub.add_parser("query", help="run SPARQL (text, a .rq file or a library query name) over the ontology "
                             "and coded sessions")
    query_p.add_argument("query", nargs="?", metavar="QUERY")
    query_p.add_argument("--list", action="store_true", help="list the library queries")
    query_p.add_argument("--format", choices=("table", "json", "csv", "tsv", "turtle"), default="table",
                         help="json: SPARQL 1.1 results JSON (JSON-LD for CONSTRUCT/DESCRIBE); turtle: CONSTRUCT/DESCRIBE")
    serve_p = sub.add_parser("serve", help="a SPARQL 1.1 endpoint with a YASGUI page over the same dataset")
    serve_p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve_p.add_argument("--port", type=int, default=8000)
    limits = Limits()
    serve_p.add_argument("--workers", type=int, default=2, help="query worker processes of the short lane (default 2)")
    serve_p.add_argument("--long-workers", type=int, default=1,
                         help="query worker processes for queries over the short budget (default 1)")
    serve_p.add_argument("--code-workers", type=int, default=1, help="worker processes for POST /code (default 1)")
    serve_p.add_argument("--timeout", type=float, default=limits.timeout, help="seconds a query may run (default 30)")
    serve_p.add_argument("--short-budget", type=float, default=limits.short_budget,
                         help="seconds a query may run in the short lane before the long lane takes it (default 2)")
    serve_p.add_argument("--queue-wait", type=float, default=limits.queue_wait,
                         help="seconds a request waits for a free worker before a 503 with Retry-After (default 5)")
    serve_p.add_argument("--max-rows", type=int, default=limits.max_rows, help="most result rows or triples (default 100000)")
    serve_p.add_argument("--max-request", type=int, default=limits.max_request,
                         help="largest request body or URL in bytes (default 1000000)")
    serve_p.add_argument("--max-response", type=int, default=limits.max_response,
                         help="largest answer in bytes (default 67108864)")
    serve_p.add_argument("--client-timeout", type=float, default=limits.header_timeout,
                         help="seconds a client may take to send a request's headers, and again its body (default 10)")
    serve_p.add_argument("--max-connections", type=int, default=limits.max_connections,
                         help="open connections; past it new requests get a 503 (default 500)")
    serve_p.add_argument("--worker-memory", type=int, default=limits.worker_memory,
                         help="MiB of address space per worker process; 0: no limit (default 2048)")
    serve_p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                         help="also answer requests whose Host is NAME (repeatable; default: the bound address, "
                              "and localhost when bound to loopback)")
    serve_p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                         help="also run POSTs sent by web pages of ORIGIN, e.g. https://app.example.org (repeatable)")
    for p in (query_p, serve_p):
        p.add_argument("--session", action="append", default=[], metavar="FILE_OR_DIR",
                       help="code these sessions and add them (repeatable; folders and JSON Lines too)")
        p.add_argument("--profile")
        p.add_argument("--engine", choices=registry.CHOICES, default="auto")
        p.add_argument("--ontology")
    check_p = sub.add_parser("check", help="check an ontology folder: shapes, quality checks, OWL-RL consistency, "
                             "SPARQL syntax (exit 0 clean, 1 problems, 2 unreadable)")
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
    stdin = sys.stdin.buffer.read() if "-" in args.files else None
    status = EXIT_OK
    first = True
    for outcome in coder.code(sources(args.files, stdin), claim_required=args.command == "audit"):
        if outcome.error is not None:
            _report(outcome.error)
            status = max(status, outcome.error.exit_code)
            continue
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


def _batch(args) -> int:
    summary = batch.run(args.input, args.output, jobs=args.jobs, resume=args.resume, quiet=args.quiet,
                        profile=args.profile, engine=args.engine, ontology_dir=args.ontology, dask=args.dask,
                        chunk_size=max(1, args.chunk_size))
    print(summary.text(), file=sys.stderr)
    for failure in summary.first_failures:
        print(f"  {failure}", file=sys.stderr)
    return summary.exit_code


def _profiles(args) -> int:
    ontology = load(args.ontology)
    for name in ontology.names.enum_choices("profile"):
        iri = ontology.names.enum("profile", name)
        comment = ontology.graph.value(iri, ontology.graph.namespace_manager.expand_curie("rdfs:comment"))
        default = " (default)" if ontology.names.defaults.get("profile") == iri else ""
        print(f"{name}{default}: {comment or ''}")
    return EXIT_OK


def _dataset(args):
    """The ontology and the --session inputs, coded; what could not be read is reported and skipped."""
    ontology = load(args.ontology)
    check_profile(ontology, args.profile)
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
    if not args.query:
        raise InputError("give a query (SPARQL text, a .rq file or a library query name) or --list", field="QUERY")
    text = resolve(args.query, queries)
    inspect(text)  # refuse an update or SERVICE before coding anything
    ontology, dataset = _dataset(args)
    if wall:
        forbid_network()  # the rest is the user's query: this process needs no network for it
    answer = run(dataset.store, text, dataset.graphs)
    sys.stdout.write(render(answer, args.format))
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
        if args.command == "batch":
            return _batch(args)
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
