"""The acceptance run: `scenegen story "a woman's life" --shots 30` at the default size,
checked by decoding what it wrote."""

import json
import os
import re
import shutil
import subprocess
import sys
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest

from scenegen.schemas.files import load_plan
from scenegen.schemas.timing import FrameLayout

from support.runs import scenegen, subtitle_cues


@pytest.fixture(scope="module")
def life(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("story") / "life"
    result = scenegen("story", "a woman's life", "--shots", "30", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "offline planner" in result.stdout
    return out


def test_writes_every_output(life):
    for name in ("plan.json", "plan.schema.json", "settings.json", "film.mp4", "shots.srt", "timeline.otio", "storyboard.html"):
        assert (life / name).is_file(), name
    plan = json.loads((life / "plan.json").read_text())
    assert plan["$schema"] == "plan.schema.json"
    assert len(plan["shots"]) == 30


def test_film_is_h264_yuv420p_at_constant_rate_and_lasts_what_the_plan_says(life):
    plan = load_plan(life / "plan.json", 24)
    layout = FrameLayout.of(plan, 24)
    # Overlapping transitions shorten the film by their length; cuts do not.
    overlaps = sum(round(s.transition.duration * 24) for s in plan.shots[:-1] if s.transition.type != "cut")
    assert layout.total_frames == sum(round(s.duration * 24) for s in plan.shots) - overlaps
    with av.open(str(life / "film.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 360)
        assert stream.average_rate == 24
        pts = [frame.pts for frame in container.decode(stream)]
        time_base = stream.time_base
    assert len(pts) == layout.total_frames
    steps = {b - a for a, b in zip(pts, pts[1:])}
    assert len(steps) == 1 and steps.pop() * time_base == Fraction(1, 24), "frame rate is not constant"


def test_film_shows_each_shot_where_the_layout_puts_it(life):
    # The middle frame of every shot in the film equals that frame of the shot's own clip
    # (up to one encode), so all 30 shots are there, in order.
    plan = load_plan(life / "plan.json", 24)
    layout = FrameLayout.of(plan, 24)
    records = {json.loads(p.read_text())["node"]: json.loads(p.read_text())
               for p in (life / ".scenegen" / "records" / "clip").rglob("*.json")}
    with av.open(str(life / "film.mp4")) as container:
        film = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    for span in layout.spans:
        middle = span.frames // 2
        clip_path = life / records[f"clip:{span.shot_id}"]["artifact"]
        with av.open(str(clip_path)) as container:
            clip = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
        assert len(clip) == span.frames
        difference = abs(film[span.start + middle].astype(int) - clip[middle].astype(int)).mean()
        others = abs(film[span.start + middle].astype(int) - film[(span.start + middle + 240) % len(film)].astype(int)).mean()
        assert difference < 3.0, (span.shot_id, difference)
        assert difference < others


def test_film_is_its_segments_joined_without_another_encode(life):
    plan = load_plan(life / "plan.json", 24)
    records = {json.loads(p.read_text())["node"]: json.loads(p.read_text())
               for p in (life / ".scenegen" / "records" / "segment").rglob("*.json")}
    segments = []
    for shot in plan.shots:
        with av.open(str(life / records[f"segment:{shot.id}"]["artifact"])) as container:
            segments += [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]
    with av.open(str(life / "film.mp4")) as container:
        film = [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]
    assert len(film) == len(segments) == FrameLayout.of(plan, 24).total_frames
    assert all((a == b).all() for a, b in zip(film, segments)), "the film's frames differ from its segments'"


def srt_cues(path: Path) -> list[tuple[float, float, str]]:
    cues = re.findall(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)\n", path.read_text())
    assert [int(c[0]) for c in cues] == list(range(1, len(cues) + 1))
    seconds = [[int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in (c[1:5], c[5:9])] for c in cues]
    return [(start, end, c[9]) for (start, end), c in zip(seconds, cues)]


def test_captions_cover_the_film_once_per_shot_and_carry_every_line_with_its_speaker(life):
    plan = load_plan(life / "plan.json", 24)
    total = FrameLayout.of(plan, 24).total_frames / 24
    cues = srt_cues(life / "shots.srt")
    contexts = [c for c in cues if c[2] in {s.context for s in plan.shots}]
    starts, ends = [c[0] for c in contexts], [c[1] for c in contexts]
    assert starts[0] == 0 and abs(ends[-1] - total) < 0.002
    assert all(abs(e - s) < 0.002 for e, s in zip(ends, starts[1:])), "captions leave gaps or overlap"
    assert [c[2] for c in contexts] == [s.context for s in plan.shots]
    names = {c.id: c.name.upper() for c in plan.characters}
    said = [f"<i>{s.narration}</i>" for s in plan.shots if s.narration]
    said += [f"{names[line.speaker]}: {line.text}" for s in plan.shots for line in s.dialogue]
    assert sorted(c[2] for c in cues if c not in contexts) == sorted(said) and said


def test_film_carries_the_captions_as_a_subtitle_track_timed_as_the_srt(life):
    from scenegen.modules.cues import one_at_a_time

    # MP4's text track shows one cue at a time: where a line is said over a shot's caption, one cue holds both.
    srt = one_at_a_time(srt_cues(life / "shots.srt"))
    cues = subtitle_cues(life / "film.mp4")
    assert len(srt) > 30 and any("\n" in text for _, _, text in srt)
    # The narration's italics: SubRip's <i> tags in the SRT, an ASS style in the film's track.
    def plain(text):
        return re.sub(r"</?i>|\{\\i[01]\}", "", text)

    assert [plain(text) for _, _, text in cues] == [plain(text) for _, _, text in srt]
    assert ["{\\i1}" in text for _, _, text in cues] == ["<i>" in text for _, _, text in srt]
    assert all(abs(a - c) < 0.002 and abs(b - d) < 0.002 for (a, b, _), (c, d, _) in zip(cues, srt))


def rms_db(samples: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(samples, dtype=np.float64))) + 1e-12)


def test_the_film_sounds_as_long_as_it_shows_speaks_its_lines_and_has_the_score_under_them(life):
    plan = load_plan(life / "plan.json", 24)
    with av.open(str(life / "film.mp4")) as container:
        video = container.streams.video[0]
        shown = float(video.duration * video.time_base)
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac" and stream.channels == 2
        rate = stream.sample_rate
        audio = np.concatenate([f.to_ndarray() for f in container.decode(stream)], axis=1).T
    assert abs(len(audio) / rate - shown) <= 1024 / rate, "the sound lasts as long as the picture, to one AAC frame"
    spoken = [c for c in srt_cues(life / "shots.srt") if c[2] not in {s.context for s in plan.shots}]
    assert len(spoken) >= 15
    speaking = np.zeros(len(audio), bool)
    for start, end, _ in spoken:
        speaking[round(start * rate):round(end * rate)] = True
    for start, end, text in spoken:
        assert rms_db(audio[round(start * rate):round(end * rate)]) > -30, f"not heard: {text}"
    # The score plays where nobody speaks (the first act's opening bars aside), quieter than speech.
    score = audio[~speaking][3 * rate:]
    assert -50 < rms_db(score) < rms_db(audio[speaking]) - 6


def test_the_film_holds_its_sound_beside_its_pictures_for_a_player_reading_it_in_order(life):
    with av.open(str(life / "film.mp4")) as container:
        packets = sorted((p.pos, p.stream.type, float(p.dts * p.time_base)) for p in container.demux() if p.dts is not None)
    seen = {}
    for _, kind, seconds in packets:   # in the order of their bytes in the file
        seen[kind] = seconds
        if {"video", "audio"} <= seen.keys():
            assert abs(seen["video"] - seen["audio"]) < 1.0, f"at {seconds:.1f} s: {seen}"


def test_timeline_has_a_clip_per_shot_and_the_films_duration(life):
    plan = load_plan(life / "plan.json", 24)
    timeline = otio.adapters.read_from_file(str(life / "timeline.otio"))
    track = timeline.tracks[0]
    clips = [c for c in track if isinstance(c, otio.schema.Clip)]
    transitions = [t for t in track if isinstance(t, otio.schema.Transition)]
    assert [c.name for c in clips] == [s.id for s in plan.shots]
    assert len(transitions) == sum(1 for s in plan.shots if s.transition.type != "cut")
    assert track.duration().to_frames() == FrameLayout.of(plan, 24).total_frames
    for clip in clips:
        assert (life / clip.media_reference.target_url).is_file()


def test_storyboard_links_every_keyframe_relatively(life):
    class Images(HTMLParser):
        sources: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag in ("img", "audio"):
                self.sources.append(dict(attrs)["src"])

    parser = Images()
    parser.feed((life / "storyboard.html").read_text())
    keyframes = [s for s in parser.sources if "/keyframe/" in s]
    assert len(keyframes) == 30
    plan = load_plan(life / "plan.json", 24)
    said = sum(len(s.dialogue) + bool(s.narration) for s in plan.shots)
    assert len([s for s in parser.sources if "/voice/" in s and s.endswith(".wav")]) == said > 0
    for source in parser.sources:
        assert not source.startswith(("/", "http")), source
        assert (life / source).is_file(), source
    text = (life / "storyboard.html").read_text()
    for domain in ("Character", "Background", "Relation", "Camera", "Lighting"):
        assert text.count(f"<dt>{domain}</dt>") == 30


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not CHROMIUM and not os.environ.get("SCENEGEN_REQUIRE_BROWSER"),
                    reason="no Chromium here (apt-get install chromium); CI installs it and requires this test")
@pytest.mark.browser
def test_storyboard_opens_from_a_moved_copy_in_chromium(life, tmp_path):
    from playwright.sync_api import sync_playwright

    # Moved elsewhere, the page must still find every image: its links are relative.
    copy = tmp_path / "moved"
    shutil.copytree(life, copy)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.goto((copy / "storyboard.html").as_uri())
        # decode() rejects for an image that cannot load; lazy images are asked for now.
        widths = page.evaluate("Promise.all(Array.from(document.images).map(i => {"
                               " i.loading = 'eager'; return i.decode().then(() => i.naturalWidth); }))")
        # Every line's player loads its voice (metadata read: the WAV is found and decodes).
        voices = page.evaluate("Promise.all(Array.from(document.querySelectorAll('audio')).map(a => new Promise("
                               "(ok, fail) => { a.preload = 'auto'; if (a.readyState >= 1) ok(a.duration);"
                               " a.onloadedmetadata = () => ok(a.duration); a.onerror = () => fail(a.src); a.load(); })))")
        title = page.title()
        browser.close()
    # Through the schema: plan.json leaves out what is unset (a shot without narration has no key).
    plan = load_plan(life / "plan.json", 24)
    assert len(widths) == 30 + len(plan.characters) and all(w > 0 for w in widths)
    assert len(voices) == sum(len(s.dialogue) + bool(s.narration) for s in plan.shots) and all(d > 0.3 for d in voices)
    assert title == f"{plan.title} · storyboard"


@pytest.mark.parametrize("options", [[], ["--jobs", "1"]], ids=["before the command line is built", "through typer"])
def test_render_straight_after_recomputes_nothing(life, options):
    before = {p: p.stat().st_mtime_ns for p in life.rglob("*") if p.is_file() and "lock" not in p.name}
    result = scenegen("render", str(life), *options)
    assert result.returncode == 0, result.stderr
    assert "Nothing to do" in result.stdout
    after = {p: p.stat().st_mtime_ns for p in life.rglob("*") if p.is_file() and "lock" not in p.name}
    assert after == before


def test_an_up_to_date_render_does_not_even_import_typer(life):
    probe = f"import sys; sys.argv = ['scenegen', 'render', {str(life)!r}]; " \
            "from scenegen.entry import main; main(); print('typer imported:', 'typer' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "Nothing to do" in result.stdout and "typer imported: False" in result.stdout


def test_burned_captions_sit_in_the_title_safe_band_and_change_when_the_subtitles_do(tmp_path):
    from scenegen.orchestrator.run import Run

    out = tmp_path / "burned"
    result = scenegen("story", "a woman's life", "--shots", "6", "--size", "320x180", "--fps", "12", "--out", str(out),
                      "--burn-captions")
    assert result.returncode == 0, result.stderr
    plain = tmp_path / "plain"
    shutil.copytree(out, plain)
    assert scenegen("render", str(plain), "--no-burn-captions").returncode == 0
    # Only the segments are drawn again: clips and keyframes are the same nodes.
    assert {s.record.key for s in Run(plain).status() if s.node.kind == "clip"} == \
           {s.record.key for s in Run(out).status() if s.node.kind == "clip"}

    def luma(path):
        with av.open(str(path)) as container:
            return [f.to_ndarray(format="yuv420p")[:180].astype(int) for f in container.decode(video=0)]

    burned, clean = luma(out / "film.mp4"), luma(plain / "film.mp4")
    # Drawn pixels (darkened under the band, or white glyphs): all inside the title-safe area, the bottom of it.
    drawn = np.array([np.abs(a - b) > 60 for a, b in zip(burned, clean)]).any(axis=0)
    rows, cols = np.nonzero(drawn)
    assert rows.min() >= 0.5 * 180 and rows.max() < 0.95 * 180 and cols.min() >= 0.05 * 320 and cols.max() < 0.95 * 320
    # The glyphs (bright pixels on the dark band) change exactly where a shot's caption does in the
    # subtitles (lines said are only subtitles: burned in, a re-voiced line would re-encode the picture).
    band = int(rows.min())
    glyphs = [frame[band:] > 200 for frame in burned]
    switches = [n for n in range(1, len(glyphs)) if (glyphs[n] ^ glyphs[n - 1]).mean() > 0.01]
    contexts = {shot.context for shot in load_plan(out / "plan.json", 12).shots}
    assert switches == [round(start * 12) for start, _, text in srt_cues(out / "shots.srt") if text in contexts][1:]
