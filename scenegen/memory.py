"""Whether a config's stages fit this machine, answered before any weight loads: `scenegen check`.

Every figure comes from `presets/memory.json`, which `bench/gpu_realscale.py --simulate
--table` writes: each shipped preset's GPU stages run at the public model sizes with the
GPU's memory simulated on a CPU (bench/memsim.py), one denoising step each (memory does
not grow with steps). A stage whose backend settings are a preset's, all but the step
count, at the frame size it was simulated at, gets that row's device and host peak, with
the simulation's margin for what it does not model. Any other stage has no figure, and
says so: a figure is never worked out by a formula.

Stages run one after another, one pipeline loaded at a time, so the run's peak is the
largest stage's; a `[device] memory_budget_gb` that keeps pipelines loaded together
adds theirs, which the table does not hold, and the check says so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from scenegen.orchestrator.registry import backend_class
from scenegen.orchestrator.run import GENERATIVE
from scenegen.schemas.settings import RenderSettings

TABLE = Path(__file__).parent / "presets" / "memory.json"
GiB = 2**30


@dataclass(frozen=True)
class StageMemory:
    stage: str
    backend: str
    device_gib: float | None    # expected peak, margin included; None without a simulated figure
    host_gib: float | None
    source: str                 # where the figures come from, or why there are none


@dataclass(frozen=True)
class Verdict:
    stages: list[StageMemory]
    gpu_gib: float | None       # the GPU's memory: --gpu-memory, or the local GPU's
    gpu_source: str
    host_gib: float
    host_source: str
    problems: list[str]         # what does not fit, one line each
    notes: list[str]            # what the figures cannot say

    @property
    def fits(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        known = [s for s in self.stages if s.device_gib is not None]
        if self.problems:
            return "does not fit"
        return "fits" if len(known) == len(self.stages) else "the stages with a figure fit" if known else \
            "no stage has a figure to check"


def settings_for(config: Path | None, size: tuple[int, int] | None = None) -> RenderSettings:
    """The settings a render with `--config` and `--size` would start from."""
    from scenegen.schemas.files import with_config

    settings = with_config(RenderSettings(), config) if config else RenderSettings()
    if size:
        output = settings.output.model_copy(update={"width": size[0], "height": size[1]})
        settings = settings.model_copy(update={"output": output})
    return settings


def table() -> dict:
    return json.loads(TABLE.read_text())


def expected(settings: RenderSettings) -> list[StageMemory]:
    """Each generative stage's expected device and host peak, from the simulated table."""
    simulated = table()
    size = simulated["output"]
    stages = []
    for stage in GENERATIVE:
        choice = settings.backends[stage]
        if not backend_class(stage, choice.name).uses_gpu:
            stages.append(StageMemory(stage, choice.name, 0.0, None, "no GPU"))
            continue
        if choice.name != "diffusers":   # the presets, so the table, run every GPU stage on `diffusers`
            stages.append(StageMemory(stage, choice.name, None, None, "not simulated: no preset has this backend"))
            continue
        ours = {key: value for key, value in choice.settings.items() if key != "steps"}
        row = next((row for row in simulated["rows"] if row["stage"] == stage
                    and {k: v for k, v in row["settings"].items() if k != "steps"} == ours), None)
        if row is None:
            stages.append(StageMemory(stage, choice.name, None, None, "not simulated: no preset has these settings"))
        elif (settings.output.width, settings.output.height) != (size["width"], size["height"]):
            stages.append(StageMemory(stage, choice.name, None, None,
                                      f"not simulated at {settings.output.width}x{settings.output.height}: the "
                                      f"{row['preset']} figures are for {size['width']}x{size['height']}"))
        else:
            margin = simulated["margin"]
            stages.append(StageMemory(stage, choice.name, round(row["device_gib"] * margin, 1),
                                      round(row["host_gib"] * margin, 1), f"{row['preset']}, simulated"))
    return stages


def check(settings: RenderSettings, gpu_memory: float | None = None, host_memory: float | None = None,
          suggest: bool = True) -> Verdict:
    """Compare the expected peaks with the GPU's and the host's memory (named, or this machine's); when they do
    not fit, name the shipped presets that do (`suggest`)."""
    stages = expected(settings)
    gpu_source = "--gpu-memory"
    if gpu_memory is None and (local := local_gpu()) is not None:
        gpu_memory, gpu_source = local
    host_source = "--host-memory"
    if host_memory is None:
        host_memory, host_source = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GiB, "this machine"
    problems, notes = [], []
    for s in stages:
        if s.device_gib and gpu_memory is not None and s.device_gib > gpu_memory:
            problems.append(f"{s.stage}: needs about {s.device_gib:.1f} GiB of GPU memory; the GPU has {gpu_memory:.1f}")
        if s.host_gib and s.host_gib > host_memory:
            problems.append(f"{s.stage}: needs about {s.host_gib:.1f} GiB of host memory; there is {host_memory:.1f}")
    if any(s.device_gib for s in stages) and gpu_memory is None:
        notes.append("no CUDA GPU found here; name one's memory with --gpu-memory GIB")
    if any(s.device_gib is None for s in stages):
        notes.append("a stage without a simulated figure may or may not fit; bench/gpu_realscale.py --simulate "
                     "measures any settings")
    if problems and suggest:
        from scenegen.schemas.files import presets

        fitting = [name for name in presets() if check(settings_for(Path(name), (settings.output.width,
                   settings.output.height)), gpu_memory, host_memory, suggest=False).summary == "fits"]
        if fitting:
            notes.append(f"these presets fit: {', '.join(fitting)} (--config NAME)")
    if settings.device.memory_budget_gb > 0:
        notes.append(f"[device] memory_budget_gb = {settings.device.memory_budget_gb:g} keeps pipelines of several "
                     "stages loaded together: add theirs to these peaks, which are for one at a time")
    return Verdict(stages, gpu_memory, gpu_source, host_memory, host_source, problems, notes)


def local_gpu() -> tuple[float, str] | None:
    """The first CUDA GPU's memory in GiB and its name, when torch is installed and sees one."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_properties(0).total_memory / GiB, torch.cuda.get_device_name(0)
