"""Gated keyframes: any keyframe backend, retried with the next seed while a take scores too low.

The keyframe is the cheapest place to catch an inconsistent shot: a clip costs far
more than a still. Each take is drawn by the inner backend (`inner`, with
`inner_settings`) and scored:

- clip: the CLIP cosine of the take with the shot's prompt (its five domains);
- face: the cosine of the face found in the take with the faces of the shot's
  characters' portraits, the best match counting (insightface; needs `face_detector`).

A take passes when every configured threshold (`min_clip`, `min_face`) is met. Takes
are drawn with seeds seed, seed + 1, ... until one passes or `budget` runs out; every
take is kept beside the artifact with its scores (recorded, and shown by `status`),
and the artifact is the first passing take or, if none passed, the best one.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from scenegen.evaluation.metrics import cosine
from scenegen.modules.diffusers_backend import weight_files
from scenegen.modules.shot_prompts import fit, prompt_domains, within
from scenegen.modules.keyframe import KeyframeBackend
from scenegen.orchestrator.backend import Job
from scenegen.orchestrator.registry import backend_class
from scenegen.schemas import OutputFormat, Shot, StoryPlan


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inner: str = Field("diffusers", description="the keyframe backend that draws each take")
    inner_settings: dict[str, Any] = Field(default_factory=dict)
    budget: int = Field(3, ge=1, le=16, description="takes at most")
    min_clip: float | None = Field(None, ge=-1, le=1)
    min_face: float | None = Field(None, ge=-1, le=1)
    clip: str | None = Field(None, description="CLIP model directory, for min_clip")
    face_model: str | None = Field(None, description="insightface ArcFace ONNX file, for min_face")
    face_detector: str | None = Field(None, description="insightface detector ONNX file, for min_face")

    @model_validator(mode="after")
    def _models_for_thresholds(self) -> "Settings":
        if self.min_clip is not None and not self.clip:
            raise ValueError("min_clip needs clip, the directory of a CLIP model")
        if self.min_face is not None and not (self.face_model and self.face_detector):
            raise ValueError("min_face needs face_model and face_detector (insightface ONNX files)")
        return self


class GatedKeyframe(KeyframeBackend):
    name: ClassVar[str] = "gated"
    version: ClassVar[str] = "3"  # 3: keeps the chosen take's own facts
    Settings: ClassVar[type[BaseModel]] = Settings

    def __init__(self, settings: dict[str, Any] | None = None):
        super().__init__(settings)
        self.inner = backend_class("keyframe", self.settings.inner)(self.settings.inner_settings)
        self.thread_safe = self.inner.thread_safe
        self.uses_gpu = self.inner.uses_gpu

    def check(self, output: OutputFormat) -> None:
        self.inner.check(output)

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        return {"inner": self.inner.params(plan, shot, output), "gate_domains": prompt_domains(plan, shot)}

    def files(self) -> list[Path]:
        return self.inner.files() + weight_files(self.settings.clip, self.settings.face_model, self.settings.face_detector)

    def load(self) -> None:
        s = self.settings
        self.inner.load()
        self.clip = self.faces = None
        if s.clip:
            from scenegen.evaluation.models import Clip

            self.clip = Clip(s.clip)
        if s.face_model:
            from scenegen.faces import FaceEmbedder

            self.faces = FaceEmbedder(s.face_model, s.face_detector)

    def release(self) -> None:
        self.inner.release()
        self.clip = self.faces = None

    def run(self, job: Job) -> dict[str, Any]:
        s = self.settings
        job.keep.mkdir(parents=True, exist_ok=True)
        takes, inner_facts = [], []
        for k in range(s.budget):
            seed = job.seed + k
            take = job.keep / f"take{k + 1}-seed{seed}{self.inner.suffix}"
            inner_facts.append(self.inner.run(dataclasses.replace(job, params=job.params["inner"], seed=seed,
                                                                  output=take)) or {})
            scores = self._scores(Image.open(take).convert("RGB"), job)
            passed = all(scores[name] is not None and scores[name] >= limit
                         for name, limit in (("clip", s.min_clip), ("face", s.min_face)) if limit is not None)
            takes.append({"take": k + 1, "seed": seed, "file": take.name, "scores": scores, "passed": passed})
            if passed:
                break
        chosen = next((t for t in takes if t["passed"]), None) or max(takes, key=_quality)
        shutil.copyfile(job.keep / chosen["file"], job.output)
        # What the inner backend reported of the chosen take (the animatic's figure boxes) stays in the record.
        return {**inner_facts[chosen["take"] - 1], "takes": takes, "chosen": chosen["take"]}

    def _scores(self, image: Image.Image, job: Job) -> dict[str, float | None]:
        scores: dict[str, float | None] = {"clip": None, "face": None}
        if self.clip is not None:
            # The shot's prompt as CLIP reads it: the key words of every domain within its 77 tokens.
            prompt = fit(job.params["gate_domains"], within(self.clip.processor.tokenizer))
            scores["clip"] = cosine(self.clip.images([image])[0], self.clip.texts([prompt])[0])
        if self.faces is not None:
            found = self.faces.embed(image)
            portraits = [self.faces.embed(Image.open(path).convert("RGB"), centred_if_undetected=True)
                         for node, path in job.inputs.items() if node.startswith("portrait:")]
            if found is not None and portraits:
                scores["face"] = max(cosine(found, p) for p in portraits if p is not None)
        return scores


def _quality(take: dict) -> float:
    # With no passing take, the best is the one with the highest mean of its scores.
    values = [v for v in take["scores"].values() if v is not None]
    return float(np.mean(values)) if values else 0.0
