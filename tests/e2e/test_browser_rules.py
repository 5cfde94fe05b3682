"""The page's rules (web/rules.js, in Chromium) against the server's (prosync.validation): for each
invalid job, the same fields are at fault with the same message (the server's as the page shows it:
rows 1-based, sizes in MiB), at create and at start."""

from __future__ import annotations

import json

import pytest

from prosync.errors import ProSyncError
from prosync.models import ProSyncProcessRequest, SegmentRequest
from prosync.settings import TierSettings
from prosync.validation import validate_create, validate_media
from tests.e2e.test_browser import browser  # noqa: F401

pytestmark = pytest.mark.browser

PRO = TierSettings().pro
MiB = 1 << 20
AUDIOS = [("intro", "intro.wav", 500_000, 2.0), ("outro", "outro.mp3", 200_000, 2.0)]
TWO = [(0, 2, "intro"), (2, 4, "outro")]
CASES = {  # name: (segments as (start, end, ref[, (crop start, crop end)]), overrides)
    "overlap": ([(0, 3, "intro"), (2, 4, "outro")], {}),
    "end before start": ([(2, 1, "intro"), (3, 4, "outro")], {}),
    "negative start": ([(-1, 1, "intro"), (1, 2, "outro")], {}),
    "half a crop": ([(0, 1, "intro", (0.5, None)), (1, 2, "outro")], {}),
    "crop backwards": ([(0, 1, "intro", (1, 0.5)), (1, 2, "outro")], {}),
    "unused audio": ([(0, 1, "intro")], {}),
    "bad refId": ([(0, 1, "bad id!"), (1, 2, "outro")], {"refs": ["bad id!", "outro"]}),
    "refId twice": ([(0, 1, "intro"), (1, 2, "intro")], {"refs": ["intro", "intro"]}),
    "too many segments": ([(i / 2, i / 2 + 0.5, "intro" if i else "outro") for i in range(6)], {}),
    "too much speech": ([(0, 1, "intro", (0, 301)), (1, 2, "outro")], {"durations": False}),
    "temperature": (TWO, {"temperature": 2}),
    "output name": (TWO, {"output": "a.b"}),
    "video too large": (TWO, {"video_size": PRO.max_video_bytes + 3 * MiB}),
    "audio too large": (TWO, {"audio_size": PRO.max_audio_bytes + MiB}),
    "past the video": ([(0, 2, "intro"), (2, 9, "outro")], {"start": True}),
    "past the audio": ([(0, 2, "intro", (0.5, 3)), (2, 4, "outro")], {"start": True}),
    "long audio": (TWO, {"start": True, "long": 301.0}),
}


def server_problems(segments, o) -> dict[str, str]:
    refs = o.get("refs", [a[0] for a in AUDIOS])
    types = {"wav": "audio/wav", "mp3": "audio/mpeg"}
    audios = [{"refId": r, "fileName": name, "contentType": types[name[-3:]],
               "size": o.get("audio_size", size)} for r, (_, name, size, _) in zip(refs, AUDIOS)]
    video = {"fileName": "talk.mp4", "contentType": "video/mp4", "size": o.get("video_size", 1000)}
    request = {"video": video, "audios": audios, "segments": [wire(s) for s in segments], "options": {}}
    if "temperature" in o:
        request["options"]["temperature"] = o["temperature"]
    if "output" in o:
        request["outputFileName"] = o["output"]
    try:
        if o.get("start"):
            durations = {"intro": o.get("long", 2.0), "outro": 2.0}
            segs = [SegmentRequest.model_validate(s) for s in request["segments"]]
            validate_media(segs, 4.0, durations, 300)
        else:
            validate_create(ProSyncProcessRequest.model_validate(request), PRO, 300)
    except ProSyncError as exc:
        return {".".join(str(p) for p in d["loc"] if p != "body"): d["msg"] for d in exc.details}
    return {}


def wire(segment) -> dict:
    start, end, ref, *crop = segment
    audio = {"refId": ref}
    if crop:
        audio.update({k: v for k, v in zip(("startTime", "endTime"), crop[0]) if v is not None})
    return {"startTime": start, "endTime": end, "audioInput": audio}


def page_state(segments, o) -> dict:
    refs = o.get("refs", [a[0] for a in AUDIOS])
    durations = o.get("durations", True)
    audios = [{"key": i + 1, "refId": r, "file": {"name": name, "size": o.get("audio_size", size)},
               "duration": (o.get("long", d) if r == "intro" else d) if durations else None}
              for i, (r, (_, name, size, d)) in enumerate(zip(refs, AUDIOS))]
    key = {a["refId"]: a["key"] for a in reversed(audios)}  # the first audio of a refId
    rows = [{"start": s[0], "end": s[1], "audio": key.get(s[2]), "audioRemoved": False,
             "cropStart": s[3][0] if len(s) > 3 else None, "cropEnd": s[3][1] if len(s) > 3 else None}
            for s in segments]
    return {"video": {"file": {"name": "talk.mp4", "size": o.get("video_size", 1000)}, "duration": 4.0},
            "audios": audios, "segments": rows,
            "options": {"temperature": o.get("temperature"), "outputName": o.get("output", "")}}


@pytest.mark.parametrize("case", list(CASES))
def test_the_page_finds_what_the_server_finds_with_its_words(browser, local_stack, case):  # noqa: F811
    if not browser.evaluate("location.href").startswith(local_stack.url):
        browser.goto(f"{local_stack.url}/?poll=300")
    segments, overrides = CASES[case]
    server = server_problems(segments, overrides)
    assert server, "the case must be invalid for the server"
    limits = {"canCreateJobs": True, "activeJobs": 0, "awaitingUploadJobs": 0,
              "limits": {"maxSegments": PRO.max_segments, "maxVideoBytes": PRO.max_video_bytes,
                         "maxAudioBytes": PRO.max_audio_bytes, "maxActiveJobs": PRO.max_active_jobs,
                         "maxAwaitingUpload": PRO.max_awaiting_upload, "maxSpeechSecondsPerSegment": 300}}
    found = browser.evaluate(f"""(async () => {{
        const {{ check }} = await import('/rules.js');
        const {{ humanize }} = await import('/messages.js');
        const page = check({json.dumps(page_state(segments, overrides))}, {json.dumps(limits)});
        const server = {json.dumps(server)};
        return {{
            page: Object.fromEntries(page.map(p => [p.loc.join('.'), p.msg])),
            server: Object.fromEntries(Object.entries(server)
                .map(([loc, msg]) => [loc, humanize(msg, loc.split('.'))])),
        }}; }})()""")
    assert found["page"] == found["server"]
