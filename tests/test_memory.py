"""Real-size memory, simulated on this CPU: each shipped preset within its budget, the pre-flight check that
reads the simulated table, group offload as asked, and a memory budget said in `status`.

The budgets run every generative stage of each preset through its own backend at the public model sizes
(bench/gpu_realscale.py --simulate, one denoising step: memory does not grow with steps). Stages run one
after another with one pipeline loaded (the executor's rule, tested in test_incremental), so a story's peak
is its largest stage's; bench/gpu_realscale.py --simulate --story renders the whole story to show it."""

import importlib.util
import json
import subprocess
import sys
from operator import itemgetter
from pathlib import Path

import pytest
import torch

from scenegen.memory import TABLE

from support.runs import scenegen

# The first test that asks for the simulation waits for it: thirteen rows at real size, two at a time, which take
# fifteen minutes or more on two cores, longer beside the other tests.
pytestmark = [pytest.mark.torch, pytest.mark.slow, pytest.mark.timeout(2400)]

BENCH = Path(__file__).parent.parent / "bench"
GB, GiB = 1e9, 2**30
STAGES = ("portrait", "set", "keyframe", "clip", "retake", "boundary")
PRESETS = ("gpu-80gb", "gpu-80gb-fast", "gpu-24gb")


def bench_module(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def simulation(tmp_path_factory) -> dict:
    """Every preset's stages simulated at real size, two rows at a time: the bench's report, its stderr, the
    pre-flight table it wrote and the Markdown it put into a page."""
    work = tmp_path_factory.mktemp("memsim")
    out, table, docs = (work / name for name in ("report.json", "table.json", "page.md"))
    docs.write_text("# A page\n\n<!-- simulated by bench/gpu_realscale.py --simulate -->\n<!-- end of simulated -->\n\nMore.\n")
    result = subprocess.run([sys.executable, str(BENCH / "gpu_realscale.py"), "--simulate", "--steps", "1", "--jobs", "2",
                             "--work", str(work), "--stages", ",".join(STAGES), "--levers", ",".join(PRESETS),
                             "--json", str(out), "--table", str(table), "--docs", str(docs)],
                            capture_output=True, text=True, timeout=2400)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(out.read_text()) | {"stderr": result.stderr, "table": json.loads(table.read_text()),
                                          "docs": docs.read_text()}


@pytest.fixture(scope="module")
def simulated(simulation) -> dict[str, dict[str, dict]]:
    """{preset: {stage: row}}"""
    rows: dict[str, dict[str, dict]] = {levers: {} for levers in PRESETS}
    for row in simulation["rows"]:
        rows[row["levers"]][row["stage"]] = row
    return rows


@pytest.mark.parametrize("levers", ["gpu-80gb", "gpu-80gb-fast"])
def test_an_80gb_preset_peaks_at_45_gb_or_less(simulated, levers):
    memsim = bench_module("memsim")
    rows = simulated[levers]
    assert {stage: row["status"] for stage, row in rows.items()} == dict.fromkeys(STAGES, "ok")
    peak = max(row["peak_gib"] for row in rows.values()) * GiB * memsim.MARGIN
    assert peak <= 45 * GB, {stage: row["peak_gib"] for stage, row in rows.items()}
    # The video transformers' 14B weights are on the device: the simulation is not empty.
    assert rows["clip"]["resident_gib"] > 15


def test_the_24gb_preset_fits_22_gib_of_gpu_and_30_gib_of_host_memory(simulated):
    memsim = bench_module("memsim")
    rows = simulated["gpu-24gb"]
    assert {stage: row["status"] for stage, row in rows.items()} == dict.fromkeys(STAGES, "ok")
    for stage, row in rows.items():
        assert row["peak_gib"] * memsim.MARGIN <= 22, (stage, row)
        assert row["host_peak_gib"] * memsim.MARGIN <= 30, (stage, row)
    # The transformer streams from the host: its fp8 weights are there, not on the device.
    assert rows["clip"]["host_peak_gib"] > 15 and rows["clip"]["resident_gib"] < 16


def test_every_model_loads_as_its_pipeline_expects(simulation):
    """Wan I2V's image encoder is a CLIPVisionModel, as published: diffusers warns of no other type."""
    assert "Expected types for" not in simulation["stderr"]
    assert simulation["models"]["wan-i2v"]["components"]["image_encoder"] == "CLIPVisionModel"


def test_the_shipped_table_holds_what_the_simulation_measures_now(simulation):
    """`scenegen check` reads presets/memory.json, which the bench writes (--table): it must not go stale."""
    shipped, fresh = json.loads(TABLE.read_text()), simulation["table"]
    assert {k: v for k, v in shipped.items() if k != "rows"} == {k: v for k, v in fresh.items() if k != "rows"}
    assert shipped["simulated_with"] == {name: getattr(__import__(name), "__version__")
                                         for name in ("torch", "diffusers", "transformers")}
    key = itemgetter("preset", "stage")
    assert sorted(map(key, shipped["rows"])) == sorted(map(key, fresh["rows"])) == sorted(
        (levers, stage) for levers in PRESETS for stage in STAGES)
    presets = bench_module("gpu_realscale").lever_sets(list(PRESETS))
    for row, now in zip(sorted(shipped["rows"], key=key), sorted(fresh["rows"], key=key)):
        assert row["settings"] == now["settings"] == presets[row["preset"]]["backends"][row["stage"]]["settings"]
        assert row["device_gib"] == pytest.approx(now["device_gib"], abs=0.05), key(row)
        assert row["host_gib"] == pytest.approx(now["host_gib"], abs=0.05), key(row)


def test_a_stage_two_presets_set_alike_is_simulated_once(simulated):
    """The presets differ in steps, which the bench sets, and in compiling, which a simulation does not do: such
    rows take the first preset's figures."""
    for stage in ("portrait", "retake"):
        rows = {levers: simulated[levers][stage] for levers in PRESETS}
        assert rows["gpu-80gb-fast"]["same_as"] == "gpu-80gb" and "same_as" not in rows["gpu-80gb"]
        assert rows["gpu-80gb-fast"]["peak_gib"] == rows["gpu-80gb"]["peak_gib"]
        # The 24 GB preset tiles its VAE and streams its blocks: settings of its own, simulated on their own.
        assert "same_as" not in rows["gpu-24gb"]
    # The fast clip runs a LoRA without guidance: simulated on its own.
    assert "same_as" not in simulated["gpu-80gb-fast"]["clip"]


def test_the_bench_puts_its_table_into_a_page(simulation, simulated):
    page = simulation["docs"]
    assert page.startswith("# A page\n") and page.endswith("<!-- end of simulated -->\n\nMore.\n")
    clip = simulated["gpu-24gb"]["clip"]
    assert (f"| clip | gpu-24gb | ok | {clip['resident_gib']:.2f} | {clip['peak_gib']:.2f} | {clip['peak_in']} | "
            f"{clip['host_peak_gib']:.2f} |") in page
    assert "Not modelled: cuBLAS/cuDNN workspaces" in page


def test_the_simulation_refuses_versions_it_was_not_checked_with(monkeypatch):
    memsim = bench_module("memsim")
    memsim.require_versions()
    monkeypatch.setitem(memsim.CHECKED_WITH, "diffusers", "0.1.0")
    with pytest.raises(SystemExit, match=r"checked with .*diffusers 0\.1\.0.*this environment has diffusers"):
        memsim.require_versions()


def test_the_check_says_a_preset_fits_a_gpu_it_was_made_for():
    result = scenegen("check", "--config", "gpu-24gb", "--gpu-memory", "24", "--host-memory", "32")
    assert result.returncode == 0, result.stderr
    shipped = {row["stage"]: row for row in json.loads(TABLE.read_text())["rows"] if row["preset"] == "gpu-24gb"}
    margin = json.loads(TABLE.read_text())["margin"]
    for stage in STAGES:
        line = next(line for line in result.stdout.splitlines() if f" {stage} " in line)
        assert f"{shipped[stage]['device_gib'] * margin:.1f}" in line and "gpu-24gb, simulated" in line
    assert "24.0 GiB of GPU memory (--gpu-memory)" in result.stdout and result.stdout.rstrip().endswith("fits")


def test_the_check_says_what_does_not_fit_and_fails():
    result = scenegen("check", "--config", "gpu-80gb", "--gpu-memory", "24", "--host-memory", "32")
    assert result.returncode == 1
    assert "does not fit: clip: needs about" in result.stdout and "the GPU has 24.0" in result.stdout
    assert "these presets fit: gpu-24gb (--config NAME)" in result.stdout
    # Host memory too: the 24 GB preset streams from the host, which 16 GiB cannot hold.
    result = scenegen("check", "--config", "gpu-24gb", "--gpu-memory", "24", "--host-memory", "16")
    assert result.returncode == 1 and "of host memory; there is 16.0" in result.stdout


def test_the_check_gives_no_figure_it_has_not_simulated(tmp_path):
    config = tmp_path / "mine.toml"
    config.write_text((Path(TABLE).parent / "gpu-80gb.toml").read_text().replace("steps = 30, guidance = 5.0, fp8_storage = true",
                                                                                "steps = 30, guidance = 5.0"))
    result = scenegen("check", "--config", str(config), "--gpu-memory", "80")
    assert result.returncode == 0, result.stderr
    assert "not simulated: no preset has these settings" in result.stdout
    assert "the stages with a figure fit" in result.stdout
    # A frame size the table was not made at has no figure either.
    result = scenegen("check", "--config", "gpu-24gb", "--size", "1280x720", "--gpu-memory", "24")
    assert "not simulated at 1280x720" in result.stdout
    # A GPU backend no preset runs (the joint clip) has no figure, rather than none needed.
    joint = tmp_path / "joint.toml"
    joint.write_text('[backends.clip]\nname = "ltx2"\nsettings = { model = "Lightricks/LTX-2" }\n')
    result = scenegen("check", "--config", str(joint), "--gpu-memory", "24")
    assert result.returncode == 0 and "not simulated: no preset has this" in result.stdout
    # Without a GPU here and none named, the check says so rather than guessing.
    if not torch.cuda.is_available():
        result = scenegen("check", "--config", "gpu-24gb", "--host-memory", "64")
        assert "no CUDA GPU found here" in result.stdout and result.returncode == 0


def test_group_offload_takes_the_block_count_asked_for():
    """Several blocks per group reach diffusers as asked (without a stream, which diffusers would refuse
    them); one block streams, pinning as it goes rather than holding a second host copy."""
    from diffusers import WanTransformer3DModel
    from diffusers.hooks import HookRegistry

    from scenegen.modules.diffusers_backend import PipelineSettings
    from scenegen.modules.levers import group_offload_options

    def settings(**levers):
        return PipelineSettings.model_construct(**{**PipelineSettings.model_construct().__dict__, "group_offload": "block",
                                                   **levers})

    streamed = group_offload_options(settings(group_offload_blocks=1), "cuda")
    assert streamed["num_blocks_per_group"] == 1 and streamed["use_stream"] and streamed["low_cpu_mem_usage"]
    options = group_offload_options(settings(group_offload_blocks=2), "cpu")
    assert options["num_blocks_per_group"] == 2 and not options["use_stream"]
    transformer = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=8, in_channels=4,
                                        out_channels=4, text_dim=16, freq_dim=16, ffn_dim=16, num_layers=4)
    transformer.enable_group_offload(**options)
    groups = {id(HookRegistry.check_if_exists_or_initialize(block).get_hook("group_offloading").group)
              for block in transformer.blocks}
    group = HookRegistry.check_if_exists_or_initialize(transformer.blocks[0]).get_hook("group_offloading").group
    assert len(groups) == 2 and len(group.modules) == 2


