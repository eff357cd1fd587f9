"""bench/gpu_realscale.py on the CPU at tiny size: every stage measured through its backend, a story rendered,
the presets' levers tried, and the tiny build made of what the public one would be."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import av
import pytest
import torch

pytestmark = pytest.mark.torch

BENCH = Path(__file__).parent.parent / "bench" / "gpu_realscale.py"
STAGES = ("portrait", "set", "keyframe", "clip", "retake", "boundary")


def bench_module():
    spec = importlib.util.spec_from_file_location("gpu_realscale", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def run_bench(work: Path, *options: str) -> tuple[dict, str]:
    out = work / f"bench-{len(list(work.glob('bench-*.json')))}.json"
    result = subprocess.run([sys.executable, str(BENCH), "--tiny", "--steps", "2", "--work", str(work), "--json", str(out),
                             *options], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(out.read_text()), result.stdout


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("realscale")


@pytest.fixture(scope="module")
def default_run(work):
    return run_bench(work, "--levers", "default", "--story", "2")


@pytest.fixture(scope="module")
def ltx2_run(work):
    return run_bench(work, "--stages", "clip", "--levers", "ltx2")


def test_every_stage_is_measured_through_its_backend(default_run):
    report, table = default_run
    rows = {row["stage"]: row for row in report["rows"] if row["levers"] == "default"}
    assert set(rows) == set(STAGES)
    for stage, row in rows.items():
        assert row["status"] == "ok", (stage, row["reason"])
        assert row["load_s"] > 0 and row["run_s"] > 0
        # Two steps: SDXL calls its UNet once a step (a batch of two for guidance), for each of a set's four views,
        # and Wan its transformer twice.
        assert row["forwards"] == {"portrait": 2, "set": 4 * 2, "keyframe": 2}.get(stage, 4)
        assert row["forward_s"] > 0 and row["first_forward_s"] > 0
        assert row["resident_gib"] is None and row["peak_gib"] is None  # no GPU: memory is not made up
        assert f"| {stage} | default | ok | {row['load_s']:.2f} |" in table
    assert report["device"] == "cpu" and f"torch {torch.__version__}" in table


def test_a_story_renders_end_to_end_on_the_built_models(default_run):
    report, table = default_run
    (story,) = report["story"]
    assert story["status"] == "ok", story["reason"]
    assert story["shots"] == 2 and story["wall_s"] > 0
    with av.open(story["film"]) as film:
        assert sum(1 for _ in film.decode(video=0)) > 0
    assert "2-shot story" in table


def test_the_ltx2_lever_set_makes_the_clip_with_its_sound_through_clip_ltx2(ltx2_run, work):
    report, table = ltx2_run
    (row,) = report["rows"]
    assert (row["stage"], row["levers"], row["status"]) == ("clip", "ltx2", "ok"), row["reason"]
    assert row["settings"]["model"] == report["models"]["ltx2"]["path"]
    # Two steps, three transformer calls each: the guided batch, the STG pass and the pass with the modalities apart.
    assert row["forwards"] == 6 and row["forward_s"] > 0
    assert "| clip | ltx2 | ok |" in table
    with av.open(str(work / "tiny" / "jobs" / "clip-ltx2" / "clip.mp4")) as clip:
        assert clip.streams.video and clip.streams.audio   # the joint backend's, not Wan's silent clip


def test_the_tiny_build_is_made_of_what_the_public_one_would_be(default_run, ltx2_run):
    bench = bench_module()
    folders = default_run[0]["models"] | ltx2_run[0]["models"]
    classes = {}  # builder -> the class it makes at public size, each built once (a 256k-word tokenizer takes a while)
    for name, (pipeline, parts) in bench.PIPELINES.items():
        for attr, builder in parts.items():
            if builder not in classes:
                # Models on the meta device, without memory for their weights; a scheduler computes its tables at once.
                with torch.device("cpu" if attr == "scheduler" else "meta"):
                    classes[builder] = type(builder(bench.PUBLIC)).__name__
        assert folders[name]["components"] == {attr: classes[builder] for attr, builder in parts.items()}, name
        index = json.loads((Path(folders[name]["path"]) / "model_index.json").read_text())
        assert index["_class_name"] == pipeline
    with torch.device("meta"):
        for name, attr in (("wan-i2v", "transformer"), ("wan-vace", "transformer"), ("sdxl", "unet"),
                           ("ltx2", "transformer")):
            tiny = json.loads((Path(folders[name]["path"]) / attr / "config.json").read_text())
            public = bench.PIPELINES[name][1][attr](bench.PUBLIC).config
            assert {k for k in tiny if not k.startswith("_")} == {k for k in public if not k.startswith("_")}, name
        encoder = bench.IP_ADAPTER_LAYOUT["image_encoder_folder"]
        assert folders[bench.IP_ADAPTER]["components"] == {encoder: type(bench.clip_vit_h(bench.PUBLIC)).__name__}
    # Shared components are stored once: the Wan pipelines link the same text encoder files.
    i2v, vace = (Path(folders[name]["path"]) / "text_encoder" for name in ("wan-i2v", "wan-vace"))
    assert {p.resolve() for p in i2v.iterdir()} == {p.resolve() for p in vace.iterdir()}


def test_public_sizes_are_the_published_models():
    bench = bench_module()
    # LTX-2's transformer is the "19B" of Lightricks/LTX-2's model card, its text encoder Gemma-3 12B (12.2B on
    # google/gemma-3-12b-it's, its image tower included).
    billions = {"wan_i2v_transformer": 16.39, "wan_vace_transformer": 17.34, "umt5_encoder": 5.68, "clip_vit_h": 0.632,
                "sdxl_unet": 2.567, "ltx2_transformer": 18.876, "gemma3_encoder": 12.187}
    with torch.device("meta"):
        for name, expected in billions.items():
            model = getattr(bench, name)(bench.PUBLIC)
            assert sum(p.numel() for p in model.parameters()) / 1e9 == pytest.approx(expected, rel=0.002), name


def test_presets_run_or_are_refused_for_want_of_cuda(work, default_run):
    bench = bench_module()
    # compile_blocks takes tens of seconds a stage to compile on a CPU; those presets are left to the GPU run.
    presets = [name for name, config in bench.lever_sets(None).items() if name not in bench.BENCH_LEVERS and not any(
        choice.get("settings", {}).get("compile_blocks") for choice in config.get("backends", {}).values())]
    if not presets:
        pytest.skip("no preset without compile_blocks in scenegen/presets/")
    report, _ = run_bench(work, "--stages", "keyframe,clip", "--levers", ",".join(presets))
    assert {(row["stage"], row["levers"]) for row in report["rows"]} == {
        (stage, name) for stage in ("keyframe", "clip") for name in presets}
    for row in report["rows"]:
        assert row["status"] == "ok" or (row["status"] == "refused" and "CUDA" in row["reason"]), row
        if row["status"] == "ok":
            assert row["forwards"] >= 2 and row["forward_s"] > 0
        for lora in (row["settings"] or {}).get("loras", []):  # a preset's LoRA becomes the bench's stand-in
            assert lora["path"] == report["models"][bench.LORA]["path"]


def test_only_simulated_rows_run_side_by_side(work):
    """A GPU's rows share its memory and clock: --jobs is for the simulation, whose rows are each their own process's."""
    result = subprocess.run([sys.executable, str(BENCH), "--tiny", "--jobs", "2", "--work", str(work)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and result.stderr.splitlines()[-1].startswith("--jobs:") and "with --simulate" in result.stderr
