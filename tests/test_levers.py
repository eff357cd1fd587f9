"""Levers on tiny random-weight pipelines: the combinations that are accepted run, the others are
refused with one line before any work, adapters come before casts and hooks, LoRAs and guidance 1."""

import hashlib
import itertools
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from scenegen.errors import UserError
from scenegen.modules.boundary.diffusers import DiffusersBoundary
from scenegen.modules.clip.diffusers import DiffusersClip
from scenegen.modules.diffusers_backend import PipelineSettings, generator, load_pipeline
from scenegen.modules.keyframe.diffusers import DiffusersKeyframe
from scenegen.modules.levers import DeviceOutOfMemory, device_memory_advice
from scenegen.modules.portrait.diffusers import DiffusersPortrait
from scenegen.schemas import OutputFormat

from support.runs import scenegen
from support.tiny_models import build

pytestmark = pytest.mark.torch

OUTPUT = OutputFormat(fps=8, width=96, height=64)
KEYFRAME = DiffusersKeyframe
STILL = Image.new("RGB", (48, 32), (90, 120, 200))


@pytest.fixture(scope="module")
def tiny():
    return build()


def settings_for(tiny, model: str, **levers) -> dict:
    return {"model": str(tiny / model), "dtype": "float32", "device": "cpu", "steps": 2, "guidance": 1.0, **levers}


def clip(tiny, model="wan-i2v", steps=2, guidance=1.0, **levers) -> tuple[str, int]:
    """A tiny Wan I2V clip's digest, and how many times the transformer ran."""
    pipe = load_pipeline("WanImageToVideoPipeline", PipelineSettings(**settings_for(tiny, model, **levers)), "wan")
    forwards = []
    pipe.transformer.register_forward_pre_hook(lambda *_: forwards.append(1))
    video = pipe(image=STILL, prompt="a woman walks", height=32, width=48, num_frames=5, num_inference_steps=steps,
                 guidance_scale=guidance, generator=generator(1), max_sequence_length=16, output_type="np").frames[0]
    assert np.isfinite(video).all()
    return hashlib.sha256(video.tobytes()).hexdigest(), len(forwards)


REFUSED = [
    (DiffusersClip, "wan-i2v", {"cpu_offload": True, "group_offload": "block"}, "cpu_offload and group_offload both move weights"),
    (DiffusersClip, "wan-i2v", {"cpu_offload": True}, 'with device = "cpu" leave them off'),
    (DiffusersBoundary, "wan-vace", {"cache": "first_block"}, "adds WanVACE's control hints twice"),
    (DiffusersClip, "ltx", {"family": "ltx", "cache": "first_block"}, "fails inside LTX-Video's transformer"),
    (DiffusersPortrait, "sd15", {"cache": "taylorseer"}, "a UNet has none"),
    (KEYFRAME, "sd15", {"cache": "first_block", "ip_adapter": "IPA"}, "a UNet has none"),
    (DiffusersPortrait, "sd15", {"vae_dtype": "float32", "dtype": "bfloat16"}, "only the Wan pipelines cast latents"),
]


@pytest.mark.parametrize("backend, model, levers, message", REFUSED)
def test_combinations_that_cannot_work_are_refused_with_a_reason(tiny, backend, model, levers, message):
    if levers.get("ip_adapter") == "IPA":
        levers = {**levers, "ip_adapter": str(tiny / "sd15" / "ip-adapter")}
    with pytest.raises(UserError, match=message) as refused:
        backend(settings_for(tiny, model, **levers)).check(OUTPUT)
    assert len(str(refused.value).splitlines()) == 1 and f"[backends.{backend.kind}.settings]" in str(refused.value)


