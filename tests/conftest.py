import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scenegen.cli import app
from scenegen.orchestrator.store import RunDir

from support.runs import SMALL


def pytest_collection_modifyitems(items):
    """The slow tests first: the workers (pytest -n) take a file at a time in this order, so the longest files
    start at once, side by side, rather than last, with one worker idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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
