"""Joint audio-video shot: LTX-2 image-to-video, the shot's picture and its own sound made together.

`LTX2ImageToVideoPipeline` starts from the keyframe and makes the frames and a sound
track for them in one denoising loop, each modality attending to the other, so the
people on screen move their lips to the words the track says. The prompt is the five
domains (prompts/diffusion/shot.j2), then what is said in the shot, in the order it is
said, each line quoted after who says it and how their voice sounds ("Nora says, in a
low, slow woman's voice: "..."", the narration a voice off screen: prompts/diffusion/
spoken_shot.j2), as LTX-2's prompting guide asks. The lines are in the prompt whichever
`dialogue` the output chooses, so switching it re-makes no clip.

The clip is an MP4 as every clip backend's, with the sound as an AAC track beside the
video (`media.Sound`). Every stage that reads a clip's picture demuxes its video stream
alone (segments copy its packets GOP-wise, boundaries decode its frames), so for them
it is a clip like any other, and its picture packets are the ones a silent clip of the
same frames would have. With `dialogue = "clip"` under [output], the mix takes this
track as the shot's dialogue stem instead of building a voice node per line (see
modules/cues.py for where it plays and how the subtitles are timed then); with
"voices" the track is made and unused.

A shot is made in one generation: its sound cannot be joined from takes that each
start the words over. It is made at LTX-2's own rate (24 fps, which the pipeline is
told) as the first valid length (8k + 1 frames, at sizes that are multiples of 32)
that covers it, then cut to the shot and, where the film's rate differs, retimed by
motion-compensated interpolation (`media.retime`). The track is cut (or padded with
silence: the model's causal audio decoder ends a few milliseconds short) to exactly the
shot's seconds. A shot longer than `max_frames` at that rate is refused while the DAG
is built, naming the shot. The pipeline loads once per worker and serves every shot.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageOps
from pydantic import BaseModel, Field

from scenegen.errors import UserError
from scenegen.media import Sound, frames_to_cover, resample, retime, rgb_to_yuv
from scenegen.modules.clip import ClipBackend
from scenegen.modules.diffusers_backend import LTX2_I2V, DiffusersBackend, Family, VideoSettings, generator, valid_length
from scenegen.modules.levers import device_memory_advice
from scenegen.modules.shot_prompts import spoken_prompt
from scenegen.orchestrator.backend import Job
from scenegen.schemas import OutputFormat, Shot, StoryPlan

SOUND_RATE = 48000   # the clip's AAC track: the mix's rate, and one AAC takes (the vocoder's 16 kHz or 24 kHz it does too)


class Settings(VideoSettings):
    native_fps: int | None = Field(None, ge=1, le=120, description="frames per second the model makes (default 24)")
    max_frames: int | None = Field(None, ge=9, le=1024, description="most frames one generation makes, at native_fps; "
                                                                    "a longer shot is refused (default 257: 10.7 s)")
    audio_guidance: float = Field(7.0, ge=0.0, le=30.0, description="classifier-free guidance of the sound "
                                  "(LTX-2's authors suggest more than the picture's)")
    stg_scale: float = Field(1.0, ge=0.0, le=10.0, description="spatio-temporal guidance of picture and sound; 0 is off")
    stg_blocks: tuple[int, ...] = Field((28,), description="transformer blocks STG skips (LTX-2.3: 28, LTX-2.0: 29)")
    modality_scale: float = Field(3.0, ge=1.0, le=10.0, description="guidance away from picture and sound made "
                                  "apart (each blind to the other); 1 is off")


class LTX2Clip(DiffusersBackend, ClipBackend):
    name: ClassVar[str] = "ltx2"
    version: ClassVar[str] = "1"
    Settings: ClassVar[type[BaseModel]] = Settings
    family: ClassVar[Family] = LTX2_I2V
    makes_sound: ClassVar[bool] = True

    def params(self, plan: StoryPlan, shot: Shot, output: OutputFormat) -> dict[str, Any]:
        params = {**super().params(plan, shot, output), "prompt": spoken_prompt(plan, shot)}
        native, most = self.settings.native_fps or self.family.fps, self.settings.max_frames or self.family.frames
        if valid_length(self._needed(params), self.family.step) > most:
            raise UserError(f"shot {shot.id} lasts {shot.duration} s, longer than {self.family.name} makes in one take "
                            f"with its sound ({most} frames at {native} fps, {most / native:.1f} s); split the shot in "
                            "plan.json, or raise max_frames in [backends.clip.settings] of a {config!n} file", config=None)
        return params

    def _needed(self, p: dict[str, Any]) -> int:
        """Frames at the model's rate that cover the shot (the retiming to the film's rate included)."""
        native = self.settings.native_fps or self.family.fps
        return p["frames"] if native == p["fps"] else frames_to_cover(p["frames"], native, p["fps"])

    def run(self, job: Job) -> None:
        p, s = job.params, self.settings
        width, height, frames, fps = p["width"], p["height"], p["frames"], p["fps"]
        native, needed = s.native_fps or self.family.fps, self._needed(p)
        image = ImageOps.fit(Image.open(job.inputs[next(iter(job.inputs))]).convert("RGB"), (width, height))
        with device_memory_advice(self.kind, s):
            made = self.pipe(
                image=image, prompt=p["prompt"], negative_prompt=s.negative_prompt, height=height, width=width,
                num_frames=valid_length(needed, self.family.step), frame_rate=float(native), num_inference_steps=s.steps,
                guidance_scale=s.guidance, audio_guidance_scale=s.audio_guidance, stg_scale=s.stg_scale,
                audio_stg_scale=s.stg_scale, spatio_temporal_guidance_blocks=list(s.stg_blocks),
                modality_scale=s.modality_scale, audio_modality_scale=s.modality_scale, generator=generator(job.seed),
                max_sequence_length=s.max_sequence_length, output_type="np",
            )
        video = [rgb_to_yuv(Image.fromarray(np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8))) for f in made.frames[0][:needed]]
        if native != fps:
            video = retime(video, native, fps, frames)
        sound = _track(made.audio[0], self.pipe.vocoder.config.output_sampling_rate, round(frames * SOUND_RATE / fps))
        with s.writer(job.output, fps, width, height, sound=Sound(sound, SOUND_RATE)) as out:
            for planes in video[:frames]:
                out.write_yuv(planes)


def _track(audio, rate: int, length: int) -> np.ndarray:
    """The vocoder's (channels, samples) waveform as (length, 2) stereo at SOUND_RATE: a mono one
    on both sides, cut to `length` or padded with silence to it."""
    samples = np.ascontiguousarray(audio.float().cpu().numpy().T)
    samples = resample(np.repeat(samples, 2, axis=1) if samples.shape[1] == 1 else samples[:, :2], rate, SOUND_RATE)
    return np.pad(samples[:length], ((0, max(0, length - len(samples))), (0, 0)))