def test_status_says_when_a_memory_budget_keeps_pipelines_loaded_together(tmp_path):
    from scenegen.orchestrator.run import Run, SettingsChange

    from support.tiny_models import build

    tiny = build()
    config = tmp_path / "together.toml"
    config.write_text((Path(__file__).parent / "tiny.toml").read_text().replace('".tiny/', f'"{tiny}/')
                      + "\n[device]\nmemory_budget_gb = 100\n")
    assert scenegen("plan", "a woman's life", "--shots", "2", "-o", str(tmp_path / "plan.json")).returncode == 0
    run = Run.adopt(tmp_path / "plan.json", tmp_path / "run")
    run.update_settings(SettingsChange(config=config))
    result = scenegen("status", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert ("memory_budget_gb = 100 lets the portrait, set, keyframe, clip, retake and boundary pipelines stay loaded together"
            in result.stdout)
    # With no budget, one pipeline is loaded at a time, and status has nothing to say about it.
    alone = tmp_path / "alone.toml"
    alone.write_text("[device]\nmemory_budget_gb = 0\n")
    run.update_settings(SettingsChange(config=alone))
    assert "stay loaded together" not in scenegen("status", str(tmp_path / "run")).stdout


LOAD_AND_CAST = """
import gc, sys, torch
from diffusers import WanTransformer3DModel
sys.path.insert(0, {bench!r})
import memsim

def owned():   # the process's anonymous resident memory: what it holds, not file pages it maps
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("RssAnon"))

def load_and_cast():
    model = WanTransformer3DModel.from_pretrained({folder!r}, dtype=torch.bfloat16)
    model.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=torch.bfloat16)
    return model

if sys.argv[1] == "simulated":
    with memsim.simulation({guard!r}) as meter:
        model = load_and_cast()
        gc.collect()
        print(meter.current["host"], meter.current["mapped"])
else:
    gc.collect()
    before = owned()
    model = load_and_cast()
    gc.collect()
    print(owned() - before)
"""


def test_simulated_host_memory_matches_what_this_cpu_holds(tmp_path):
    """The host count is checked against the kernel's: a Wan block at full width, read from safetensors (mapped,
    not the process's) and cast to fp8 (a copy it owns), loaded for real and simulated."""
    from diffusers import WanTransformer3DModel

    bench = bench_module("gpu_realscale")
    with bench.cheap_construction():
        model = WanTransformer3DModel(**{**bench.PUBLIC.wan, "num_layers": 1}, in_channels=16, out_channels=16)
    bench.fill_random(model.named_parameters())
    model.save_pretrained(tmp_path / "wan-block")
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    del model
    code = LOAD_AND_CAST.format(bench=str(BENCH), folder=str(tmp_path / "wan-block"), guard=str(tmp_path / "guard"))

    def run(mode: str) -> list[int]:
        result = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return [int(n) for n in result.stdout.split()]

    (real,) = run("real")
    simulated, mapped = run("simulated")
    assert mapped > 0.05 * weights   # what stays bf16 (norms, embeddings) is still a view of the file
    assert 0.3 * weights < real < 0.7 * weights   # fp8: half the bf16 bytes, and nothing else kept
    assert abs(simulated - real) < 0.05 * real + 32 * 2**20, (simulated, real)


def test_a_simulated_scheduler_is_deep_copied_with_its_values():
    """LTX-2 deep-copies its scheduler for the sound's own steps: under the simulation the copy's sigmas are
    tensors of their own that still hold the values (a fake tensor has no storage to copy byte by byte)."""
    import copy

    from diffusers import FlowMatchEulerDiscreteScheduler

    memsim = bench_module("memsim")
    with memsim.patched(memsim._patches()), memsim.counting(memsim.Meter()):
        scheduler = FlowMatchEulerDiscreteScheduler()
        scheduler.set_timesteps(4, device="cpu")
        twin = copy.deepcopy(scheduler)
        assert twin.sigmas is not scheduler.sigmas and twin.sigmas.tolist() == scheduler.sigmas.tolist()
