"""Plans broken one JSON path at a time: the values that can never be valid there."""

from hypothesis import strategies as st

# Each JSON path of a plan with values that can never be valid there.
NOT_TEXT = st.sampled_from([[], {}, None, 3.5, True])
NOT_ENUM = st.text(max_size=10).map(lambda s: "not-" + s)
BAD_IDS = st.sampled_from(["../escape", "a/b", "..", "/etc", "UPPER", "with space", "", "x" * 41, "é"])
BROKEN = {
    "title": NOT_TEXT,
    "shots.{i}.character": NOT_TEXT,
    "shots.{i}.duration": st.sampled_from(["long", [], None, {}, -1, 0, 1e9, float("inf"), 10_000]),
    "shots.{i}.camera": st.sampled_from(["wide", 3, [], None]),
    "shots.{i}.camera.fov_deg": st.sampled_from([-1, 0, 1e9, float("inf"), "wide"]),
    "shots.{i}.camera.shot_size": NOT_ENUM,
    "shots.{i}.camera.movement": NOT_ENUM,
    "shots.{i}.lighting.time_of_day": NOT_ENUM,
    "shots.{i}.lighting.mood": NOT_ENUM,
    "shots.{i}.lighting.color_temperature_k": st.sampled_from(["warm", [], None, 3.5, -6500, 10**9]),
    "shots.{i}.transition.type": NOT_ENUM,
    "shots.{i}.transition.duration": st.sampled_from([-1, -0.5, 1e9, float("inf"), 10_000, "short"]),
    "shots.{i}.characters": st.sampled_from(["mara", 3, None]),
    "shots.{i}.characters.0": BAD_IDS,
    "shots.{i}.id": BAD_IDS,
    "characters": st.sampled_from(["cast", 3, None]),
    "characters.0.id": BAD_IDS,
    "seed": st.sampled_from(["x", -1, [], 3.5]),
    "logline": NOT_TEXT,
    "shots.{i}.index": st.sampled_from([0, -1, 99, "first", None]),
    "shots.{i}.seed": st.sampled_from([-1, "x", 1.5, []]),
    "shots.{i}.transition": st.sampled_from(["cut", 3, []]),
    "shots.{i}.unknown_field": st.sampled_from(["x", 1, None]),
    "characters.0.name": st.sampled_from(["", None, "x" * 81]),
}


def mutations():
    """(JSON path, shot number, a value that cannot stand there)."""
    return st.sampled_from(sorted(BROKEN)).flatmap(
        lambda path: st.tuples(st.just(path), st.integers(0, 5), BROKEN[path]))


def set_path(plan: dict, dotted: str, value) -> str:
    """Put `value` at a dotted path; return the path as error messages write it: shots[3].camera."""
    parts = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    target = plan
    for part in parts[:-1]:
        target = target[part]
    if isinstance(target, list) and len(target) <= parts[-1]:
        target.append(value)
        parts[-1] = len(target) - 1
    else:
        target[parts[-1]] = value
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(parts))
