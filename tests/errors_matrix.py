"""The bad-input matrix: every kind of bad input, what each entry point answers, and docs/errors.md.

Cases are the files in tests/errors (NAME.json/.ttl beside NAME.expect.json, which gives the
kind, the exit code and fragments the message must contain; for a session with several errors
also "errors", each error's field and a fragment of its message, in the order reported) and a few made here because they
are large or cannot be files in git (a 10 MB session, 10,000 injections, a missing file, a
symbolic-link loop, an unknown --profile). Each runs through:

- `chemoden code` under tests/guard.py (no network, no file read outside the input and the
  project): the exit code and the line on stderr (a line per error);
- `chemoden batch` over one folder holding every file case between good sessions: an error
  record naming the same field, and the good sessions coded;
- `chemoden query session-lines --session FILE`: the same line as `code` (the session left out);
- `POST /code` of `chemoden serve` (every input given as a file: JSON, JSON-LD or Turtle, sent
  with its media type): a 4xx answer with the same field and message.

    python tests/errors_matrix.py > docs/errors.md     # regenerate the table after a message changes
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
ERRORS = TESTS / "errors"
GOOD = [ROOT / "examples" / "seed-63m-torticollis.json", ROOT / "examples" / "larynx-spasmodic-dysphonia.ttl"]


@dataclass
class Case:
    name: str
    kind: str
    exit: int
    fragments: list[str]
    path: Path | None = None  # the input file (None: args say everything)
    args: list[str] = field(default_factory=list)  # extra arguments before the path
    in_batch: bool = True
    command: str = "code"
    errors: list = field(default_factory=list)  # [field, fragment] of each error, for several

    @property
    def count(self) -> int:
        """How many errors (stderr lines) the case reports."""
        return len(self.errors) or 1

    @property
    def is_json(self) -> bool:
        return self.path is not None and self.path.suffix == ".json"

    @property
    def is_session_file(self) -> bool:
        """An input a request body can carry (not a link, a folder or an option)."""
        return (self.path is not None and self.command == "code" and not self.args and not self.path.is_symlink()
                and self.path.is_file())

    @property
    def media_type(self) -> str:
        return {".ttl": "text/turtle", ".jsonld": "application/ld+json"}.get(self.path.suffix, "application/json")


def file_cases() -> list[Case]:
    out = []
    for expect in sorted(ERRORS.glob("*.expect.json")):
        name = expect.name[: -len(".expect.json")]
        spec = json.loads(expect.read_text(encoding="utf-8"))
        path = next(p for p in ERRORS.iterdir() if p.stem == name and not p.name.endswith(".expect.json"))
        out.append(Case(name, spec["kind"], spec["exit"], spec["message"], path, errors=spec.get("errors", [])))
    return out


def several_cases() -> list[Case]:
    """The file cases of one session with several errors (tests/errors/several-*)."""
    return [c for c in file_cases() if c.errors]


def made_cases(folder: Path) -> list[Case]:
    """Cases too large for git, or that are not files at all."""
    huge = folder / "ten-megabyte-session.json"
    huge.write_text(json.dumps({"id": "huge", "notes": "x" * (10 * 1024 * 1024),
                                "injections": [{"muscle": "procerus"}]}))
    many = folder / "ten-thousand-injections.json"
    many.write_text(json.dumps({"id": "many", "injections": [{"muscle": "left biceps brachii", "id": f"i{n}"}
                                                             for n in range(10_000)]}))
    loop = folder / "symlink-loop.json"
    if not loop.is_symlink():
        os.symlink(loop.name, loop)  # points at itself: cannot be opened
    return [
        Case("ten-megabyte-session", "a 10 MB session", 2, ["too large", "bytes"], huge),
        Case("ten-thousand-injections", "10,000 injections in one session", 2, ["injections", "10,000"], many),
        Case("symlink-loop", "unreadable file (a symbolic link to itself)", 2, ["symlink-loop.json", "cannot read"], loop),
        Case("missing-file", "missing file", 2, ["no-such-session.json", "not found"], folder / "no-such-session.json",
             in_batch=False),
        Case("unknown-profile-option", "unknown profile (--profile)", 2, ["--profile", "medicare", "unknown profile"],
             GOOD[0], args=["--profile", "medicare"], in_batch=False),
    ] + other_commands(folder)


def other_commands(folder: Path) -> list[Case]:
    """Bad input to the other commands: query, check, batch."""
    broken = folder / "broken-ontology"
    if not broken.exists():
        shutil.copytree(ROOT / "ontology", broken, ignore=shutil.ignore_patterns("queries"))
        codes = broken / "codes.ttl"
        codes.write_text(codes.read_text(encoding="utf-8") + '\ncd:oops rdfs:label "never closed .\n', encoding="utf-8")
    bad_session = os.path.relpath(ERRORS / "unknown-side-value.json", ROOT)

    def case(name, kind, exit_code, fragments, command, args):
        return Case(name, kind, exit_code, fragments, None, args, in_batch=False, command=command)

    return [
        case("query-unknown-name", "query: not a library query, file or SPARQL", 2, ["QUERY", "no-such-query"],
             "query", ["no-such-query"]),
        case("query-syntax-error", "query: SPARQL syntax error", 2, ["QUERY", "syntax error"],
             "query", ["SELECT * WHERE { ?s ?p }"]),
        case("query-update", "query: SPARQL Update", 2, ["QUERY", "Update is refused"],
             "query", ["INSERT DATA { <urn:a> <urn:b> <urn:c> }"]),
        case("query-service", "query: SERVICE (a federated query)", 2, ["QUERY", "SERVICE", "refused"],
             "query", ["SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"]),
        case("query-bad-session", "query: a bad --session file (the others are still queried)", 2,
             ["injections[0].side", "middle"], "query", ["code-frequencies", "--session", bad_session]),
        case("check-missing-folder", "check: no such ontology folder", 2, ["not found"],
             "check", [str(folder / "no-such-ontology")]),
        case("check-broken-turtle", "check: an ontology file with broken Turtle (problems on stdout)", 1,
             ["1 problem"], "check", [str(broken)]),
        case("batch-missing-input", "batch: no such input", 2, ["no-such-input.jsonl", "not found"],
             "batch", [str(folder / "no-such-input.jsonl"), "-o", str(folder / "out.jsonl")]),
    ]


def guarded(args: list[str], allow: list[Path]) -> subprocess.CompletedProcess:
    env = dict(os.environ, CHEMODEN_GUARD_ALLOW=os.pathsep.join(str(p) for p in allow))
    return subprocess.run([sys.executable, str(TESTS / "guard.py"), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)


def run_code(case: Case, folder: Path) -> subprocess.CompletedProcess:
    paths = []
    if case.path is not None:
        paths = [os.path.relpath(case.path, ROOT) if case.path.is_relative_to(ROOT) else str(case.path)]
    return guarded([case.command, *case.args, *paths], [ERRORS, folder, ROOT / "examples"])


def run_query(case: Case, folder: Path) -> subprocess.CompletedProcess:
    """`chemoden query session-lines --session FILE` (file cases of `code` only)."""
    path = os.path.relpath(case.path, ROOT) if case.path.is_relative_to(ROOT) else str(case.path)
    return guarded(["query", "session-lines", "--session", path], [ERRORS, folder, ROOT / "examples"])


def field_of(message: str, case: Case) -> str | None:
    """The field a `chemoden: SOURCE: FIELD: message` line names (None when it names none)."""
    rest = message.removeprefix("chemoden: ")
    if case.path is None:
        head = rest.split(": ", 1)
        return head[0] if len(head) == 2 and " " not in head[0] else None
    source = os.path.relpath(case.path, ROOT) if case.path.is_relative_to(ROOT) else str(case.path)
    if rest.startswith(source):  # the source, with the item's index when the file holds a list
        rest = re.sub(r"^\[\d+\]", "", rest[len(source):]).removeprefix(": ")
    head = rest.split(": ", 1)
    if len(head) == 2 and " " not in head[0] and not head[0].startswith(("invalid", "not", "empty")):
        return head[0]
    return None


def run_batch(cases: list[Case], folder: Path) -> dict[str, dict]:
    """One batch over a folder of every file case, each between good sessions: records by name."""
    batch_dir = folder / "batch"
    shutil.rmtree(batch_dir, ignore_errors=True)
    batch_dir.mkdir()
    for n, case in enumerate(c for c in cases if c.in_batch):
        for k, good in enumerate(GOOD):
            shutil.copy(good, batch_dir / f"{n:03d}-{k}-good-{good.name}")
        target = batch_dir / f"{n:03d}-bad-{case.path.name}"
        if case.path.is_symlink():
            os.symlink(target.name, target)
        else:
            shutil.copy(case.path, target)
    out = folder / "batch.jsonl"
    proc = guarded(["batch", str(batch_dir), "-o", str(out), "--quiet", "--jobs", "2"], [folder])
    errors, coded = {}, []
    for line in out.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "error" in record and "lines" not in record:
            errors[Path(record["source"]).name.split("-bad-", 1)[-1]] = record
        else:
            coded.append(record)
    return {"proc": proc, "errors": errors, "coded": coded, "files": len(list(batch_dir.iterdir()))}


def render(rows: list[dict]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["# What Chemoden answers to bad input", "",
           "Generated by `python tests/errors_matrix.py > docs/errors.md`; `tests/test_errors.py` runs every row",
           "and checks the exit code, the message (exactly as shown here, the temporary folder written `<tmp>`),",
           "that nothing was fetched from the network or read outside the input, the batch's error record",
           "(the other sessions of the batch still coded) and the answer of `POST /code`.", "",
           "Exit codes: 0 coded; 1 coded with error-severity findings; 2 input error; 3 broken ontology or",
           "rule file; 4 internal error (a bug). In `chemoden batch` a bad record becomes an error record",
           '`{"record": N, "session": ID, "source": ..., "error": {"field": ..., "message": ...}, "errors": [...]}`',
           "and the batch goes on (exit 2 at the end). Every input error of a session is reported at once: a",
           "line each on stderr, each in `errors` (`error` is the first); the rows \"several errors\" show it.",
           "`chemoden query --session FILE` prints the same lines and leaves the session out (exit 2; \"same\"",
           "in the table). `POST /code` answers 400 with the same `error` and `errors` (their fields and",
           "messages; the source is `<request>`), 413 over the request-size limit; n/a where the input is",
           "not a file a request can carry.", "",
           "| # | bad input | exit | what the command prints on stderr (`chemoden code` unless the row names another) "
           "| `batch` record's field | `query --session` | `POST /code` |",
           "|---|---|---|---|---|---|---|"]
    for n, row in enumerate(rows, start=1):
        message = "<br>".join(f"`` {cell(line)} ``" for line in row["message"].splitlines())
        out.append(f"| {n} | {cell(row['kind'])} | {row['exit']} | {message} | "
                   f"{cell(row['batch'])} | {cell(row['query'])} | {cell(row['post'])} |")
    out += ["", "Endpoint refusals (`chemoden serve`) are listed in the README's section on the endpoint."]
    return "\n".join(out) + "\n"


def collect(folder: Path, endpoint: str | None = None) -> list[dict]:
    """Run every case; one row each (what the table shows)."""
    cases = file_cases() + made_cases(folder)
    batch = run_batch(cases, folder)
    rows = []
    for case in cases:
        proc = run_code(case, folder)
        record = batch["errors"].get(case.path.name) if case.in_batch else None
        batch_cell = "n/a" if not case.in_batch else batch_fields(record)
        message = proc.stderr.strip().replace(str(folder), "<tmp>")
        query = "n/a"
        if case.is_session_file:
            answer = run_query(case, folder)
            line = answer.stderr.strip().replace(str(folder), "<tmp>")
            query = "same" if line == message and answer.returncode == proc.returncode else f"{answer.returncode}: {line}"
        post = "n/a"
        if endpoint and case.is_session_file:
            post = str(post_code(endpoint, case.path.read_bytes(), case.media_type)[0])
        rows.append({"kind": case.kind, "exit": proc.returncode, "batch": batch_cell, "query": query, "post": post,
                     "message": message})
    return rows


def batch_fields(record: dict | None) -> str:
    """The batch cell: the fields a batch error record names (`errors`, else `error`)."""
    fields = [e["field"] for e in (record or {}).get("errors") or [(record or {}).get("error") or {}]]
    if not any(fields):
        return "(none: the file)"
    return ", ".join(f"`{f}`" for f in fields)


def documented() -> dict[str, dict]:
    """docs/errors.md's rows by kind: exit code and message."""
    rows = {}
    for line in (ROOT / "docs" / "errors.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("| #"):
            continue
        cells = [c.strip() for c in line.strip("|").replace("\\|", "\0").split(" | ")]
        cells = [c.replace("\0", "|") for c in cells]
        message = "\n".join(part.removeprefix("`` ").removesuffix(" ``") for part in cells[3].split("<br>"))
        rows[cells[1]] = {"exit": int(cells[2]), "message": message, "batch": cells[4], "query": cells[5],
                          "post": cells[6]}
    return rows


def post_code(endpoint: str, body: bytes, media_type: str = "application/json") -> tuple[int, dict]:
    """POST a session to /code: (status, JSON answer). A body over the size limit is answered
    413 at once, before the server reads it; the answer is read even if sending was cut short."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    try:
        try:
            conn.request("POST", "/code", body=body, headers={"Content-Type": media_type})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413) and closed before taking the whole body
        answer = conn.getresponse()
        text = answer.read()
        try:
            return answer.status, json.loads(text)
        except ValueError:
            return answer.status, {"error": {"field": None, "message": text.decode("utf-8", "replace")}}
    finally:
        conn.close()


def main() -> int:
    import atexit
    import time

    folder = Path(tempfile.mkdtemp(prefix="chemoden-errors-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    server = subprocess.Popen([sys.executable, "-m", "reasoner", "serve", "--port", "0", "--max-request", "100000",
                               "--workers", "1"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    endpoint = None
    while endpoint is None and server.poll() is None:
        line = server.stderr.readline()
        if "SPARQL endpoint http://" in line:
            endpoint = line.split("SPARQL endpoint ")[1].split()[0].rsplit("/sparql", 1)[0]
    try:
        rows = collect(folder, endpoint)
    finally:
        server.terminate()
        time.sleep(0.5)
    sys.stdout.write(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
