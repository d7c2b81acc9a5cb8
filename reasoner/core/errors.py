"""Every error Chemoden raises on purpose, with its exit code and, where the server maps it, its
HTTP status. One tree in one module, so the CLI, the batch, the server and the API agree.

Exit codes (README, "Exit codes"):
    0 coded; 1 coded with at least one error-severity conflict (`check`: problems found);
    2 input error (the file, field and value are named); 3 broken ontology or rule file;
    4 internal error (a bug: please report it).
"""

from __future__ import annotations

import textwrap

EXIT_OK = 0
EXIT_CONFLICTS = 1  # coded, with at least one error-severity conflict
EXIT_INPUT = 2  # the input could not be coded
EXIT_ONTOLOGY = 3  # the ontology or a rule file is broken (a maintainer's error)
EXIT_INTERNAL = 4  # a bug

# What each exit code means, as `chemoden COMMAND --help` prints it (README "Exit codes" is the long
# form): the general meaning, and where a command means something narrower, its own. Kept here so
# that every command's help takes its lines from one table.
EXIT_MEANINGS = {
    EXIT_OK: "every session coded",
    EXIT_CONFLICTS: "coded, with at least one error-severity conflict or audit finding",
    EXIT_INPUT: "input error: one line on stderr names the file, the field and the value; other files are still coded",
    EXIT_ONTOLOGY: "the ontology or a rule file is broken: its problems are printed as FILE:LINE lines",
    EXIT_INTERNAL: "internal error (a bug: please report it)",
}
COMMAND_EXITS = {
    "code": {EXIT_OK: None, EXIT_CONFLICTS: None, EXIT_INPUT: None, EXIT_ONTOLOGY: None, EXIT_INTERNAL: None},
    "audit": {EXIT_OK: "every claim holds (warnings allowed)",
              EXIT_CONFLICTS: "a claim has at least one error-severity finding",
              EXIT_INPUT: "input error (a session without a claim too): one line on stderr names the file, the field "
                          "and the value; other files are still audited",
              EXIT_ONTOLOGY: None, EXIT_INTERNAL: None},
    "batch": {EXIT_OK: "every record coded", EXIT_CONFLICTS: "a record has an error-severity finding",
              EXIT_INPUT: "a record could not be coded (its error record says why), or INPUT cannot be read",
              EXIT_ONTOLOGY: None, EXIT_INTERNAL: None},
    "load": {EXIT_OK: "every record coded and stored", EXIT_CONFLICTS: "a session has an error-severity finding",
             EXIT_INPUT: "a record could not be coded (DIR/load-errors.jsonl says why), or the store cannot be "
                         "used (another ontology, profile or key; another load writing it)",
             EXIT_ONTOLOGY: None, EXIT_INTERNAL: None},
    "extract": {EXIT_OK: "every note read with nothing unresolved",
                EXIT_INPUT: "a note has unresolved items (each on stderr with its line and column; the session is "
                            "still printed), its session is one `code` would refuse (no injection, a value out of "
                            "range), or it cannot be read",
                EXIT_ONTOLOGY: None, EXIT_INTERNAL: None},
    "export": {EXIT_OK: "written", EXIT_INPUT: "no store there, or OUTPUT cannot be written", EXIT_INTERNAL: None},
    "profiles": {EXIT_OK: "listed", EXIT_ONTOLOGY: None, EXIT_INTERNAL: None},
    "query": {EXIT_OK: "answered", EXIT_INPUT: "a refused or malformed query, a bad option, or a session that "
                                               "could not be read (reported on stderr and left out)",
              EXIT_ONTOLOGY: None, EXIT_INTERNAL: None},
    "serve": {EXIT_OK: "stopped (Ctrl-C)", EXIT_INPUT: "a bad option, the address cannot be bound, or a session "
                                                       "could not be read (reported on stderr and left out)",
              EXIT_ONTOLOGY: None, EXIT_INTERNAL: None},
    "check": {EXIT_OK: "no problem found", EXIT_CONFLICTS: "problems found (one FILE:LINE line each)",
              EXIT_INPUT: "PATH cannot be read", EXIT_INTERNAL: None},
}


