"""Face identity embeddings through insightface: its detector finds the face, its ArcFace
model embeds it, and `normed_embedding` (unit length, 512 numbers) is the identity.

Both models are ONNX files given by path (insightface's buffalo_l pack has
`det_10g.onnx` and `w600k_r50.onnx`); nothing is downloaded. Without a detector a
face can only be taken as centred, which holds for a head-and-shoulders portrait and
for nothing else, so callers say when they accept that.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from scenegen.errors import UserError

# insightface's 112x112 ArcFace landmark template: eyes, nose tip, mouth corners.
ARCFACE_LANDMARKS = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                              [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)


class FaceEmbedder:
    def __init__(self, face_model: str, face_detector: str | None = None):
        try:
            from insightface.model_zoo import model_zoo
        except ImportError:
            raise UserError(f"{face_model}: a face model is read with insightface, which is not installed: "
                            "pip install 'scenegen[diffusion]'") from None

        self.recognizer = model_zoo.get_model(face_model, providers=["CPUExecutionProvider"])
        self.detector = None
        if face_detector:
            self.detector = model_zoo.get_model(face_detector, providers=["CPUExecutionProvider"])
            self.detector.prepare(ctx_id=-1, input_size=(640, 640))

    def embed(self, image: Image.Image, centred_if_undetected: bool = False) -> np.ndarray | None:
        """The largest face's `normed_embedding`, or None when there is no face to embed."""
        from insightface.app.common import Face

        pixels = np.asarray(image.convert("RGB"))[:, :, ::-1]  # insightface works in BGR
        if self.detector is not None:
            boxes, landmarks = self.detector.detect(pixels, max_num=1)
            if len(boxes):
                face = Face(bbox=boxes[0, :4], kps=landmarks[0], det_score=boxes[0, 4])
                self.recognizer.get(pixels, face)
                return face.normed_embedding
        if not centred_if_undetected:
            return None
        # A head-and-shoulders portrait: the face fills the middle half, a little above centre.
        side = min(image.size) / 2
        left, top = image.width / 2 - side / 2, image.height * 0.45 - side / 2
        face = Face(bbox=np.array([left, top, left + side, top + side]),
                    kps=ARCFACE_LANDMARKS / 112 * side + np.array([left, top], dtype=np.float32), det_score=1.0)
        self.recognizer.get(pixels, face)
        return face.normed_embedding
