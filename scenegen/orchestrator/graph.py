"""The render DAG of a plan and the content-addressed key of each node.

    portrait[character] -> keyframe[shot] -> clip[shot] (-> retake[shot.n]...) -> boundary[shot, next] -> segment[shot] -> film
    set[location] ---------/        \\-> storyboard      clip -> timeline      (plan) -> captions
    voice[shot.line] --\\
    score[piece] -------> mix -> film        voice -> film, captions, storyboard, timeline; score -> timeline

A clip backend that conditions on references (`takes_references`) also takes its shot's
portraits and location set.

With `dialogue = "clip"` (output settings) no voice node is built: each shot that says
anything has its clip's own sound track say it, so that clip feeds the mix instead.

A segment is one shot as the film shows it (its clip, then the boundary into the next
shot), encoded on its own; the film joins the segments without encoding again.

A node's key hashes its kind, its backend's name, code version and settings, the
content of the files its backend reads outside the run (model weights), its own slice
of the plan, its seed, and the content hashes of its upstream artifacts. Keying
on upstream *content* gives early cut-off: a node that re-ran but wrote the same bytes
does not invalidate what depends on it.

A shot's range retakes (`Shot.retakes`) follow its clip, each redrawing a stretch of the
one before; what comes after the clip (boundaries, segment, timeline) takes the last.

A node's seed derives from the stable part of its identity (kind, subject, the plan's
seed and the takes of its shots, and a range retake's own seed), not from the whole
key: editing a shot's light keeps its composition, as re-prompting a diffusion model
with a fixed seed does, and only `redo` (a new take) or a new plan seed draws a new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import networkx as nx

from scenegen.orchestrator.digests import files_digest
from scenegen.orchestrator.registry import backend_class
from scenegen.schemas.plan import Shot, StoryPlan, TransitionType
from scenegen.schemas.settings import BackendChoice, RenderSettings
from scenegen.schemas.timing import FrameLayout, retake_subject, score_scenes, utterances

# Bump when the key recipe itself changes.
KEY_FORMAT = 2


@dataclass(frozen=True)
class Node:
    id: str                     # "keyframe:s03", "boundary:s03+s04", "film"
    kind: str
    subject: str                # the character, shot or shot pair; the kind for plan-wide nodes
    params: dict[str, Any]
    inputs: tuple[str, ...]     # upstream node ids
    seed: int


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


SOUND_KINDS = ("voice", "score", "mix")


def rendered_kinds(settings: RenderSettings) -> dict[str, BackendChoice]:
    """The backend chosen for each kind a render with `settings` builds: the sound stages' only when
    the film has sound, so a silent film is never refused for them."""
    return {kind: choice for kind, choice in settings.backends.items() if settings.output.sound or kind not in SOUND_KINDS}


def checked_backends(settings: RenderSettings) -> dict[str, Any]:
    """The backends a render with `settings` runs, by kind, built and checked (`check`): each the one
    chosen, or what it names to stand in for it."""
    backends = {}
    for kind, choice in rendered_kinds(settings).items():
        backend = backend_class(kind, choice.name)(choice.settings)
        if stand_in := backend.stand_in():
            backend = backend_class(kind, stand_in.name)(stand_in.settings)
        backend.check(settings.output)
        backends[kind] = backend
    return backends


class RenderGraph:
    def __init__(self, plan: StoryPlan, settings: RenderSettings):
        self.plan = plan
        self.settings = settings
        self.backends = checked_backends(settings)
        # Files outside the run each backend reads; hashed only when a key needs them.
        self.files = {kind: backend.files() for kind, backend in self.backends.items()}
        self._files_digests: dict[str, str] = {}
        self.dag = nx.DiGraph()
        self._build()
        self.order: list[Node] = [self.dag.nodes[n]["node"] for n in nx.lexicographical_topological_sort(self.dag)]

    def _add(self, kind: str, subject_id: str | None, subject: Any, inputs: list[str],
             takes: list[int | None] | None = None) -> str:
        """The node of `subject`, whose seed draws on `takes` (default: the seeds of the shots it is of)."""
        node_id = kind if subject_id is None else f"{kind}:{subject_id}"
        params = self.backends[kind].params(self.plan, subject, self.settings.output)
        if takes is None:
            shots = subject if isinstance(subject, tuple) else (subject,) if isinstance(subject, Shot) else ()
            takes = [shot.seed for shot in shots]
        identity = {"node": node_id, "plan_seed": self.plan.seed, "takes": takes}
        seed = int(hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:8], 16)
        node = Node(node_id, kind, subject_id or kind, params, tuple(inputs), seed)
        self.dag.add_node(node_id, node=node)
        for upstream in inputs:
            self.dag.add_edge(upstream, node_id)
        return node_id

    def _build(self) -> None:
        plan = self.plan
        portraits = {c.id: self._add("portrait", c.id, c, []) for c in plan.characters}
        sets = {place.id: self._add("set", place.id, place, []) for place in plan.locations}
        keyframes = [self._add("keyframe", s.id, s, [portraits[c] for c in s.characters]
                               + ([sets[s.location]] if s.location else [])) for s in plan.shots]
        references = self.backends["clip"].takes_references
        made = [self._add("clip", s.id, s, [kf] + ([portraits[c] for c in s.characters]
                                                   + ([sets[s.location]] if s.location else []) if references else []))
                for s, kf in zip(plan.shots, keyframes)]
        clips = [self._retaken(s, clip) for s, clip in zip(plan.shots, made)]   # as the film shows them
        boundaries = {  # by the shot they follow
            a.id: self._add("boundary", f"{a.id}+{b.id}", (a, b), [clips[i], clips[i + 1]])
            for i, (a, b) in enumerate(zip(plan.shots, plan.shots[1:]))
            if a.transition.type != TransitionType.cut
        }
        segments = [
            self._add("segment", s.id, s, [clip] + ([boundaries[s.id]] if s.id in boundaries else []))
            for s, clip in zip(plan.shots, clips)
        ]
        voices, tracks, pieces, mix = [], [], [], []
        if self.settings.output.sound:
            # A node per thing said and per piece of music; each reads only its own words or notes.
            # A range retake redraws pictures only: a shot's sound is its clip's own track.
            said = [(s, clip, utterances(plan, s)) for s, clip in zip(plan.shots, made)]
            by_clip = self.settings.output.dialogue == "clip"
            voices = [] if by_clip else [self._add("voice", f"{u.shot_id}.{u.part}", u, [])
                                         for _, _, spoken in said for u in spoken]
            tracks = [clip for _, clip, spoken in said if spoken] if by_clip else []
            pieces = [self._add("score", scene.shot_id, scene, [])
                      for scene in score_scenes(plan, FrameLayout.of(plan, self.settings.output.fps))]
            mix = [self._add("mix", None, None, voices + tracks + pieces)]
        self._add("film", None, None, segments + mix + voices)  # voices: the subtitles time lines by them
        self._add("captions", None, None, voices)
        self._add("timeline", None, None, list(dict.fromkeys(clips + voices + tracks + pieces)))
        self._add("storyboard", None, None, list(portraits.values()) + keyframes + voices)

    def _retaken(self, shot: Shot, clip: str) -> str:
        """The node of the clip the film shows for `shot` (`shown_clip`, by which the segment and the timeline
        find it among their inputs): `clip`, after each of the shot's range retakes in turn."""
        for number, retake in enumerate(shot.retakes or (), start=1):
            clip = self._add("retake", retake_subject(shot, number), (shot, number), [clip],
                             takes=[shot.seed, retake.seed])
        return clip

    def node(self, node_id: str) -> Node:
        return self.dag.nodes[node_id]["node"]

    def descendants(self, node_id: str) -> set[str]:
        return nx.descendants(self.dag, node_id)

    def _files_digest(self, kind: str) -> str:
        if kind not in self._files_digests:
            self._files_digests[kind] = files_digest(self.files[kind])
        return self._files_digests[kind]

    def key(self, node: Node, upstream: dict[str, str]) -> str:
        """The node's key, given the content hashes of its upstream artifacts."""
        backend = self.backends[node.kind]
        material = {
            "format": KEY_FORMAT,
            "kind": node.kind,
            "backend": backend.name,
            "version": backend.version,
            "settings": backend.settings.model_dump(mode="json"),
            "files": self._files_digest(node.kind),
            "params": node.params,
            "seed": node.seed,
            "inputs": {n: upstream[n] for n in node.inputs},
        }
        return hashlib.sha256(canonical_json(material).encode()).hexdigest()