def exit_codes(command: str | None = None) -> str:
    """The 'Exit codes:' lines of a command's --help (every code, in general, without a command)."""
    meanings = COMMAND_EXITS.get(command, dict.fromkeys(EXIT_MEANINGS))
    return "Exit codes:\n" + "\n".join(
        textwrap.fill(meaning or EXIT_MEANINGS[code], 100, initial_indent=f"  {code}  ", subsequent_indent="     ")
        for code, meaning in meanings.items())


class ChemodenError(Exception):
    """A problem a user or maintainer can cause: one line naming the source, field and value."""

    exit_code = EXIT_INPUT
    status = 400  # the HTTP status the server answers with

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.field = field
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.field) if p]
        return ": ".join(parts + [self.message])

    def as_dict(self) -> dict:
        """{"field", "message"}: how JSON outputs (batch error records, POST /code) carry it."""
        return {"field": self.field, "message": self.message}

    @property
    def errors(self) -> list[ChemodenError]:
        """Every error this one reports, in the order found: itself (InputErrors: each of them)."""
        return [self]

    def as_json(self) -> dict:
        """{"error": the first as_dict(), "errors": every one}: the members of JSON error answers.
        "error" is what they carried before several errors were reported at once."""
        return {"error": self.as_dict(), "errors": [e.as_dict() for e in self.errors]}

    def lines(self) -> list[str]:
        """One line per error, `SOURCE: FIELD: MESSAGE`, as stderr shows them."""
        return [str(e) for e in self.errors]


class InputError(ChemodenError):
    """Bad session input or a bad option: names the file, the field and the value."""


class InputErrors(InputError):
    """Every input error found in one session, reported at once. It reads as its first error
    (message, field, source, status, exit code), so whatever shows one error shows what it
    showed before; `errors` holds them all, in the order found."""

    def __init__(self, errors: list[InputError]):
        first = errors[0]
        super().__init__(first.message, source=first.source, field=first.field, status=first.status)
        self._errors = list(errors)

    @property
    def errors(self) -> list[InputError]:
        return list(self._errors)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self._errors)

    def __reduce__(self):  # built from its errors, not from a message (pickling across processes)
        return type(self), (self._errors,)

    @classmethod
    def of(cls, errors) -> InputError | None:
        """None for no error, the error itself for one, else InputErrors. Nested InputErrors are
        flattened, and a field is named once (by its first error): a later check of a field
        already found bad only restates it."""
        kept: list[InputError] = []
        seen: set = set()
        for error in (e for err in errors for e in err.errors):
            key = (error.source, error.field) if error.field else (error.source, None, error.message)
            if key not in seen:
                seen.add(key)
                kept.append(error)
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else cls(kept)


class EngineMissing(InputError):
    """An engine was asked for whose optional package is not installed."""


class QueryError(InputError):
    """A query that cannot be answered as asked."""

    def __init__(self, message: str, *, status: int | None = None, field: str = "QUERY", source: str | None = None):
        super().__init__(message, field=field, source=source, status=status)


class QueryRefused(QueryError):
    """A query the read-only, closed dataset will not run (update, SERVICE, a foreign FROM)."""

    status = 403


class ResultTooLarge(QueryError):
    """The answer has more rows (or triples) than the limit allows."""

    status = 422

    def __init__(self, limit: int):
        super().__init__(f"the answer has more than {limit} rows or triples (the result-size limit); "
                         "narrow the query or add a LIMIT")
        self.limit = limit


class OntologyError(ChemodenError):
    """A broken ontology file or rule: names the file (and line where known)."""

    exit_code = EXIT_ONTOLOGY
    status = 500


class InternalError(ChemodenError):
    """A bug met while coding one record: reported as that record's error, never lost."""

    exit_code = EXIT_INTERNAL
    status = 500

    @classmethod
    def of(cls, exc: Exception) -> InternalError:
        return cls(f"internal error: {type(exc).__name__}: {exc}")


class Refusal(ChemodenError):
    """An HTTP answer refusing a request (`chemoden serve`): its status and a one-line message."""

    def __init__(self, status: int, message: str, content_type: str = "text/plain; charset=utf-8"):
        super().__init__(message, status=status)
        self.content_type = content_type
