"""The metric formulas, on embeddings and pixels: no model, no file, no torch.

Conventions, fixed here once (VGoT's scripts got several of them wrong):

- every similarity is a cosine in [-1, 1] between two L2-normalised vectors; scores
  per domain are reported side by side, never softmaxed against each other;
- within-shot = the mean over consecutive frame pairs of one shot;
- cross-shot = the mean over all pairs (a, b), a among the last `CROSS_FRAMES` frames
  of shot i and b among the first `CROSS_FRAMES` of shot i + 1, in film order;
- a frame with no face is skipped and counted, never given a zero embedding; a score
  with nothing to average is `None`;
- PSNR of identical frames is capped at `PSNR_CAP` dB instead of infinity.
"""

from __future__ import annotations

import numpy as np

CROSS_FRAMES = 8
PSNR_CAP = 100.0


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(normalise(a), normalise(b)))


def mean_or_none(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def within(embeddings: list[np.ndarray | None]) -> float | None:
    """Mean cosine of consecutive frames; pairs with a missing embedding (no face) are skipped."""
    pairs = zip(embeddings, embeddings[1:])
    return mean_or_none([cosine(a, b) for a, b in pairs if a is not None and b is not None])


def cross(before: list[np.ndarray | None], after: list[np.ndarray | None]) -> float | None:
    """Mean cosine between the last frames of one shot and the first of the next."""
    tail = [e for e in before[-CROSS_FRAMES:] if e is not None]
    head = [e for e in after[:CROSS_FRAMES] if e is not None]
    return mean_or_none([cosine(a, b) for a in tail for b in head])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 frames, in dB."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, float(10 * np.log10(255.0 ** 2 / mse)))


def consecutive_psnr(frames: list[np.ndarray]) -> float | None:
    return mean_or_none([psnr(a, b) for a, b in zip(frames, frames[1:])])


def gram_style(features: np.ndarray) -> np.ndarray:
    """Style as Gatys et al. define it: the Gram matrix of feature channels, (tokens x channels) in,
    flattened; comparing two Gram vectors by cosine ignores where things are and keeps texture and palette."""
    f = np.asarray(features, dtype=np.float64)
    gram = f.T @ f / f.shape[0]
    return gram.reshape(-1)


def domain_scores(image: np.ndarray, texts: dict[str, np.ndarray]) -> dict[str, float]:
    """Cosine of one image embedding with each domain's text embedding, per domain."""
    return {domain: cosine(image, text) for domain, text in texts.items()}


def boundary_criteria(before: list[np.ndarray], window: list[np.ndarray], after: list[np.ndarray],
                      text: np.ndarray) -> dict[str, float | None]:
    """SEINE's three criteria for a generated transition, on CLIP image embeddings:

    - temporal coherence: mean cosine of consecutive frames across context, window, context;
    - semantic similarity: mean cosine of the window's frames to each neighbour's mean frame;
    - text alignment: mean cosine of the window's frames to the transition's text.
    """
    sequence = list(before) + list(window) + list(after)
    return {
        "temporal_coherence": within(sequence),
        "similarity_to_before": mean_or_none([cosine(w, np.mean(normalise(before), axis=0)) for w in window]) if before else None,
        "similarity_to_after": mean_or_none([cosine(w, np.mean(normalise(after), axis=0)) for w in window]) if after else None,
        "text_alignment": mean_or_none([cosine(w, text) for w in window]),
    }
