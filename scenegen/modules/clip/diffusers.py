"""Diffusion shot: image-to-video from the keyframe, with Wan 2.x I2V, WanVACE, LTX-Video or SANA-WM.

`family` picks the model: `wan` (default) runs `WanImageToVideoPipeline` with the
keyframe as its image; `ltx` runs `LTXConditionPipeline` with the keyframe as the
condition at frame 0; `sana_wm` runs `SanaWMPipeline`, which follows a camera path: it
is given the shot's trajectory (`scenegen.camera.trajectory`: camera-to-world poses and
intrinsics, frame by frame), so the camera moves as the plan says. The prompt joins the
five domains (prompts/diffusion/shot.j2); Wan and LTX take no trajectory, so for them
the camera pose's text asks for the move in words.

`wan_vace` runs `WanVACEPipeline` from the keyframe and references: the keyframe is the
video's first frame, kept (mask black), the frames after it generated (mask white), and the
portraits of the shot's characters and the view of its location's set the camera faces
(`place_view`, as the diffusion keyframe takes it) are its reference images. The keyframe
shows the people as they stand then; the references hold each of them, and the place, as
they turn, leave and come back within the clip. Which families take references
(`Family.references`): WanVACE does; Wan I2V, LTX-Video and SANA-WM start from one image
and take none. `references` is on by default where the family takes them; asked of a
family that cannot, it is refused in one line when the DAG is built.

Each family makes video at the frame rate it was trained at (Wan and WanVACE 16 fps, LTX 25, which
LTX is told, SANA-WM 16) and at most as many frames as it was trained on in one go (Wan
81, LTX 161, SANA-WM 161). A shot is made at that rate, in as many chunks as its length
needs: each chunk after the first starts from the previous chunk's last frame (its
image, or its frame-0 condition) with a seed of its own derived from the shot's. The frames are then retimed
to the film's rate by motion-compensated interpolation (`media.retime`), so motion
keeps its speed instead of playing 1.5x fast as 16 fps frames shown at 24 would.

Each model makes step*k + 1 frames (Wan 4, LTX and SANA-WM 8) at sizes that are multiples
of 16 (Wan) or 32 (LTX, SANA-WM): a chunk is generated at the first valid length that
covers it and the clip is cut to the shot; a frame size the model cannot make is an error, raised
while the DAG is built, that names the sizes it can. The pipeline loads once per
worker (`load`) and serves every shot.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar, Literal

import numpy as np
from PIL import Image, ImageOps
from pydantic import BaseModel, Field

from scenegen.camera import Trajectory, trajectory
from scenegen.media import frames_to_cover, retime, rgb_to_yuv
from scenegen.modules.clip import ClipBackend
from scenegen.errors import UserError
from scenegen.modules.diffusers_backend import (
    LTX, SANA_WM, WAN_I2V, WAN_VACE, DiffusersBackend, Family, VideoSettings, chunk_seed, generator, masked_video,
    valid_length,
)
from scenegen.modules.levers import device_memory_advice
from scenegen.modules.set.animatic import place_view
from scenegen.modules.shot_prompts import full_prompt
from scenegen.orchestrator.backend import Job
from scenegen.schemas import OutputFormat, Shot, StoryPlan


class Settings(VideoSettings):
    family: Literal["wan", "wan_vace", "ltx", "sana_wm"] = "wan"
    references: bool | None = Field(None, description="give the model the portraits of the shot's characters and "
                                                       "the view of its location's set as reference images; by "
                                                       "default where the family takes them (wan_vace), refused "
                                                       "where it cannot")
    native_fps: int | None = Field(None, ge=1, le=120, description="frames per second the model makes; "
                                                                     "the family's by default (Wan 16, LTX 25, SANA-WM 16)")
    chunk_frames: int | None = Field(None, ge=5, le=1024, description="most frames one generation makes; "
                                                                       "the family's by default (Wan 81, LTX 161, SANA-WM 161)")


class DiffusersClip(DiffusersBackend, ClipBackend):
    name: ClassVar[str] = "diffusers"
    version: ClassVar[str] = "2"
    Settings: ClassVar[type[BaseModel]] = Settings
    families: ClassVar[dict[str, Family]] = {"wan": WAN_I2V, "wan_vace": WAN_VACE, "ltx": LTX, "sana_wm": SANA_WM}

    @property
    def takes_references(self) -> bool:
        return self.family.references if self.settings.references is None else self.settings.references

    def check(self, output: OutputFormat) -> None:
        super().check(output)
        if self.settings.references and not self.family.references:
            raise UserError(f"settings for clip backend 'diffusers': references: family {self.settings.family!r} "
                            "takes no reference images; use family \"wan_vace\" or leave references out (settings.json, "
                            "or [backends.clip.settings] in a {config!n} file)", config=None)

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        # Wan and LTX read the prompt with a T5 encoder (512 tokens): every domain, whole.
        params = {**super().params(plan, shot, output), "prompt": full_prompt(plan, shot)}
        if self.takes_references and shot.location:
            # Where the shot faces in its location: the view of the set it is given.
            params["bearing"] = shot.camera.bearing
        return params

    def run(self, job: Job) -> None:
        p, s, family = job.params, self.settings, self.family
        width, height, frames = p["width"], p["height"], p["frames"]
        native_fps = s.native_fps or family.fps
        needed = frames if native_fps == p["fps"] else frames_to_cover(frames, native_fps, p["fps"])
        keyframe = next(path for node, path in job.inputs.items() if node.startswith("keyframe:"))
        image = ImageOps.fit(Image.open(keyframe).convert("RGB"), (width, height))
        references = self.references(job) if self.takes_references else []
        camera = trajectory(p["camera"], needed, width, height, job.seed) if s.family == "sana_wm" else None
        # SANA-WM always encodes a negative prompt, an empty one at least; the others take None as none.
        negative = s.negative_prompt or ("" if s.family == "sana_wm" else None)
        video: list[np.ndarray] = []
        with device_memory_advice(self.kind, s):
            first = 0
            for n, length in enumerate(chunk_lengths(needed, s.chunk_frames or family.frames, family.step)):
                if s.family == "ltx":
                    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

                    start = {"conditions": [LTXVideoCondition(image=image, frame_index=0)], "frame_rate": native_fps}
                elif s.family == "wan_vace":
                    # The chunk's first frame given, the rest generated.
                    given, mask = masked_video([image] + [None] * (length - 1), (width, height))
                    start = {"video": given, "mask": mask, "reference_images": references or None}
                elif s.family == "sana_wm":
                    # This chunk's stretch of the path; the pipeline takes poses relative to its first.
                    poses = _padded(camera, first, length)
                    start = {"image": image, "c2w": poses.c2w.astype(np.float32),
                             "intrinsics": poses.intrinsics.astype(np.float32)}
                else:
                    start = {"image": image}
                chunk = self.pipe(
                    **start, prompt=p["prompt"], negative_prompt=negative, height=height, width=width,
                    num_frames=length, num_inference_steps=s.steps, guidance_scale=s.guidance,
                    generator=generator(chunk_seed(job.seed, n)), max_sequence_length=s.max_sequence_length,
                    output_type="np",
                ).frames
                chunk = chunk[0] if np.ndim(chunk) == 5 else chunk   # Wan and LTX give a batch of one video
                pictures = [Image.fromarray(np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8)) for f in chunk]
                # A later chunk's first frame stands for the previous chunk's last, already in.
                video += [rgb_to_yuv(picture) for picture in pictures[1 if n else 0:]]
                image = pictures[-1]
                first += length - 1
        video = video[:needed]
        if native_fps != p["fps"]:
            video = retime(video, native_fps, p["fps"], frames)
        with s.writer(job.output, p["fps"], width, height) as out:
            for planes in video[:frames]:
                out.write_yuv(planes)

    def references(self, job: Job) -> list[Image.Image]:
        """The portraits of the shot's characters, in the plan's order, then the view of its location's set it faces."""
        p = job.params
        portraits = [Image.open(path).convert("RGB") for node, path in job.inputs.items()
                     if node.startswith("portrait:")]
        place = [place_view(Image.open(path), p["camera"] | {"bearing": p["bearing"]}, p["width"], p["height"])
                 for node, path in job.inputs.items() if node.startswith("set:")]
        return portraits + place


def chunk_lengths(frames: int, most: int, step: int) -> list[int]:
    """Frames of each generation for a shot of `frames`: each a valid length of at most
    `most`, each after the first starting on the previous one's last frame."""
    most = step * ((most - 1) // step) + 1
    lengths = [valid_length(min(frames, most), step)]
    made = lengths[0]
    while made < frames:
        lengths.append(valid_length(min(frames - made + 1, most), step))
        made += lengths[-1] - 1
    return lengths


def _padded(camera: Trajectory, first: int, length: int) -> Trajectory:
    """Frames [first, first + length) of a trajectory, the last pose held past its end (a
    chunk is generated at a valid length, which may run past the shot)."""
    index = np.minimum(np.arange(first, first + length), len(camera.c2w) - 1)
    return replace(camera, c2w=camera.c2w[index], intrinsics=camera.intrinsics[index])
