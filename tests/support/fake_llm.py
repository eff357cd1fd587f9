"""A fake chat-completions server: OpenAI's protocol answered in-process through an
`httpx2.MockTransport` (the openai SDK's httpx), so fault tests swap the network, not the code.

Its "model" answers every planning call correctly from what the request asks (the
schema's title, item counts and id enum, the shot numbers in the prompt), so a test
states only the faults it wants: a status code, a mutated or cut-off answer, a timeout.
Every request body is recorded for the test to inspect. A command line run in another
process cannot take a client, so `serve()` answers the same way over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import httpx2

CAST = [
    {"id": "mara", "name": "Mara", "description": "A baker who wants to see the sea.",
     "appearance": "long auburn hair, green eyes, fair skin, a red coat"},
    {"id": "tomas", "name": "Tomas", "description": "Her brother, a sailor.",
     "appearance": "short black hair, brown eyes, olive skin, a navy sweater"},
]
PLACES = [
    {"id": "bakery", "name": "Mara's bakery", "description": "A small bakery with flour-dusted counters and warm ovens.",
     "time_of_day": "dawn", "season": "autumn",
     "layout": [{"what": "the shop window", "bearing": 0}, {"what": "the ovens", "bearing": 90},
                {"what": "the back door", "bearing": 180}]},
    {"id": "coastal-road", "name": "The coastal road", "description": "A coastal road lined with pines above the sea.",
     "time_of_day": "golden_hour", "season": None,
     "layout": [{"what": "the road running on", "bearing": 0}, {"what": "the sea below", "bearing": 90},
                {"what": "the pines", "bearing": -90}]},
]
BACKGROUNDS = {"bakery": "the bakery's warm front room, flour in the air",
               "coastal-road": "a coastal road lined with pines"}
SIZES = ["wide", "medium", "close_up", "medium_close", "full", "extreme_wide"]
MOVES = ["static", "dolly_in", "pan_left", "tilt_up", "zoom_in", "truck_right", "orbit_left"]


@dataclass
class Fault:
    stage: str                      # schema title: "Outline", "PreShots", "ShotBatch"
    status: int | None = None       # answer with this HTTP status instead
    mutate: Callable[[dict], None] | None = None   # change the correct answer before sending it
    truncate: bool = False          # send half the answer with finish_reason "length"
    timeout: bool = False           # no answer in time: the transport raises a read timeout
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "scripted failure"


class FakeLLM:
    # .invalid never resolves (RFC 2606): a request that missed the transport fails to connect.
    url = "http://llm.invalid/v1"

    def __init__(self, faults: list[Fault] | None = None, reject_json_schema: bool = False):
        self.faults = list(faults or [])
        self.reject_json_schema = reject_json_schema
        self.requests: list[dict] = []
        self.timeouts: list[dict | None] = []   # each request's, as the SDK gave them to the transport (None via serve)
        self._lock = threading.Lock()

    def client(self) -> httpx2.Client:
        """An HTTP client for `LLMPlanner(..., http_client=)` whose requests this fake answers."""
        return httpx2.Client(transport=httpx2.MockTransport(self.answer))

    def stages(self) -> list[str]:
        return [stage_of(r) for r in self.requests]

    def take_fault(self, stage: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self.faults):
                if fault.stage == stage:
                    return self.faults.pop(i)
        return None

    def answer(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        self.timeouts.append(request.extensions.get("timeout"))
        if self.reject_json_schema and body["response_format"]["type"] == "json_schema":
            # What llama-cpp-python's server answers to OpenAI's strict structured outputs.
            return httpx2.Response(500, json={"error": {"message": "Input should be 'text' or 'json_object'",
                                                        "type": "server_error"}})
        fault = self.take_fault(stage_of(body))
        if fault and fault.timeout:
            raise httpx2.ReadTimeout("scripted stall", request=request)
        if fault and fault.status:
            return httpx2.Response(fault.status, json={"error": {"message": fault.message, "type": "error"}},
                                   headers=fault.headers)
        answer = correct_answer(body)
        if fault and fault.mutate:
            fault.mutate(answer)
        text, finish = json.dumps(answer), "stop"
        if fault and fault.truncate:
            text, finish = text[: len(text) // 2], "length"
        return httpx2.Response(200, json={
            "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })

    @contextmanager
    def serve(self) -> Iterator[str]:
        """The base URL of a real HTTP server on 127.0.0.1 that answers as `answer` does."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"llm": self}))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/v1"
        finally:
            server.shutdown()
            server.server_close()


