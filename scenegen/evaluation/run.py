"""Evaluate a rendered run: per shot, per boundary and for the film.

Per shot: per-domain CLIP scores of the keyframe and of the clip's frames (each domain
text on its own), FC and SC within the shot, PSNR between consecutive frames, and how
many frames had no face. Per neighbouring pair, in film order: FC and SC across the
cut (the last 8 frames the film shows of one clip, the first 8 of the next: a
transition's overlap is the boundary's) and, for generated transitions,
SEINE's criteria on the boundary frames. The film: the mean of each over shots or
boundaries, and its background consistency: how alike the keyframes' backgrounds are,
people masked out, for pairs of shots in one location against pairs in different ones
(`background.py`), and how often the rules of its shots' film grammar hold (`grammar.py`).
With a sound track, its facts per shot and for the film (`sound.py`), and what a listener hears of it: each line's words, each voice's pitch (`hearing.py`).
Without a CLIP model, only what needs none is measured (PSNR, faces, sound); the
rest is None, and the film says why, as it does for faces.
Written to `metrics.json` and `report.html` in the run directory.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import av
import numpy as np
from PIL import Image

from scenegen.atomic import write_atomic
from scenegen.errors import UserError
from scenegen.evaluation.background import background_consistency, background_feature
from scenegen.evaluation.grammar import grammar_held
from scenegen.evaluation.hearing import hearing_facts
from scenegen.evaluation.metrics import (
    CROSS_FRAMES, boundary_criteria, consecutive_psnr, cross, domain_scores, mean_or_none, within,
)
from scenegen.evaluation.models import Clip, EvalSettings
from scenegen.evaluation.sound import sound_facts
from scenegen.orchestrator.render import load_run, status
from scenegen.orchestrator.store import RunDir
from scenegen.prompts import fill_template
from scenegen.schemas.timing import FrameLayout, shown_clip

DOMAINS = ("character", "background", "relation", "camera", "lighting")


def decode(path: Path) -> list[Image.Image]:
    with av.open(str(path)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def evaluate(run: RunDir, settings: EvalSettings) -> dict:
    plan, render_settings = load_run(run)
    states = status(run)
    missing = [s.node.id for s in states if s.state != "done"]
    if missing:
        raise UserError(f"{run.root}: {len(missing)} nodes are not rendered ({', '.join(missing[:4])}...); "
                        f"run `scenegen render {run.root}` first")
    artifacts = {s.node.id: run.root / s.record.artifact for s in states}
    facts = {s.node.id: s.record.facts for s in states}
    clip = Clip(settings.clip) if settings.clip else None
    faces = None
    if settings.face_model:
        from scenegen.faces import FaceEmbedder

        faces = FaceEmbedder(settings.face_model, settings.face_detector)
    layout = FrameLayout.of(plan, render_settings.output.fps)

    shots, per_clip = [], []
    for shot, span in zip(plan.shots, layout.spans):
        frames = decode(artifacts[shown_clip(shot)])
        identities = [faces.embed(f) for f in frames] if faces else None
        images = styles = clip_keyframe = clip_frames = None
        if clip:
            texts = clip.texts([shot.character, shot.background, shot.relation, shot.camera.text, shot.lighting.text])
            domain_texts = dict(zip(DOMAINS, texts))
            images = clip.images(frames)
            styles = clip.styles(frames, settings.style_layer)
            keyframe = Image.open(artifacts[f"keyframe:{shot.id}"]).convert("RGB")
            clip_keyframe = domain_scores(clip.images([keyframe])[0], domain_texts)
            clip_frames = {d: float(np.mean([domain_scores(i, domain_texts)[d] for i in images])) for d in DOMAINS}
        # The frames of the clip the film shows: a transition's overlap is the boundary's.
        shown = slice(span.overlap_in, len(frames) - span.overlap_out)
        per_clip.append({"images": images, "faces": identities, "styles": styles, "frames": frames, "shown": shown})
        shots.append({
            "shot": shot.id,
            "frames": len(frames),
            "clip_keyframe": clip_keyframe,
            "clip_frames": clip_frames,
            "fc_within": within(identities) if identities is not None else None,
            "frames_without_face": sum(e is None for e in identities) if identities is not None else None,
            "sc_within": within(styles) if styles is not None else None,
            "psnr_within": consecutive_psnr([np.asarray(f) for f in frames]),
        })

    boundaries = []
    for i, (a, b) in enumerate(zip(plan.shots, plan.shots[1:])):
        before, after = per_clip[i], per_clip[i + 1]
        def on_film(clip: dict, key: str) -> list:
            return list(clip[key][clip["shown"]])

        entry = {
            "from": a.id, "to": b.id, "transition": a.transition.type.value,
            "fc_cross": cross(on_film(before, "faces"), on_film(after, "faces")) if faces else None,
            "sc_cross": cross(on_film(before, "styles"), on_film(after, "styles")) if clip else None,
            "clip_cross": cross(on_film(before, "images"), on_film(after, "images")) if clip else None,
        }
        if clip and a.transition.type != "cut":
            overlap = layout.spans[i].overlap_out
            window = clip.images(decode(artifacts[f"boundary:{a.id}+{b.id}"]))
            # The context either side of the overlap, as the film shows it.
            context_before = list(deque(before["images"][:-overlap], maxlen=CROSS_FRAMES))
            context_after = list(after["images"][overlap:overlap + CROSS_FRAMES])
            text = clip.texts([fill_template("diffusion/boundary.j2", style=plan.style, before=a.background,
                                             after=b.background).strip()])[0]
            entry["seine"] = boundary_criteria(context_before, list(window), context_after, text)
        boundaries.append(entry)

    film = {
        **{f"clip_{d}": mean_or_none([s["clip_frames"][d] for s in shots]) if clip else None for d in DOMAINS},
        **{key: mean_or_none([s[key] for s in shots if s[key] is not None])
           for key in ("fc_within", "sc_within", "psnr_within")},
        **{key: mean_or_none([e[key] for e in boundaries if e[key] is not None])
           for key in ("fc_cross", "sc_cross", "clip_cross")},
        "frames_without_face": sum(s["frames_without_face"] for s in shots) if faces else None,
        "faces": ("measured" if faces and settings.face_detector else
                  "no face_detector configured: faces in frames cannot be found" if faces else "no face_model configured"),
        "clip": "measured" if clip else "no CLIP model configured: CLIP, style and SEINE scores are not measured",
    }
    background = backgrounds(plan, artifacts, facts, render_settings.backends["keyframe"].name)
    sound = sound_facts(plan, render_settings.output, artifacts["film"], artifacts)
    # The voices' language, as the voice backends take it; a backend without the setting speaks English.
    language = render_settings.backends["voice"].settings.get("language", "en")
    heard = (hearing_facts(plan, render_settings.output, artifacts["film"], artifacts, settings.asr, language)
             if sound else None)
    return {"run": str(run.root), "models": settings.model_dump(), "film": film, "shots": shots, "boundaries": boundaries,
            "background": background, "grammar": grammar_held(plan), "sound": sound, "hearing": heard}


def backgrounds(plan, artifacts: dict[str, Path], facts: dict[str, dict], keyframe_backend: str) -> dict:
    """Background consistency over the keyframes, or why it cannot be measured."""
    unmasked = [shot.id for shot in plan.shots if "figures" not in facts[f"keyframe:{shot.id}"]]
    if unmasked:
        return {"same_location": None, "different_location": None,
                "why": f"the keyframe backend {keyframe_backend!r} records no figure boxes (shots "
                       f"{', '.join(unmasked[:4])}{'...' if len(unmasked) > 4 else ''}): people cannot be masked out"}
    features = {shot.id: background_feature(Image.open(artifacts[f"keyframe:{shot.id}"]),
                                            facts[f"keyframe:{shot.id}"]["figures"]) for shot in plan.shots}
    return {**background_consistency(features, {shot.id: shot.location for shot in plan.shots}), "why": "measured"}


def write_report(run: RunDir, metrics: dict) -> None:
    write_atomic(run.root / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    write_atomic(run.root / "report.html", fill_template("eval_report.html.j2", metrics=metrics, domains=DOMAINS))
