"""Errors a user can cause, each with a documented exit code (see README)."""

EXIT_OK = 0
EXIT_CONFLICTS = 1  # coded, with at least one error-severity conflict
EXIT_INPUT = 2  # the input could not be coded
EXIT_ONTOLOGY = 3  # the ontology or a rule file is broken (a maintainer's error)


class ChemodenError(Exception):
    exit_code = EXIT_INPUT

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.field = field

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.field) if p]
        return ": ".join(parts + [self.message])


class InputError(ChemodenError):
    """Bad session input: names the file, the field and the value."""

    exit_code = EXIT_INPUT


class OntologyError(ChemodenError):
    """A broken ontology file or rule: names the file."""

    exit_code = EXIT_ONTOLOGY
