"""The run directory: artifacts under their keys, records of finished nodes, a lock.

    RUN/plan.json, settings.json            what the user edits
    RUN/film.mp4, shots.srt, ...            exports: copies of the latest artifacts
    RUN/artifacts/<kind>/<subject>-<key12><suffix>
    RUN/.scenegen/records/<kind>/<subject>/<key>.json    "done": written last
    RUN/.scenegen/failures/<kind>/<subject>/<key>.json   the error of a failed attempt
    RUN/.scenegen/tmp/                      artifacts being written
    RUN/.scenegen/lock                      held by the one process rendering

An artifact is written to tmp/, fsynced and renamed into place; its record is
written (atomically too) only after that, so an artifact without a record, or a
record whose artifact is missing or of the wrong size, is never taken as done.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from scenegen.atomic import publish, write_atomic
from scenegen.errors import UserError

STATE = ".scenegen"
PLAN = "plan.json"
SETTINGS = "settings.json"
# Node kinds whose artifact is copied to the top of the run directory, and the name it takes there.
EXPORTS = {"film": "film.mp4", "captions": "shots.srt", "timeline": "timeline.otio", "storyboard": "storyboard.html"}


@dataclass(frozen=True)
class Record:
    node: str
    key: str
    artifact: str        # relative to the run directory
    sha256: str
    bytes: int
    seconds: float
    facts: dict = field(default_factory=dict)   # what the backend reported (metric scores, takes)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class RunDir:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.state = self.root / STATE
        self.plan = self.root / PLAN
        self.settings = self.root / SETTINGS
        self.tmp = self.state / "tmp"
        self._lock_fd: int | None = None
        self._holder: int | None = None   # the thread holding the lock
        self._taking = threading.Lock()

    # -- locking -----------------------------------------------------------------

    def lock(self) -> None:
        """Take the run directory for this thread, or refuse if another process or thread holds it."""
        with self._taking:  # so a thread that finds the lock taken here sees by whom
            if self._lock_fd is not None:
                raise UserError(f"{self.root}: another thread of this process is rendering this run; "
                                "wait for it to finish, then run again")
            self.tmp.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise UserError(
                    f"{self.root}: another scenegen process (pid {holder}) is rendering this run; "
                    "wait for it to finish or stop it, then run again"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            self._lock_fd, self._holder = fd, threading.get_ident()
        # Temp files left by a killed process are partial by definition, as are a backend's scratch folders.
        for leftover in self.tmp.iterdir():
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()

    @property
    def is_locked(self) -> bool:
        """Whether this thread holds the lock: another thread of the process holding it must not share its hold,
        or the two would write the same temp files and record each other's bytes."""
        return self._lock_fd is not None and self._holder == threading.get_ident()

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def found_before(self, names: list[str]) -> list[Path]:
        """Those of the files `names` at the top of the folder that were there before it became a run: the user's."""
        if self.state.is_dir():
            return []
        return [self.root / name for name in names if (self.root / name).exists()]

    # -- artifacts and records -----------------------------------------------------

    def artifact_path(self, kind: str, subject: str, key: str, suffix: str) -> Path:
        return self.root / "artifacts" / kind / f"{subject}-{key[:12]}{suffix}"

    def keep_dir(self, kind: str, subject: str, key: str) -> Path:
        return self.root / "artifacts" / kind / f"{subject}-{key[:12]}.kept"

    def temp_path(self, key: str, suffix: str) -> Path:
        return self.tmp / f"{key}{suffix}"

    def record_path(self, kind: str, subject: str, key: str) -> Path:
        return self.state / "records" / kind / subject / f"{key}.json"

    def _failure_path(self, kind: str, subject: str, key: str) -> Path:
        return self.state / "failures" / kind / subject / f"{key}.json"

    def record(self, kind: str, subject: str, key: str) -> Record | None:
        """The record of a finished node, if its artifact is still intact."""
        try:
            record = Record(**json.loads(self.record_path(kind, subject, key).read_text()))
            if (self.root / record.artifact).stat().st_size == record.bytes:
                return record
        except (FileNotFoundError, ValueError, TypeError):
            pass
        return None

    def has_history(self, kind: str, subject: str) -> bool:
        """Whether this node was ever finished, under any key."""
        return any((self.state / "records" / kind / subject).glob("*.json"))

    def write_record(self, kind: str, subject: str, record: Record) -> None:
        write_atomic(self.record_path(kind, subject, record.key), json.dumps(record.__dict__, indent=1))
        self._failure_path(kind, subject, record.key).unlink(missing_ok=True)

    def write_failure(self, kind: str, subject: str, key: str, node: str, error: str) -> None:
        data = {"node": node, "key": key, "error": error, "time": time.time()}
        write_atomic(self._failure_path(kind, subject, key), json.dumps(data, indent=1))

    def failure(self, kind: str, subject: str, key: str) -> str | None:
        try:
            return json.loads(self._failure_path(kind, subject, key).read_text())["error"]
        except (FileNotFoundError, ValueError, KeyError):
            return None

    # -- exports and the up-to-date stamp ----------------------------------------------

    def export(self, artifact: Path, name: str) -> None:
        """Copy an artifact to the top of the run directory (a copy, so editing it cannot corrupt the cache)."""
        tmp = self.tmp / f"export-{name}"
        shutil.copyfile(artifact, tmp)
        publish(tmp, self.root / name)

    def exported(self, name: str, record: Record) -> bool:
        """Whether the export `name` holds the bytes of `record`'s artifact: a render killed while copying the
        exports out leaves the ones it had not reached yet from before, whole but stale."""
        path = self.root / name
        try:
            return path.stat().st_size == record.bytes and file_sha256(path) == record.sha256
        except OSError:
            return False

    # A complete render leaves a stamp: the bytes of plan and settings, and the size and
    # mtime of every code file, record, artifact and export it used. While all of these
    # are unchanged nothing can be stale, so `render` can say so without rebuilding the
    # DAG, importing a backend or even numpy. Anything that differs falls back to the DAG.

    def write_stamp(self, inputs: str, outside_files: list[Path], run_files: list[Path]) -> None:
        """Stamp a complete render of the plan and settings whose `inputs_digest` was `inputs`.

        `run_files` lie in the run directory, `outside_files` (code, weights) anywhere.
        """
        files = {str(p): _stat(p) for p in outside_files}
        # Paths inside the run are kept relative, so a copied or moved run is checked as itself.
        files |= {str(p.relative_to(self.root)): _stat(p) for p in run_files}
        write_atomic(self.state / "stamp.json", json.dumps({"inputs": inputs, "files": files}))

    def clear_stamp(self) -> None:
        (self.state / "stamp.json").unlink(missing_ok=True)

    def stamp_is_current(self) -> bool:
        try:
            stamp = json.loads((self.state / "stamp.json").read_text())
            return stamp["inputs"] == self.inputs_digest() and all(
                _stat(self.root / p) == list(st) for p, st in stamp["files"].items()
            )
        except (OSError, ValueError, KeyError, TypeError):  # no stamp, or no run directory at all
            return False

    def inputs_digest(self) -> str:
        """What the user edits, plan and settings, as one digest."""
        h = hashlib.sha256()
        for path in (self.plan, self.settings):
            h.update(path.read_bytes() if path.exists() else b"(none)")  # no settings.json: the defaults
            h.update(b"\0")
        return h.hexdigest()


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]