def test_a_refused_combination_stops_the_story_before_anything_is_written(tiny, tmp_path):
    config = tmp_path / "refused.toml"
    config.write_text(f"""
[output]
fps = 8
width = 96
height = 64
[backends.boundary]
name = "diffusers"
settings = {{ model = "{tiny / 'wan-vace'}", device = "cpu", cache = "first_block" }}
""")
    result = scenegen("story", "a woman's life", "--shots", "2", "--config", str(config), "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "use cache = \"taylorseer\" for boundaries" in result.stderr
    assert not (tmp_path / "run" / "plan.json").exists() and not (tmp_path / "run" / "settings.json").exists()


# Every accepted combination of the levers a CPU can run (offload needs CUDA; compiling is below).
ACCEPTED = [dict(fp8_storage=fp8, cache=cache, vae_tiling=tiling, attention_backend=attention)
            for fp8, cache, tiling, attention in itertools.product(
                (False, True), ("none", "first_block", "taylorseer"), (False, True), (None, "native"))]


@pytest.mark.parametrize("levers", ACCEPTED, ids=lambda levers: ",".join(f"{k}={v}" for k, v in levers.items()))
def test_every_accepted_combination_runs(tiny, levers):
    PipelineSettings(**settings_for(tiny, "wan-i2v", **levers))
    DiffusersClip(settings_for(tiny, "wan-i2v", **levers)).check(OUTPUT)
    _, forwards = clip(tiny, steps=4, **levers)
    assert forwards == 4 or levers["cache"] != "none", "without a cache every step runs the transformer"


def test_an_attention_backend_does_not_leak_into_the_process(tiny):
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    before = _AttentionBackendRegistry.get_active_backend()[0]
    pipe = load_pipeline("WanImageToVideoPipeline", PipelineSettings(**settings_for(tiny, "wan-i2v", attention_backend="native")), "wan")
    assert pipe.transformer.blocks[0].attn1.processor._attention_backend == "native"
    assert _AttentionBackendRegistry.get_active_backend()[0] == before


def test_compiled_blocks_combine_with_fp8_storage_and_a_cache(tiny):
    # Hooks wrap the blocks, so they are compiled without fullgraph (which would break on a hook).
    levers = dict(fp8_storage=True, cache="taylorseer", compile_blocks=True)
    pipe = load_pipeline("WanImageToVideoPipeline", PipelineSettings(**settings_for(tiny, "wan-i2v", **levers)), "wan")
    assert all(block._compiled_call_impl is not None for block in pipe.transformer.blocks)
    assert clip(tiny, **levers)[1] == 2


def test_the_ip_adapter_is_attached_before_the_levers(tiny):
    # Cast after the adapter: its image branch is stored in fp8 like every other layer.
    keyframe = DiffusersKeyframe(settings_for(tiny, "sd15", ip_adapter=str(tiny / "sd15" / "ip-adapter"), fp8_storage=True))
    keyframe.load()
    processors = [p for p in keyframe.pipe.unet.attn_processors.values() if hasattr(p, "to_k_ip")]
    assert processors and all(layer.weight.dtype == torch.float8_e4m3fn for p in processors for layer in p.to_k_ip)


def test_the_vae_and_image_encoder_stay_in_float32_for_wan(tiny):
    pipe = load_pipeline("WanImageToVideoPipeline", PipelineSettings(**settings_for(tiny, "wan-i2v", dtype="bfloat16")), "wan")
    assert pipe.transformer.dtype == torch.bfloat16
    assert pipe.vae.dtype == pipe.image_encoder.dtype == torch.float32


def test_a_lora_is_fused_at_its_scale(tiny):
    lora = str(tiny / "wan-i2v-lora")
    plain, _ = clip(tiny)
    with_lora, _ = clip(tiny, loras=[{"path": lora}])
    at_zero, _ = clip(tiny, loras=[{"path": lora, "scale": 0.0}])
    assert with_lora != plain and at_zero == plain
    pipe = load_pipeline("WanImageToVideoPipeline", PipelineSettings(**settings_for(tiny, "wan-i2v", loras=[{"path": lora}])), "wan")
    # Fused, then unloaded: no adapter layer is left for casts, hooks or compiling to meet.
    assert type(pipe.transformer.blocks[0].attn1.to_q).__name__ == "Linear"
    # The LoRA's file is part of the clips' keys.
    assert any(p.parent.name == "wan-i2v-lora" for p in PipelineSettings(**settings_for(tiny, "wan-i2v", loras=[{"path": lora}])).weight_files())


def test_a_missing_lora_is_a_one_line_error(tiny):
    with pytest.raises(UserError, match="LoRA 'nowhere/lora': not a file or directory here"):
        DiffusersClip(settings_for(tiny, "wan-i2v", loras=[{"path": "nowhere/lora", "weight_name": "x.safetensors"}]))


def test_guidance_one_runs_one_forward_per_step(tiny):
    assert clip(tiny, steps=3, guidance=1.0)[1] == 3
    assert clip(tiny, steps=3, guidance=5.0)[1] == 6


def test_the_scheduler_shift_is_set(tiny, tmp_path):
    pipe = load_pipeline("WanImageToVideoPipeline", PipelineSettings(**settings_for(tiny, "wan-i2v", shift=3.0)), "wan")
    assert pipe.scheduler.config.shift == 3.0
    assert clip(tiny, shift=3.0)[0] != clip(tiny)[0]
    # Wan's published checkpoints ship UniPC with flow sigmas, whose shift is called flow_shift.
    from diffusers import UniPCMultistepScheduler

    unipc = tmp_path / "wan-unipc"
    shutil.copytree(tiny / "wan-i2v", unipc)
    UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0).save_pretrained(unipc / "scheduler")
    index = json.loads((unipc / "model_index.json").read_text())
    (unipc / "model_index.json").write_text(json.dumps({**index, "scheduler": ["diffusers", "UniPCMultistepScheduler"]}))
    with_unipc = load_pipeline("WanImageToVideoPipeline", PipelineSettings(**{**settings_for(tiny, "wan-i2v", shift=5.0), "model": str(unipc)}), "wan")
    assert type(with_unipc.scheduler).__name__ == "UniPCMultistepScheduler" and with_unipc.scheduler.config.flow_shift == 5.0
    with pytest.raises(UserError, match="needs a flow-matching scheduler"):
        load_pipeline("AutoPipelineForText2Image", PipelineSettings(**settings_for(tiny, "sd15", shift=3.0)), "unet")


