"""Every TOML config the README shows loads, backend by backend, with tiny models of the same shapes
laid out as the README says the real ones are (/models/..., h94/IP-Adapter's folders, Hugging Face ids)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.hub import cache_entry, offline
from support.tiny_models import build

README = Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", README.read_text(), re.S)

LOAD_EACH_BACKEND = """
import sys
from pathlib import Path
from scenegen.orchestrator.registry import backend_class
from scenegen.schemas.files import parse, read_config
from scenegen.schemas.settings import OutputFormat
config = read_config(Path(sys.argv[1]))
output = OutputFormat(**config.get("output", {}))
for kind, choice in config.get("backends", {}).items():
    # On this CPU: the README's weights and levers, in float32 on the CPU.
    settings = dict(choice["settings"])
    # A gated keyframe's pipeline settings are its inner backend's.
    pipeline = settings["inner_settings"] if choice["name"] == "gated" else settings
    pipeline.update(device="cpu", dtype="float32")
    backend = backend_class(kind, choice["name"])(settings)
    backend.check(output)
    backend.load()
    getattr(backend, "pipe", None)   # the smoothing stage loads its model at first use
    backend.release()
    print("loaded", kind)
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    """A /models folder and a Hugging Face cache holding tiny stand-ins for what the README names."""
    tiny = build()
    root = tmp_path_factory.mktemp("models")
    for name, source in {"stable-diffusion-xl-base-1.0": "sdxl", "Wan2.1-I2V-14B-480P-Diffusers": "wan-i2v",
                         "Wan2.1-VACE-14B-diffusers": "wan-vace", "clip-vit-large-patch14": "clip",
                         "LTX-2": "ltx2"}.items():
        shutil.copytree(tiny / source, root / name)
    # h94/IP-Adapter: ViT-H adapters use models/image_encoder; the others the ViT-bigG in sdxl_models/.
    adapter, encoder = tiny / "sdxl" / "ip-adapter" / "ip-adapter.safetensors", tiny / "sdxl" / "ip-adapter" / "image_encoder"
    (root / "IP-Adapter" / "sdxl_models").mkdir(parents=True)
    for name in ("ip-adapter_sdxl_vit-h.safetensors", "ip-adapter_sdxl.safetensors"):
        shutil.copy(adapter, root / "IP-Adapter" / "sdxl_models" / name)
    shutil.copytree(encoder, root / "IP-Adapter" / "models" / "image_encoder")
    shutil.copytree(encoder, root / "IP-Adapter" / "sdxl_models" / "image_encoder")
    hub = tmp_path_factory.mktemp("hub")
    cache_entry(hub, "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", {".": tiny / "wan-i2v"})
    cache_entry(hub, "Kijai/WanVideo_comfy", {"Lightx2v/lightx2v_I2V_14B_480p_cfg_step_distill_rank128_bf16.safetensors":
                                              tiny / "wan-i2v-lora" / "pytorch_lora_weights.safetensors"})
    return root, hub


def test_the_readme_shows_configs():
    assert len(BLOCKS) >= 3


@pytest.mark.torch
@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: re.findall(r"\[backends\.(\w+)\]", b)[0])
def test_each_readme_config_loads_with_models_of_its_shapes(models, block, tmp_path):
    root, hub = models
    config = tmp_path / "config.toml"
    config.write_text(block.replace("/models/", f"{root}/"))
    result = subprocess.run([sys.executable, "-c", LOAD_EACH_BACKEND, str(config)], capture_output=True, text=True,
                            env=offline(hub), timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("loaded") == len(re.findall(r"\[backends\.\w+\]", block))
