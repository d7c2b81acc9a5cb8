"""The one coding entry. Every surface (CLI, batch, query --session, serve, the dataset, the
Python API, the notebooks) codes through `Coder.code`, so a rule or a check written once
holds everywhere.

A session flows: record (file, line, request) -> read (intake/read.py: JSON, JSON-LD or
Turtle; names resolved) -> checked against the session shapes (knowledge/shapes.py, a chunk
at a time) -> coded on the engine (coding/fast.py a chunk at a time, one at a time should a
chunk fail; or coding/reference.py) -> an Outcome per record, in input order, errors as values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..core.errors import ChemodenError, InputError, InputErrors, InternalError
from ..engines import registry
from ..intake.files import Record
from ..intake.model import Session, pseudonymise
from ..intake.read import read_record
from ..knowledge import shapes, verdict
from ..knowledge.ontology import Ontology, load
from . import fast, reference
from .result import Result

DEFAULT_CHUNK = 64


@dataclass
class Outcome:
    """What became of one record: its results (one per session it holds), or its error."""

    record: Record
    results: list[Result] = field(default_factory=list)
    error: ChemodenError | None = None
    read: list[Session] = field(default_factory=list, repr=False)  # as read, before coding

    def __repr__(self) -> str:
        said = f"error={str(self.error)!r}" if self.error is not None else f"results={self.results!r}"
        return f"Outcome(record={self.record.number}, source={self.record.source!r}, {said})"

    @property
    def sessions(self) -> list[Session]:
        return [r.session for r in self.results]


def check_profile(ontology: Ontology, profile: str | None) -> str | None:
    """`profile` when the ontology has it (None: each session's own, else the default)."""
    if profile is not None and ontology.names.enum("profile", profile) is None:
        raise InputError(f"unknown profile {profile!r} (known: "
                         f"{', '.join(ontology.names.enum_choices('profile'))})", field="--profile")
    return profile


class Coder:
    """The ontology (checked), the engine (resolved) and the profile, ready to code records."""

    def __init__(self, ontology: Ontology | str | None = None, *, engine: str = "auto",
                 profile: str | None = None, chunk_size: int = DEFAULT_CHUNK):
        self.ontology = ontology if isinstance(ontology, Ontology) else load(ontology)
        verdict.verify(self.ontology)  # a broken ontology is refused before it codes (exit 3)
        self.engine = registry.resolve(engine)  # a missing package: EngineMissing (exit 2)
        self.profile = check_profile(self.ontology, profile)
        self.chunk_size = max(1, chunk_size)
        # with a key (chemoden load and code --patient-key), each session's patient identifier is
        # replaced by its keyed hash as soon as it is read: nothing downstream sees the raw one
        self.patient_key: bytes | None = None

    def prepare(self) -> Coder:
        """Build now what the first chunk would (the fast coder, the compiled shapes): before a
        pool of workers forks, or a server says it is ready."""
        self.ontology.names  # noqa: B018
        if self.engine == "fast":
            fast.coder(self.ontology)
        shapes.validator(self.ontology)
        return self

    # -- the entry ----------------------------------------------------------------------
    def code(self, records: Iterable[Record], *, one_session: str | None = None, claim_required: bool = False,
             classification: bool = True) -> Iterator[Outcome]:
        """Outcomes for `records`, in order, a chunk at a time. `one_session` ("a batch record")
        makes a record holding several sessions an error; `claim_required` (audit) makes a
        session without billed lines one."""
        chunk: list[Record] = []
        for record in records:
            chunk.append(record)
            if len(chunk) >= self.chunk_size:
                yield from self._chunk(chunk, one_session, claim_required, classification)
                chunk = []
        if chunk:
            yield from self._chunk(chunk, one_session, claim_required, classification)

    def code_sessions(self, sessions: list[Session], classification: bool = True) -> list[Result]:
        """Results for sessions already read and checked (the API's `code`), in order."""
        coded = self._code_all(sessions, classification)
        results = [coded[id(s)] for s in sessions]
        failed = next((r for r in results if isinstance(r, ChemodenError)), None)
        if failed is not None:
            raise failed
        return results

    # -- steps --------------------------------------------------------------------------
    def _chunk(self, records: list[Record], one_session: str | None, claim_required: bool,
               classification: bool) -> list[Outcome]:
        return self._finish([self._read(r, one_session) for r in records], classification, claim_required)

    def code_read(self, sessions: list[Session], classification: bool = True) -> list[Outcome]:
        """Outcomes for sessions already read (a parsed document): checked, then coded."""
        return self._finish([Outcome(Record(n, s.source, None, None), read=[s]) for n, s in enumerate(sessions, 1)],
                            classification)

    def _finish(self, outcomes: list[Outcome], classification: bool, claim_required: bool = False) -> list[Outcome]:
        """The session shapes over every session read (and, for an audit, its claim), then the
        coding of those that pass. A record's error is its first bad session's, every one."""
        readable = [o for o in outcomes if o.error is None]
        sessions = [s for o in readable for s in o.read]
        errors = shapes.check_sessions(sessions, self.ontology)
        at = 0
        for outcome in readable:
            found = list(zip(outcome.read, errors[at:at + len(outcome.read)]))
            at += len(outcome.read)
            unclaimed = [(s, e) for s, e in found if claim_required and not s.claim]
            for session, error in unclaimed[:1] or [(s, e) for s, e in found if e is not None][:1]:
                missing = [InputError("missing or empty: an audit needs the claim's billed lines",
                                      source=session.source, field="billed")] if unclaimed else []
                outcome.error = InputErrors.of(missing + ([error] if error is not None else []))
        todo = [s for o in outcomes if o.error is None for s in o.read]
        coded = self._code_all(todo, classification)
        for outcome in outcomes:
            if outcome.error is None:
                results = [coded[id(s)] for s in outcome.read]
                failed = next((r for r in results if isinstance(r, ChemodenError)), None)
                if failed is not None:
                    outcome.error = failed
                else:
                    outcome.results = results
        return outcomes

    def _read(self, record: Record, one_session: str | None) -> Outcome:
        outcome = Outcome(record)
        try:
            sessions = read_record(record, self.ontology, self.profile)
            if self.patient_key is not None:
                for session in sessions:
                    pseudonymise(session, self.patient_key)
            if one_session and len(sessions) != 1:
                raise InputError(f"holds {len(sessions)} sessions; {one_session} is one session", source=record.source)
            outcome.read = sessions
        except ChemodenError as exc:
            outcome.error = exc
        except Exception as exc:  # a bug must not lose the record either
            outcome.error = InternalError.of(exc)
        return outcome

    def _code_all(self, sessions: list[Session], classification: bool) -> dict:
        """Result (or InternalError) by id(session)."""
        out: dict = {}
        if self.engine == "fast" and sessions:
            try:
                results = fast.coder(self.ontology).code(sessions, classification=classification)
                return {id(s): r for s, r in zip(sessions, results)}
            except Exception:  # one odd session must not sink its chunk: code each alone
                pass
        for session in sessions:
            try:
                out[id(session)] = self._one(session, classification)
            except Exception as exc:
                out[id(session)] = InternalError.of(exc)
        return out

    def _one(self, session: Session, classification: bool) -> Result:
        if self.engine == "fast":
            return fast.coder(self.ontology).code([session], classification=classification)[0]
        return reference.code_one(session, self.ontology, self.engine)


def first_error(outcomes: Iterable[Outcome]) -> list[Result]:
    """The results of every outcome, or the first error raised (the Python API's way)."""
    results = []
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
        results.extend(outcome.results)
    return results
