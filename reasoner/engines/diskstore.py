"""A treatment-history store on disk: an Oxigraph (RocksDB) database in a folder, one writer,
readers on snapshots.

    DIR/                       created readable by its owner only (0700)
      chemoden-store.json      the manifest: what built the store (ontology hash, profile, the
                               patient key's fingerprint), its size, and the current snapshot
      primary/                 the database; only the writer (chemoden load) opens it
      snapshots/NNNNNN/        a copy made when a load ends (hard links: cheap); readers
                               (query, serve, export, code --store) open the current one read-only
      write.lock               held by the writer for the whole load

Oxigraph says a database read while another process writes it is undefined behaviour, so a
reader never opens primary/: it opens the snapshot the manifest names, which nothing writes
again. A load takes write.lock (a second load is refused at once) and publishes a new snapshot
by replacing the manifest atomically; snapshots no reader holds (readers hold a shared lock on
NNNNNN.lock) are removed, the newest two always kept.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..core.errors import InputError

MANIFEST = "chemoden-store.json"
FORMAT = 1
KEEP_SNAPSHOTS = 2


class StoreBusy(InputError):
    """Another process holds the store's write lock."""


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def read_manifest(directory: Path) -> dict | None:
    path = Path(directory) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"not a Chemoden store: cannot read {MANIFEST} ({exc})", source=str(directory),
                         field="--store") from None


def write_manifest(directory: Path, manifest: dict) -> None:
    """Replace the manifest atomically (readers see the old one or the new one, never half)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".manifest-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, Path(directory) / MANIFEST)


class Writer:
    """The store opened for writing: the lock held, the primary database open."""

    def __init__(self, directory: str | Path, *, create: bool):
        import pyoxigraph as ox

        self.directory = Path(directory)
        existing = read_manifest(self.directory)
        if existing is None:
            if self.directory.exists() and any(self.directory.iterdir()):
                raise InputError("is a folder that is not empty and not a Chemoden store; give a new folder",
                                 source=str(self.directory), field="--store")
            if not create:
                raise InputError("no store here (chemoden load creates one)", source=str(self.directory), field="--store")
        _private_dir(self.directory)
        os.umask(0o077)  # every file the database writes: owner only
        self._lock = open(self.directory / "write.lock", "a")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise StoreBusy("another chemoden load is writing this store; wait for it to end",
                            source=str(self.directory), field="--store") from None
        self.manifest = existing or {"format": FORMAT, "created": _now(), "snapshot": None}
        if self.manifest.get("format") != FORMAT:
            self.close()
            raise InputError(f"store format {self.manifest.get('format')!r} is not {FORMAT}: load it again into a new "
                             "folder", source=str(self.directory), field="--store")
        self.store = ox.Store(str(self.directory / "primary"))

    def publish(self, **fields) -> str:
        """Flush, snapshot and name the snapshot in the manifest (with `fields`); old snapshots
        no reader holds are removed."""
        self.store.flush()
        self.store.optimize()
        snapshots = self.directory / "snapshots"
        _private_dir(snapshots)
        number = max((int(p.name) for p in snapshots.iterdir() if p.is_dir() and p.name.isdigit()), default=0) + 1
        name = f"{number:06d}"
        self.store.backup(str(snapshots / name))
        self.manifest.update(fields, snapshot=f"snapshots/{name}", updated=_now())
        write_manifest(self.directory, self.manifest)
        _prune(snapshots, keep=name)
        return name

    def close(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.flush()
            del self.store
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


def _prune(snapshots: Path, keep: str) -> None:
    names = sorted((p.name for p in snapshots.iterdir() if p.is_dir() and p.name.isdigit()), reverse=True)
    for name in names[KEEP_SNAPSHOTS:]:
        if name == keep:
            continue
        lock_path = snapshots / f"{name}.lock"
        with open(lock_path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a reader still has it open
            shutil.rmtree(snapshots / name, ignore_errors=True)
        lock_path.unlink(missing_ok=True)


class Reader:
    """The store's current snapshot opened read-only (the manifest as it was when opened)."""

    def __init__(self, directory: str | Path):
        import pyoxigraph as ox

        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise InputError("no store here (chemoden load creates one)", source=str(self.directory), field="--store")
        for _ in range(5):  # a load may publish between reading the manifest and locking its snapshot
            manifest = read_manifest(self.directory)
            if manifest is None or not manifest.get("snapshot"):
                raise InputError("not a Chemoden store, or no load has finished in it yet", source=str(self.directory),
                                 field="--store")
            path = self.directory / manifest["snapshot"]
            self._lock = open(f"{path}.lock", "a")  # noqa: SIM115 - held while the snapshot is open
            fcntl.flock(self._lock, fcntl.LOCK_SH)
            if path.is_dir():
                break
            self._lock.close()
        else:
            raise InputError("the store's snapshot is missing", source=str(self.directory), field="--store")
        self.manifest = manifest
        self.path = path
        self.store = ox.Store.read_only(str(path))

    def close(self) -> None:
        self.store = None
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