def test_every_denoiser_of_a_two_expert_pipeline_gets_the_levers(tiny, tmp_path):
    # Wan 2.2 A14B's shape: a high-noise `transformer` and a low-noise `transformer_2`.
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel

    source = WanImageToVideoPipeline.from_pretrained(tiny / "wan-i2v")
    expert = WanTransformer3DModel.from_config(source.transformer.config)
    WanImageToVideoPipeline(tokenizer=source.tokenizer, text_encoder=source.text_encoder, vae=source.vae,
                            scheduler=source.scheduler, image_processor=source.image_processor,
                            image_encoder=source.image_encoder, transformer=source.transformer, transformer_2=expert,
                            boundary_ratio=0.9).save_pretrained(tmp_path / "two-experts")
    pipe = load_pipeline("WanImageToVideoPipeline", PipelineSettings(**{**settings_for(tiny, "wan-i2v", fp8_storage=True), "model": str(tmp_path / "two-experts")}), "wan")
    for denoiser in (pipe.transformer, pipe.transformer_2):
        assert denoiser.blocks[0].attn1.to_q.weight.dtype == torch.float8_e4m3fn


def test_running_out_of_gpu_memory_is_one_line_that_names_the_levers(tiny):
    settings = PipelineSettings(**settings_for(tiny, "wan-i2v", fp8_storage=True))
    with pytest.raises(DeviceOutOfMemory) as failed:
        with device_memory_advice("clip", settings):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    message = str(failed.value)
    assert len(message.splitlines()) == 1 and message.startswith(f"clip ran out of GPU memory with {tiny / 'wan-i2v'}")
    assert "try vae_tiling, cpu_offload, group_offload" in message and "fp8_storage" not in message.split("try")[1]


FAMILY_CALLS = {
    "wan_vace": ("WanVACEPipeline", "wan-vace", dict(video=[STILL] * 5, mask=[Image.new("L", (48, 32), 255)] * 5,
                                                     num_frames=5, max_sequence_length=16, height=32, width=48)),
    "ltx": ("LTXConditionPipeline", "ltx", dict(num_frames=9, max_sequence_length=16, height=32, width=32)),
}


@pytest.mark.parametrize("denoiser, cache", [("wan_vace", "taylorseer"), ("ltx", "taylorseer")])
def test_the_caches_run_on_the_other_video_families(tiny, denoiser, cache):
    pipeline, model, call = FAMILY_CALLS[denoiser]
    pipe = load_pipeline(pipeline, PipelineSettings(**settings_for(tiny, model, cache=cache, fp8_storage=True)), denoiser)
    frames = pipe(prompt="a transition", num_inference_steps=4, guidance_scale=1.0, generator=generator(1),
                  output_type="np", **call).frames[0]
    assert np.isfinite(frames).all()
