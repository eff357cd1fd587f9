"""The presets shipped with the package, read by `--config NAME`, on tiny models of the same shapes laid
out in a Hugging Face cache under the ids the presets name (the real cache layout, read offline)."""

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from scenegen.schemas.files import presets, read_config

from support.hub import cache_entry, offline
from support.runs import scenegen
from support.tiny_models import build


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Path:
    """Every id the presets name, with a tiny model of its shape in its place."""
    tiny = build()
    hub = tmp_path_factory.mktemp("hub")
    cache_entry(hub, "stabilityai/stable-diffusion-xl-base-1.0", {".": tiny / "sdxl"})
    # h94/IP-Adapter: the SDXL adapters in sdxl_models/, the ViT-H image encoder in models/.
    cache_entry(hub, "h94/IP-Adapter", {"sdxl_models/ip-adapter_sdxl_vit-h.safetensors": tiny / "sdxl" / "ip-adapter" / "ip-adapter.safetensors",
                                        "models/image_encoder": tiny / "sdxl" / "ip-adapter" / "image_encoder"})
    cache_entry(hub, "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", {".": tiny / "wan-i2v"})
    cache_entry(hub, "Wan-AI/Wan2.1-VACE-14B-diffusers", {".": tiny / "wan-vace"})
    cache_entry(hub, "Kijai/WanVideo_comfy", {"Lightx2v/lightx2v_I2V_14B_480p_cfg_step_distill_rank128_bf16.safetensors":
                                              tiny / "wan-i2v-lora" / "pytorch_lora_weights.safetensors"})
    return hub


def test_the_presets_are_the_ones_documented():
    assert presets() == ["gpu-24gb", "gpu-80gb", "gpu-80gb-fast"]
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in presets())


@pytest.mark.torch
@pytest.mark.parametrize("name", ["gpu-80gb", "gpu-80gb-fast", "gpu-24gb"])
def test_every_preset_builds_its_dag_from_the_cache(hub, name):
    # In a fresh interpreter: huggingface_hub reads the cache location when it is imported.
    probe = f"""
from pathlib import Path
from scenegen.modules.script.offline import OfflinePlanner
from scenegen.modules.script import ScriptRequest
from scenegen.orchestrator.graph import RenderGraph
from scenegen.schemas.files import parse, read_config
from scenegen.schemas.settings import RenderSettings
settings = parse(RenderSettings, read_config(Path({name!r})), Path({name!r}))
plan = OfflinePlanner().plan(ScriptRequest(sentence="a woman's life", shots=3, seed=0, workdir=Path(".")))
graph = RenderGraph(plan, settings)
print(sorted({{n.kind for n in graph.order}}), sum(len(files) for files in graph.files.values()))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=offline(hub))
    assert result.returncode == 0, result.stderr
    assert "'clip'" in result.stdout and int(result.stdout.split()[-1]) > 0


def test_a_preset_refers_to_weights_by_id_and_names_what_is_missing(tmp_path):
    result = scenegen("story", "a woman's life", "--shots", "2", "--config", "gpu-80gb", "--out", str(tmp_path / "run"),
                      env={"HF_HUB_CACHE": str(tmp_path / "empty-hub")})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "'stabilityai/stable-diffusion-xl-base-1.0' is not a local directory" in result.stderr
    assert "huggingface-cli download stabilityai/stable-diffusion-xl-base-1.0" in result.stderr
    assert not (tmp_path / "run" / "plan.json").exists()


def test_an_unknown_config_name_lists_the_presets(tmp_path):
    result = scenegen("story", "x", "--config", "gpu-8gb", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "no preset of that name; presets: gpu-24gb, gpu-80gb, gpu-80gb-fast" in result.stderr


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.timeout(1200)   # five minutes alone on two cores, longer beside the other tests
def test_the_fast_preset_renders_a_story_with_its_distilled_lora(hub, tmp_path):
    fast = read_config(Path("gpu-80gb-fast"))
    clip = fast["backends"]["clip"]["settings"]
    assert clip["steps"] == 4 and clip["guidance"] == 1.0 and clip["loras"]
    # The preset's settings on tiny models, with what a CPU cannot do fast changed: float32, small portraits and set views.
    for choice in fast["backends"].values():
        choice["settings"]["dtype"] = "float32"
    fast["backends"]["portrait"]["settings"]["size"] = 64
    fast["backends"]["set"]["settings"]["view_height"] = 32
    run = tmp_path / "run"
    run.mkdir()
    (run / "settings.json").write_text(json.dumps(fast))
    result = subprocess.run([sys.executable, "-m", "scenegen", "story", "a woman's life", "--shots", "2",
                             "--size", "96x64", "--fps", "8", "--out", str(run)],
                            capture_output=True, text=True, env=offline(hub), timeout=1200)
    assert result.returncode == 0, result.stderr
    used = json.loads((run / "settings.json").read_text())["backends"]["clip"]["settings"]
    assert used["loras"][0]["path"] == "Kijai/WanVideo_comfy" and used["steps"] == 4
    with av.open(str(run / "film.mp4")) as film:
        assert film.streams.video[0].frames > 0
