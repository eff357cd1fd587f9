"""Content digests of the files outside a run that decide its artifacts (model weights).

A model changed in place at the same path is another model, so what it made must be
made again: the digest of a backend's files is part of its nodes' keys. Hashing tens
of gigabytes takes minutes, so each file's SHA-256 is remembered in the user's cache
($XDG_CACHE_HOME/scenegen/digests.json) under its size, mtime and inode, and computed
again only when one of those changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from scenegen.atomic import write_atomic
from scenegen.orchestrator.store import file_sha256


def _cache_path() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scenegen" / "digests.json"


def files_digest(paths: list[Path]) -> str:
    """One SHA-256 over the paths and contents of `paths`."""
    if not paths:
        return hashlib.sha256(b"").hexdigest()
    cache_path = _cache_path()
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    changed = False
    digest = hashlib.sha256()
    for path in sorted({p.resolve() for p in paths}):
        st = path.stat()
        seen = [st.st_size, st.st_mtime_ns, st.st_ino]
        entry = cache.get(str(path))
        if not entry or entry[:3] != seen:
            cache[str(path)] = entry = [*seen, file_sha256(path)]
            changed = True
        digest.update(f"{path}\0{entry[3]}\n".encode())
    if changed:
        # Forget files that are gone, so the cache holds only what could be asked again.
        write_atomic(cache_path, json.dumps({p: e for p, e in cache.items() if Path(p).exists()}))
    return digest.hexdigest()
