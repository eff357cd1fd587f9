"""Each metric's formula on synthetic inputs whose answers are known; then `scenegen eval` on
an animatic run and on a tiny-diffusion run, with a tiny CLIP and a tiny ArcFace-shaped model."""

import json

import numpy as np
import pytest

from scenegen.evaluation.metrics import (
    PSNR_CAP, boundary_criteria, consecutive_psnr, cosine, cross, domain_scores, gram_style, psnr, within,
)

from support.runs import scenegen
from support.tiny_models import build

A, B = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])


def test_identical_frames():
    frame = np.full((8, 8, 3), 90, np.uint8)
    assert within([A, A, A]) == pytest.approx(1.0)
    assert psnr(frame, frame) == PSNR_CAP and consecutive_psnr([frame] * 4) == PSNR_CAP
    features = np.random.default_rng(0).standard_normal((10, 4))
    assert cosine(gram_style(features), gram_style(features)) == pytest.approx(1.0)


def test_a_hard_cut():
    # Orthogonal shots: nothing carries across the cut, everything holds within each side.
    shot_a, shot_b = [A] * 10, [B] * 10
    assert within(shot_a + shot_b) == pytest.approx(18 / 19)  # one of 19 consecutive pairs crosses the cut
    assert cross(shot_a, shot_b) == pytest.approx(0.0)
    black, white = np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)
    assert psnr(black, white) == pytest.approx(0.0)
    assert psnr(black, np.full((4, 4), 1, np.uint8)) == pytest.approx(10 * np.log10(255 ** 2))


def test_cross_uses_the_last_and_first_eight_frames_in_film_order():
    before = [B] * 5 + [A] * 8  # only the last eight count
    after = [A] * 8 + [B] * 5   # only the first eight count
    assert cross(before, after) == pytest.approx(1.0)
    # Reversed, the pairs differ: 3 x 3 A-A and 5 x 5 B-B matches among 8 x 8.
    assert cross(after, before) == pytest.approx(34 / 64)


def test_a_linear_dissolve():
    # A window that slides from A to B: coherent step by step, equally like both ends,
    # and aligned with a text halfway between.
    window = [np.array([1 - t, t, 0.0]) for t in np.linspace(0.1, 0.9, 9)]
    scores = boundary_criteria([A] * 4, window, [B] * 4, text=np.array([1.0, 1.0, 0.0]))
    assert scores["similarity_to_before"] == pytest.approx(scores["similarity_to_after"])
    assert scores["temporal_coherence"] > 0.98
    assert scores["text_alignment"] == pytest.approx(np.mean([cosine(w, np.array([1.0, 1.0, 0.0])) for w in window]))


def test_no_face_at_all_is_none_and_counted_not_zero():
    assert within([None] * 6) is None
    assert cross([None] * 8, [A] * 8) is None
    # Missing faces are skipped, not averaged in as zeros.
    assert within([A, None, A, A]) == pytest.approx(1.0)


def test_domain_scores_are_not_softmaxed():
    texts = {"character": A, "background": B, "relation": np.array([1.0, 1.0, 0.0])}
    scores = domain_scores(A, texts)
    assert scores == pytest.approx({"character": 1.0, "background": 0.0, "relation": 1 / np.sqrt(2)})
    assert sum(scores.values()) != pytest.approx(1.0)


@pytest.fixture(scope="module")
def tiny():
    return build()


def run_eval(run, tiny, *detector):
    result = scenegen("eval", str(run), "--clip", str(tiny / "clip"), "--face-model", str(tiny / "arcface" / "arcface.onnx"),
                      *detector)
    assert result.returncode == 0, result.stderr
    return json.loads((run / "metrics.json").read_text())


def check_metrics(metrics, shots, faces: bool = False):
    assert len(metrics["shots"]) == shots and len(metrics["boundaries"]) == shots - 1
    for shot in metrics["shots"]:
        assert set(shot["clip_keyframe"]) == {"character", "background", "relation", "camera", "lighting"}
        assert all(-1 <= v <= 1 for v in shot["clip_frames"].values())
        assert 0 < shot["psnr_within"] <= 100 and -1 <= shot["sc_within"] <= 1
        if faces:
            assert -1 <= shot["fc_within"] <= 1 and shot["frames_without_face"] == 0
        else:
            # Without a face detector no face can be found in a frame: counted, not zeroed.
            assert shot["fc_within"] is None and shot["frames_without_face"] == shot["frames"]
    assert ("measured" if faces else "no face_detector configured") in metrics["film"]["faces"]
    assert all((b["fc_cross"] is not None) == faces for b in metrics["boundaries"])
    generated = [b for b in metrics["boundaries"] if b["transition"] != "cut"]
    assert generated and all(set(b["seine"]) == {"temporal_coherence", "similarity_to_before", "similarity_to_after",
                                                    "text_alignment"} for b in generated)


