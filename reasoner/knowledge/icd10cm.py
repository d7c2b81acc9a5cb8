"""ICD-10-CM codes: whether a diagnosis code exists and may be billed, from a small cache.

The code set comes from the library simple-icd-10-cm, which parses its XML tabular list when
imported (about 2.5 s, with deprecation warnings). So the library is read once, warnings
silenced, into a text file in the per-user cache folder (reasoner/knowledge/cache.py: keyed by
the library's version, so a new release of the code set rebuilds it); afterwards a lookup reads
that file (a few milliseconds) and never imports the library. Nothing here is touched unless a
session carries diagnoses.

The file holds a header line (library version, then the edition of the code set), the
billable codes (leaves of the classification) and the codes that are not billable (categories
and subcategories with children), each line sorted and written with the dot. Chapters and
blocks of the classification (a number, a range of categories) are not codes a claim can carry: they are not kept.
In ICD-10-CM a code's descendants are exactly the codes that extend it, so the billable codes
under one are found by prefix.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import cache

LIBRARY = "simple-icd-10-cm"
BILLABLE = "billable"
NOT_BILLABLE = "not billable"
UNKNOWN = "unknown"
MALFORMED = "malformed"

# A code as written: a letter, two letters or digits, then up to four more after an optional dot
_WRITTEN = re.compile(r"([A-Z][0-9A-Z]{2})\.?([0-9A-Z]{1,4})?")
_CODE = re.compile(r"[A-Z][0-9A-Z]{2}(\.[0-9A-Z]{1,4})?")
_FORMAT = "1"  # the cache file's layout; a change of layout is a new file name


@dataclass(frozen=True)
class CodeSet:
    version: str  # of the library
    edition: str  # of the code set, e.g. "April 1, 2026 (FY2026)"
    billable: list[str]  # sorted, dotted
    other: list[str]  # valid but not billable: sorted, dotted

    @staticmethod
    def has(codes: list[str], code: str) -> bool:
        at = bisect.bisect_left(codes, code)
        return at < len(codes) and codes[at] == code

    def under(self, code: str, limit: int = 2) -> tuple[str, ...]:
        """The first `limit` billable codes under a code (in code order)."""
        prefix = code if "." in code else code + "."
        at = bisect.bisect_left(self.billable, prefix)
        found = []
        while at < len(self.billable) and len(found) < limit and self.billable[at].startswith(prefix):
            found.append(self.billable[at])
            at += 1
        return tuple(found)


_LOCK = threading.Lock()
_LOADED: dict[str, CodeSet] = {}


def normalise(code) -> str | None:
    """The code upper case with its dot after the third character, or None when it is not
    written as an ICD-10-CM code at all."""
    if not isinstance(code, str):
        return None
    match = _WRITTEN.fullmatch(code.strip().upper())
    if match is None:
        return None
    head, tail = match.groups()
    return f"{head}.{tail}" if tail else head


def lookup(code) -> tuple[str, str, tuple[str, ...]]:
    """(the code normalised, its status, a hint): status BILLABLE; NOT_BILLABLE, with up to
    two billable codes under it as the hint; UNKNOWN (well formed, not in the code set); or
    MALFORMED (not written as an ICD-10-CM code; the text returned stripped, upper case)."""
    written = normalise(code)
    if written is None:
        return (str(code).strip().upper(), MALFORMED, ())
    codes = code_set()
    if codes.has(codes.billable, written):
        return (written, BILLABLE, ())
    if codes.has(codes.other, written):
        return (written, NOT_BILLABLE, codes.under(written))
    return (written, UNKNOWN, ())


def edition() -> str:
    """The code set's edition, as the library's data file names it: "April 1, 2026 (FY2026)"."""
    return code_set().edition


@functools.cache
def library_version() -> str:
    """The installed library's version (read once: asking importlib.metadata costs a millisecond)."""
    try:
        return metadata.version(LIBRARY)
    except metadata.PackageNotFoundError:
        return "missing"


def cache_path(version: str | None = None) -> Path:
    return cache.directory() / f"icd10cm-{version or library_version()}-{_FORMAT}.txt"


def code_set() -> CodeSet:
    """The code set, from memory, else the cache file, else built from the library (and kept)."""
    version = library_version()
    found = _LOADED.get(version)
    if found is not None:
        return found
    with _LOCK:
        found = _LOADED.get(version)
        if found is None:
            path = cache_path(version)
            found = _read(path, version)
            if found is None:
                found = build()
                _write(path, found)
            _LOADED[version] = found
    return found


def _read(path: Path, version: str) -> CodeSet | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    parts = text.split("\n")
    if len(parts) < 3:
        path.unlink(missing_ok=True)  # damaged: rebuilt, never trusted
        return None
    header = parts[0].split("\t")
    if len(header) != 3 or header[0] != LIBRARY or header[1] != version or not parts[1]:
        path.unlink(missing_ok=True)
        return None
    cache.used(path)
    return CodeSet(version, header[2], parts[1].split(" "), parts[2].split(" ") if parts[2] else [])


def _write(path: Path, codes: CodeSet) -> None:
    text = "\n".join([f"{LIBRARY}\t{codes.version}\t{codes.edition}", " ".join(codes.billable),
                      " ".join(codes.other)]) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            tmp.write(text)
        os.replace(tmp.name, path)  # atomic: concurrent processes never read half a file
    except OSError:
        return  # a read-only home is no reason to fail: the code set is kept in memory only
    cache.prune("icd10cm-*.txt", keep=2)


def build() -> CodeSet:
    """The code set read from the library (seconds: it parses its XML), warnings silenced."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import simple_icd_10_cm as icd  # a dependency of the package: see pyproject.toml
        billable, other = set(), set()
        for code in icd.get_all_codes(with_dots=True):
            if _CODE.fullmatch(code):  # chapters and blocks of categories are not codes
                (billable if icd.is_leaf(code) else other).add(code)
    return CodeSet(library_version(), _edition(icd), sorted(billable), sorted(other))


def _edition(icd) -> str:
    """"April 1, 2026 (FY2026)" from the name of the library's tabular file and the fiscal
    year its XML states."""
    module = getattr(icd, "simple_icd_10_cm", icd)
    name = str(getattr(module, "_classification_data_package_file_name", ""))
    match = re.search(r"([A-Z][a-z]+)-(\d{1,2})-(\d{4})\.xml$", name)
    dated = f"{match[1]} {match[2]}, {match[3]}" if match else "edition not stated"
    year = None
    try:
        from importlib import resources

        data = resources.files(f"{module.__name__.rsplit('.', 1)[0]}.data") / name
        with data.open("r", encoding="utf-8") as handle:
            found = re.search(r"<version>\s*(\d{4})\s*</version>", handle.read(4096))
        year = found[1] if found else None
    except (OSError, ValueError, TypeError, ModuleNotFoundError):
        pass
    return f"{dated} (FY{year})" if year else dated
