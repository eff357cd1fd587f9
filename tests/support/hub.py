"""Model ids served from a Hugging Face cache laid out by hand, read by a process that stays offline."""

import os
import shutil
from pathlib import Path


def cache_entry(hub: Path, repo: str, files: dict[str, Path]) -> None:
    """`repo` in the Hugging Face cache layout (models--org--name/snapshots/REV, refs/main), holding `files`."""
    entry = hub / f"models--{repo.replace('/', '--')}"
    revision = "0" * 40  # a commit hash, as the hub's own downloads name them
    snapshot = entry / "snapshots" / revision
    for name, source in files.items():
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    (entry / "refs").mkdir(parents=True, exist_ok=True)
    (entry / "refs" / "main").write_text(revision)


def offline(hub: Path) -> dict:
    """The environment of a process that reads Hugging Face ids from `hub` only."""
    return {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