@pytest.mark.torch
def test_eval_on_an_animatic_run(small_run, tiny):
    metrics = run_eval(small_run.root, tiny)
    check_metrics(metrics, 6)
    report = (small_run.root / "report.html").read_text()
    assert "<svg" in report and report.count("<tr>") > 6
    # The sound track, per shot: speech heard under every line, ending before its shot does.
    sound = metrics["sound"]
    speaking = [s for s in sound["shots"] if s["said"]]
    assert len(sound["shots"]) == 6 and speaking
    assert all(s["speech_present"] and s["speech_ends_in_shot"] and s["speech_seconds"] <= s["shown_seconds"]
               for s in speaking), speaking
    assert all(s["speech_present"] is None for s in sound["shots"] if not s["said"])
    assert sound["film"]["loudness_lufs"] == pytest.approx(-16, abs=1.5)
    assert "<h2>Sound</h2>" in report


@pytest.mark.torch
def test_cross_shot_scores_read_the_frames_the_film_shows(small_run, tiny, monkeypatch):
    """A transition's overlap is the boundary's, not the clips': the cross-shot scores
    compare the last frames the film shows of one shot with the first it shows of the next."""
    import scenegen.evaluation.run as evaluation
    from scenegen.evaluation.models import EvalSettings
    from scenegen.schemas.files import load_plan
    from scenegen.schemas.timing import FrameLayout

    compared = []
    monkeypatch.setattr(evaluation, "cross", lambda before, after: compared.append((len(before), len(after))) or 0.0)
    evaluation.evaluate(small_run, EvalSettings(clip=str(tiny / "clip")))
    spans = FrameLayout.of(load_plan(small_run.plan, 12), 12).spans
    shown = [span.frames - span.overlap_in - span.overlap_out for span in spans]
    assert any(span.overlap_out for span in spans)
    # Two scores per pair without faces (style and CLIP), each given the shown frames of both shots.
    assert compared == [(a, b) for a, b in zip(shown, shown[1:]) for _ in range(2)]


@pytest.mark.torch
@pytest.mark.slow
def test_eval_on_a_tiny_diffusion_run(tiny, tmp_path):
    from pathlib import Path

    config = Path(__file__).parent / "tiny.toml"
    # Every stage on tiny diffusion models: minutes on two cores shared with the other tests.
    result = scenegen("story", "a woman's life", "--shots", "3", "--config", str(config), "--out", str(tmp_path / "run"),
                      timeout=900)
    assert result.returncode == 0, result.stderr
    metrics = run_eval(tmp_path / "run", tiny)
    check_metrics(metrics, 3)
    # Diffusion draws its people into the picture: there is no box to mask them with, and eval says so.
    assert metrics["background"]["same_location"] is None
    assert "'diffusers' records no figure boxes" in metrics["background"]["why"]
    # With insightface's detector (a tiny SCRFD-shaped model) faces are found and FC is measured.
    check_metrics(run_eval(tmp_path / "run", tiny, "--face-detector", str(tiny / "face-detector" / "detector.onnx")), 3,
                  faces=True)


def test_eval_without_models_measures_the_sound_and_psnr_and_says_what_it_left_out(small_run):
    result = scenegen("eval", str(small_run.root))
    assert result.returncode == 0, result.stderr
    assert "no --clip" in result.stdout and "speech heard in" in result.stdout
    metrics = json.loads((small_run.root / "metrics.json").read_text())
    assert metrics["film"]["clip"].startswith("no CLIP model configured")
    assert all(metrics["film"][f"clip_{d}"] is None for d in ("character", "background", "relation", "camera", "lighting"))
    assert all(s["clip_frames"] is None and s["sc_within"] is None and 0 < s["psnr_within"] <= 100
               for s in metrics["shots"])
    assert all("seine" not in b and b["clip_cross"] is None for b in metrics["boundaries"])
    speaking = [s for s in metrics["sound"]["shots"] if s["said"]]
    assert speaking and all(s["speech_present"] for s in speaking)
    report = (small_run.root / "report.html").read_text()
    assert "<h2>Sound</h2>" in report and "<svg" not in report
    assert any(b["transition"] != "cut" for b in metrics["boundaries"]) and "not measured: no CLIP model" in report


