"""Speaker selection in the page (issue 17): a real mouse click on the face in the preview sets the
speaker point (fractions of the picture, at the frame shown), for the job and for a segment; the create
request carries it, and Sync.so (the emulator) is asked for that frame and pixel."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.test_browser import ARTIFACTS, browser, choose_files, fill_segment  # noqa: F401

pytestmark = pytest.mark.browser

CREATE = "/api/v1/sync/pro-sync-process"


def click_on_picture(page, fx: float, fy: float) -> None:
    """A real mouse click (CDP Input events) at fractions (fx, fy) of the preview's picture."""
    box = page.evaluate("""(() => { const v = document.querySelector('#preview-video');
        v.scrollIntoView({block: 'center'}); const r = v.getBoundingClientRect();
        const s = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
        const w = v.videoWidth * s, h = v.videoHeight * s;
        return [r.left + (r.width - w) / 2, r.top + (r.height - h) / 2, w, h]; })()""")
    x, y = box[0] + fx * box[2], box[1] + fy * box[3]
    for kind in ("mousePressed", "mouseReleased"):
        page.page("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


def seek(page, seconds: float) -> None:
    page.evaluate(f"""(async () => {{ const v = document.querySelector('#preview-video');
        v.pause(); v.currentTime = {seconds};
        await new Promise(r => v.addEventListener('seeked', r, {{once: true}})); }})()""")


def create_body(page, stack) -> dict:
    for event in page.drain():
        request = event.get("params", {}).get("request", {})
        if (event.get("method") == "Network.requestWillBeSent" and request.get("method") == "POST"
                and request.get("url", "").startswith(stack.url + CREATE)):
            return json.loads(request["postData"])
    raise AssertionError("no create request was sent")


def test_a_click_on_the_face_sets_the_speaker_and_the_request_carries_it(browser, local_stack, media):  # noqa: F811
    page = browser
    page.watch()
    page.goto(f"{local_stack.url}/?poll=300")
    page.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
    choose_files(page, media)
    page.wait_for("document.querySelector('#video-info').textContent.includes('fps')")
    page.wait_for("document.querySelector('#preview-video').readyState >= 2", timeout=20)
    fill_segment(page, 0, 0.5, 2.5, "a")
    fill_segment(page, 1, 3, 5, "b", crop=(0.5, 2.5))
    try:
        seek(page, 1.0)
        click_on_picture(page, 0.5, 0.25)  # the job's speaker
        page.wait_for("document.querySelector('#speaker-said').textContent.includes('50 % across')")
        assert not page.evaluate("document.querySelector('#speaker-marker').hidden")
        page.evaluate("""(() => { const s = document.querySelector('#speaker-for'); s.value = 'segment';
            const k = document.querySelector('#preview-segment'); k.value = '1';
            k.dispatchEvent(new Event('change')); s.dispatchEvent(new Event('change')); })()""")
        seek(page, 4.0)
        click_on_picture(page, 0.75, 0.5)  # segment 2's speaker
        page.wait_for("document.querySelector('#speaker-said').textContent.includes('segment 2')")
        page.screenshot(ARTIFACTS / "browser-speaker-point.png")
        page.evaluate("document.querySelector('#submit').click()")
        page.wait_for("!!document.querySelector('#job').dataset.status", timeout=60)
        body = create_body(page, local_stack)
        speaker = body["options"]["speaker"]
        assert speaker["time"] == 1.0 and abs(speaker["x"] - 0.5) < 0.01 and abs(speaker["y"] - 0.25) < 0.01
        assert "speaker" not in body["segments"][0]
        second = body["segments"][1]["speaker"]
        assert second["time"] == 4.0 and abs(second["x"] - 0.75) < 0.01 and abs(second["y"] - 0.5) < 0.01
        assert "active_speaker_detection" not in body["options"]
        page.wait_for("['completed','failed'].includes(document.querySelector('#job').dataset.status)", timeout=120)
        assert page.evaluate("document.querySelector('#job').dataset.status") == "completed"
        emulator = local_stack.sync_api_base_url.rstrip("/")
        asked = httpx.get(f"{emulator}/_emulator/generations", timeout=10).json()["generations"][-1]
        # 320x240 at 25 fps: 1.0 s is frame 25, (0.5, 0.25) is pixel (160, 60); the segment's, in its override
        job = asked["options"]["active_speaker_detection"]  # (a click lands within a pixel of the aim)
        assert (job["auto_detect"], job["frame_number"]) == (False, 25)
        assert abs(job["coordinates"][0] - 160) <= 2 and abs(job["coordinates"][1] - 60) <= 2
        override = asked["segments"][1]["optionsOverride"]["active_speaker_detection"]
        assert override["frame_number"] == 100 and abs(override["coordinates"][0] - 240) <= 2
        assert abs(override["coordinates"][1] - 120) <= 2
    finally:
        page.screenshot(ARTIFACTS / "browser-speaker-job.png")
    assert page.csp_violations() == []
