import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scenegen.cli import app
from scenegen.orchestrator.executor import InProcessExecutor
from scenegen.orchestrator.render import bring_up_to_date
from scenegen.orchestrator.store import RunDir

SMALL = ["--size", "160x96", "--fps", "12"]


def scenegen(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real command line in a fresh interpreter, as a user would (with `env` added to the environment)."""
    return subprocess.run([sys.executable, "-m", "scenegen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200", **(env or {})})


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Weight digests (and any library's cache) go to a folder of this session, not the user's."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def small_run(tmp_path, cli) -> RunDir:
    """A rendered 6-shot run at a small size: quick to make, every node kind present."""
    result = cli("story", "a woman's life", "--shots", "6", "--out", str(tmp_path / "run"), *SMALL)
    assert result.exit_code == 0, result.output
    return RunDir(tmp_path / "run")


def edit_plan(run: RunDir, change) -> None:
    plan = json.loads(run.plan.read_text())
    change(plan)
    run.plan.write_text(json.dumps(plan, indent=2))


def rerender(run: RunDir, executor=None):
    """Render (in-process unless an executor is given) and return the report (which nodes ran)."""
    executor = executor or InProcessExecutor(workers=2)
    run.lock()
    try:
        return bring_up_to_date(run, executor)
    finally:
        executor.close()
        run.unlock()


def reference_run(tmp_path_factory, sentence: str, shots: int, *options: str) -> tuple[RunDir, float]:
    """An uninterrupted render, and how long it took."""
    import time

    root = tmp_path_factory.mktemp("reference") / "run"
    start = time.monotonic()
    result = scenegen("story", sentence, "--shots", str(shots), "--out", str(root), *options)
    assert result.returncode == 0, result.stderr
    return RunDir(root), time.monotonic() - start


def fresh_copy(reference: RunDir, target: Path) -> RunDir:
    """A run directory holding only the reference's plan and settings: nothing rendered."""
    import shutil

    target.mkdir()
    for name in ("plan.json", "settings.json"):
        shutil.copy(reference.root / name, target / name)
    return RunDir(target)


def cache_entry(hub: Path, repo: str, files: dict[str, Path]) -> None:
    """`repo` in the Hugging Face cache layout (models--org--name/snapshots/REV, refs/main), holding `files`."""
    import shutil

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


def subtitle_cues(video: Path) -> list[tuple[float, float, str]]:
    """(start s, end s, text) of each cue of a video's subtitle track (the muxer's empty filler samples skipped)."""
    import av

    with av.open(str(video)) as container:
        track = container.streams.subtitles[0]
        assert track.codec_context.name == "mov_text"
        cues = []
        for packet in container.demux(track):
            decoded = track.decode2(packet) if packet.dts is not None else None
            if decoded:
                cues.append((float(packet.pts * packet.time_base), float((packet.pts + packet.duration) * packet.time_base),
                             decoded[0].dialogue.decode()))
        return cues


@pytest.fixture(scope="session")
def clip_vocabulary():
    """A tokenizer with CLIP's own BPE vocabulary, the one Stable Diffusion and SDXL read prompts with.

    open_clip_torch's wheel ships `bpe_simple_vocab_16e6.txt.gz` (the README's test command
    installs it without its dependencies: its torchvision does not load beside this torch).
    The package is found, not imported. The vocabulary is laid out as OpenAI's tokenizer
    lays it: the 256 byte symbols, each as a word end, then one token per merge, then the
    start and end marks.
    """
    import gzip
    import importlib.util

    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    spec = importlib.util.find_spec("open_clip")
    assert spec is not None, "pip install --no-deps open_clip_torch: its wheel ships CLIP's BPE vocabulary"
    merges_file = Path(spec.submodule_search_locations[0]) / "bpe_simple_vocab_16e6.txt.gz"
    merges = [tuple(line.split()) for line in gzip.decompress(merges_file.read_bytes()).decode().split("\n")[1:48895]]
    symbols = list(bytes_to_unicode().values())
    vocab = [*symbols, *(s + "</w>" for s in symbols), *("".join(m) for m in merges), "<|startoftext|>", "<|endoftext|>"]
    tokenizer = CLIPTokenizer(vocab={token: i for i, token in enumerate(vocab)}, merges=merges, model_max_length=77)
    # CLIP's 49,408 tokens, its start and end marks at 49406 and 49407, common words one token each.
    ids = tokenizer("a photo of a cat").input_ids
    assert len(vocab) == 49408 and ids[0] == 49406 and ids[-1] == 49407 and len(ids) == 7
    return tokenizer