@pytest.mark.torch
def test_eval_needs_a_rendered_run_and_models_that_exist(small_run, tiny, tmp_path):
    result = scenegen("eval", str(small_run.root), "--clip", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "does not exist" in result.stderr
    plan = json.loads(small_run.plan.read_text())
    plan["shots"][0]["duration"] += 1
    small_run.plan.write_text(json.dumps(plan))
    result = scenegen("eval", str(small_run.root), "--clip", str(tiny / "clip"))
    assert result.returncode == 2 and "run `scenegen render" in result.stderr


@pytest.mark.torch
def test_a_gated_keyframe_is_retried_and_the_best_take_chosen(small_run, tiny):
    from scenegen.orchestrator.render import status

    from support.runs import rerender

    settings = json.loads(small_run.settings.read_text())
    # An impossible threshold: every take is drawn, scored and kept; the best is used.
    settings["backends"]["keyframe"] = {"name": "gated", "settings": {
        "inner": "animatic", "budget": 3, "min_clip": 1.0, "clip": str(tiny / "clip")}}
    small_run.settings.write_text(json.dumps(settings))
    assert rerender(small_run).ok
    records = {s.node.id: s.record for s in status(small_run) if s.record}
    facts = records["keyframe:s01"].facts
    takes = facts["takes"]
    assert "figures" in facts, "the chosen take's own facts (the figures' boxes eval masks with) stay in the record"
    assert [t["seed"] for t in takes] == [takes[0]["seed"] + k for k in range(3)]
    assert not any(t["passed"] for t in takes)
    best = max(takes, key=lambda t: t["scores"]["clip"])
    assert facts["chosen"] == best["take"]
    kept = small_run.root / records["keyframe:s01"].artifact.replace(".png", ".kept")
    assert sorted(p.name for p in kept.iterdir()) == sorted(t["file"] for t in takes)
    assert (small_run.root / records["keyframe:s01"].artifact).read_bytes() == (kept / best["file"]).read_bytes()
    assert len({(kept / t["file"]).read_bytes() for t in takes}) == 3, "each seed draws a different take"
    shown = scenegen("status", str(small_run.root)).stdout
    assert f"keyframe:s01: using try {best['take']} of 3" in shown and "clip " in shown

    # A threshold the first take meets: one take, no retry.
    settings["backends"]["keyframe"]["settings"]["min_clip"] = -1.0
    small_run.settings.write_text(json.dumps(settings))
    assert rerender(small_run).ok
    facts = {s.node.id: s.record for s in status(small_run) if s.record}["keyframe:s01"].facts
    assert len(facts["takes"]) == 1 and facts["chosen"] == 1 and facts["takes"][0]["passed"]


def test_gate_thresholds_need_their_models(small_run):
    settings = json.loads(small_run.settings.read_text())
    settings["backends"]["keyframe"] = {"name": "gated", "settings": {"inner": "animatic", "min_face": 0.5}}
    small_run.settings.write_text(json.dumps(settings))
    result = scenegen("render", str(small_run.root))
    assert result.returncode == 2 and "min_face needs face_model and face_detector" in result.stderr


@pytest.mark.torch
def test_gate_scores_faces_against_the_portraits(small_run, tiny):
    from scenegen.orchestrator.render import status

    from support.runs import rerender

    settings = json.loads(small_run.settings.read_text())
    settings["backends"]["keyframe"] = {"name": "gated", "settings": {
        "inner": "animatic", "budget": 2, "min_face": 1.0, "face_model": str(tiny / "arcface" / "arcface.onnx"),
        "face_detector": str(tiny / "face-detector" / "detector.onnx")}}
    small_run.settings.write_text(json.dumps(settings))
    assert rerender(small_run).ok
    facts = {s.node.id: s.record for s in status(small_run) if s.record}["keyframe:s01"].facts
    assert len(facts["takes"]) == 2
    assert all(-1 <= t["scores"]["face"] <= 1 and t["scores"]["clip"] is None for t in facts["takes"])