def schema_of(body: dict) -> dict:
    fmt = body["response_format"]
    return fmt["json_schema"]["schema"] if fmt["type"] == "json_schema" else fmt["schema"]


def stage_of(body: dict) -> str:
    return schema_of(body)["title"]


def correct_answer(body: dict) -> dict:
    schema = schema_of(body)
    stage = schema["title"]
    prompt = body["messages"][1]["content"]
    if stage == "Outline":
        return {"title": "The Sea at Last", "logline": "Mara leaves her bakery to find the sea.",
                "style": "warm painterly film", "music": "hopeful",
                "characters": [{**c, "voice": voice} for c, voice in zip(CAST, ("feminine", "masculine"))],
                "locations": copy.deepcopy(PLACES),   # a fault may change its answer, never the next one
                "acts": [{"name": n, "summary": f"The {n.lower()} of Mara's journey."} for n in ("Setup", "Journey", "Arrival")]}
    if stage == "PreShots":
        count = schema["properties"]["sentences"]["minItems"]
        return {"sentences": [f"Mara takes step {i + 1} toward the sea." for i in range(count)]}
    first, last, total = map(int, re.search(r"shots (\d+) to (\d+) of (\d+)", prompt).groups())
    ids = schema["$defs"]["ShotSpec"]["properties"]["characters"]["items"]["enum"]
    places = schema["$defs"]["ShotSpec"]["properties"]["location"]["enum"]
    shots = []
    for n in range(first, last + 1):
        scene_end = n % 4 == 0 and n != total
        place = places[0] if n <= total // 3 else places[-1]   # the film opens in the bakery, then takes the road
        shots.append({
            "characters": ids[: 1 + n % 2],
            "character": "Mara in her red coat, walking with purpose",
            "location": place,
            "background": BACKGROUNDS.get(place, "a coastal road lined with pines"),
            "relation": "Mara ahead, Tomas a step behind her" if n % 2 else "Mara alone in the frame",
            "camera": {"shot_size": SIZES[n % len(SIZES)], "angle": "eye_level", "movement": MOVES[n % len(MOVES)],
                       "movement_amount": 0.5, "fov_deg": 50,
                       # Shot 3 of each four answers shot 1 from the other side.
                       "bearing": 180 if n % 4 == 3 else 0, "text": "a steady camera at eye level"},
            # ... and says so: its grammar, and the id of the shot it answers.
            "grammar": "shot_reverse_shot" if n % 4 == 3 else None,
            "partner": f"s{n - 2:0{max(2, len(str(total)))}d}" if n % 4 == 3 else None,
            "lighting": {"time_of_day": "golden_hour", "key_light": "left", "color_temperature_k": 3200,
                         "contrast": "medium", "mood": "hopeful", "text": "warm low sun from the left"},
            "duration": 3.0,
            "transition": {"type": "dissolve", "duration": 0.5} if scene_end else {"type": "cut", "duration": 0.0},
            # Words in some shots, more than 3 s can hold in the first: the planner must lengthen it.
            "narration": "Mara had never seen the sea, and she had dreamed of it every night." if n == 1 else None,
            "dialogue": [{"speaker": ids[0], "text": "Not far now."}] if n % 3 == 2 else [],
            "music": "enter" if n % 4 == 1 and n > 1 else "swell" if n == total - 1 else "continue",
        })
    return {"shots": shots}


class _Handler(BaseHTTPRequestHandler):
    llm: FakeLLM

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        content = self.rfile.read(int(self.headers["Content-Length"]))
        response = self.llm.answer(httpx2.Request("POST", self.path, content=content))
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.content)
