"""Which files hold sessions, and records: one session each, read but not yet parsed.

`code` and `query --session` take files and folders; `batch` takes a JSON Lines file or a
folder, one record per line or file. A record that cannot be read (a broken link, bytes that
are not UTF-8) still is a record: it carries its InputError, so no record is ever lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputError

SESSION_SUFFIXES = (".json", ".jsonld", ".ttl", ".txt")  # .txt: a procedure note (intake/notes/)
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class Record:
    """One input to code: its text (or the error reading it), where it came from, its format."""

    number: int  # 1-based line number (JSON Lines) or position (folder, argument list)
    source: str
    text: str | bytes | None
    fmt: str | None
    error: InputError | None = None


def session_files(path: Path, *, links: bool = False) -> list[Path]:
    """A folder stands for the session files under it, in name order. With `links`, a link that
    cannot be followed (broken or looping) is listed too, so a batch gives it an error record."""
    return [f for f in sorted(path.rglob("*"))
            if (f.is_file() or (links and f.is_symlink())) and f.suffix.lower() in SESSION_SUFFIXES]


def fmt_of(path: Path) -> str | None:
    """The format a file's suffix names (None: sniff the text)."""
    return {".json": "json", ".jsonld": "json", ".ttl": "turtle", ".txt": "text"}.get(path.suffix.lower())


def file_record(path: Path, number: int = 1) -> Record:
    """A session file as a record (its bytes, or the error reading it)."""
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Record(number, source, None, None, InputError("file not found", source=source))
    except IsADirectoryError:
        return Record(number, source, None, None, InputError("is a folder, not a session file", source=source))
    except OSError as exc:
        return Record(number, source, None, None, InputError(f"cannot read: {exc.strerror}", source=source))
    return Record(number, source, data, fmt_of(path))


def count_records(path: Path) -> int:
    if path.is_dir():
        return len(session_files(path, links=True))
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def read_records(path: Path) -> Iterator[Record]:
    """One record per non-blank line of a JSON Lines file, or per session file in a folder."""
    if path.is_dir():
        for n, f in enumerate(session_files(path, links=True), start=1):
            fmt = {".ttl": "turtle", ".txt": "text"}.get(f.suffix.lower(), "json")
            try:
                yield Record(n, str(f), f.read_bytes(), fmt)
            except OSError as exc:
                yield Record(n, str(f), None, fmt, InputError(f"cannot read: {exc.strerror}", source=str(f)))
        return
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if raw.strip():
                yield Record(n, f"{path}:{n}", raw, "json")


def sources(paths: list[str], stdin: bytes | None = None) -> Iterator[Record]:
    """The records of command-line arguments: a file, a folder (its session files, in name
    order), JSON Lines (one record a line), or - (standard input, `stdin`)."""
    number = 0
    for argument in paths:
        path = Path(argument)
        if argument == "-":
            number += 1
            yield Record(number, "<stdin>", stdin if stdin is not None else b"", None)
        elif path.is_dir():
            for f in session_files(path):
                number += 1
                yield file_record(f, number)
        elif path.suffix.lower() in JSON_LINES_SUFFIXES and path.is_file():
            for record in read_records(path):
                number += 1
                yield Record(number, record.source, record.text, record.fmt, record.error)
        else:
            number += 1
            yield file_record(path, number)
