"""Backends and executors by name: the built-ins from explicit module paths, plugins through entry points.

Every backend registers as "<node kind>.<name>" = "module:Class", every executor as
"<name>" = "module:Class". The built-ins are listed here (as simonw/llm lists its
default plugins), so a checkout on PYTHONPATH that was never installed has them too; a
plugin package adds its own lines to the `scenegen.backends` or `scenegen.executors`
entry-point group. Both become the same `EntryPoint`, loaded only when asked for, so
a backend whose extra is missing costs nothing until it is chosen. A plugin cannot
replace a built-in: it registers under a name of its own.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from scenegen.errors import UserError

GROUP = "scenegen.backends"
EXECUTORS = "scenegen.executors"

BUILTINS = {
    GROUP: {
        "script.offline": "scenegen.modules.script.offline:OfflinePlanner",
        "script.llm": "scenegen.modules.script.llm:LLMPlanner",
        "portrait.animatic": "scenegen.modules.portrait.animatic:AnimaticPortrait",
        "set.animatic": "scenegen.modules.set.animatic:AnimaticSet",
        "keyframe.animatic": "scenegen.modules.keyframe.animatic:AnimaticKeyframe",
        "clip.animatic": "scenegen.modules.clip.animatic:AnimaticClip",
        "boundary.animatic": "scenegen.modules.boundary.animatic:AnimaticBoundary",
        "retake.animatic": "scenegen.modules.retake.animatic:AnimaticRetake",
        "portrait.diffusers": "scenegen.modules.portrait.diffusers:DiffusersPortrait",
        "set.diffusers": "scenegen.modules.set.diffusers:DiffusersSet",
        "keyframe.diffusers": "scenegen.modules.keyframe.diffusers:DiffusersKeyframe",
        "keyframe.gated": "scenegen.modules.keyframe.gated:GatedKeyframe",
        "clip.diffusers": "scenegen.modules.clip.diffusers:DiffusersClip",
        "clip.ltx2": "scenegen.modules.clip.ltx2:LTX2Clip",
        "boundary.diffusers": "scenegen.modules.boundary.diffusers:DiffusersBoundary",
        "retake.diffusers": "scenegen.modules.retake.diffusers:DiffusersRetake",
        "segment.pyav": "scenegen.modules.segment.pyav:PyAVSegment",
        "film.pyav": "scenegen.modules.film.pyav:PyAVFilm",
        "captions.srt": "scenegen.modules.captions.srt:SrtCaptions",
        "timeline.otio": "scenegen.modules.timeline.otio:OtioTimeline",
        "storyboard.html": "scenegen.modules.storyboard.html:HtmlStoryboard",
        "voice.hibari": "scenegen.modules.voice.hibari:HibariVoice",
        "voice.espeak": "scenegen.modules.voice.espeak:EspeakVoice",
        "voice.transformers": "scenegen.modules.voice.transformers:TransformersVoice",
        "score.pad": "scenegen.modules.score.pad:PadScore",
        "score.diffusers": "scenegen.modules.score.diffusers:DiffusersScore",
        "mix.pyav": "scenegen.modules.mix.pyav:PyAVMix",
    },
    # Executors run the DAG's jobs; the orchestrator picks one by name.
    EXECUTORS: {
        "inprocess": "scenegen.orchestrator.executor:InProcessExecutor",
        "ray": "scenegen.executors.ray_cluster:RayExecutor",
    },
}


@cache
def _registered(group: str = GROUP) -> dict[str, EntryPoint]:
    found = {name: EntryPoint(name, value, group) for name, value in BUILTINS[group].items()}
    for entry in entry_points(group=group):
        # An install made before a built-in moved still names its old module: the built-in stands.
        found.setdefault(entry.name, entry)
    return found


def executor_class(name: str) -> type:
    """An executor by name ("inprocess", "ray", or a plugin's)."""
    entry = _registered(EXECUTORS).get(name)
    if entry is None:
        raise UserError(f"{{executor!r}}: no such executor; installed: {', '.join(sorted(_registered(EXECUTORS)))}",
                        executor=name)
    try:
        return entry.load()
    except ImportError as e:
        raise UserError(f"{{executor!r}} needs {e.name}: pip install 'scenegen[{name}]'", executor=name) from None


def available(kind: str) -> list[str]:
    return sorted(name.split(".", 1)[1] for name in _registered() if name.startswith(kind + "."))


def backend_class(kind: str, name: str) -> type:
    entry = _registered().get(f"{kind}.{name}")
    if entry is None:
        raise UserError(f"no {kind} backend named {name!r}; installed: {', '.join(available(kind)) or 'none'}")
    return entry.load()
