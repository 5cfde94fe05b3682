"""The editor page in headless Chromium against the running local stack: every rule checked before a
byte is sent (counted from the page's own requests over CDP), a refused start fixed and started again
with the same uploads, the history and a #job= link surviving a reload, a stranded job canceled (asked
first), the free plan told before anything is filled, the page at 390 px wide, no console error."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_browser import ARTIFACTS, browser, choose_files, fill_segment  # noqa: F401

pytestmark = pytest.mark.browser

CREATE = "/api/v1/sync/pro-sync-process"
ENDED = "['completed','failed','canceled','expired'].includes(document.querySelector('#job').dataset.status)"
# A file whose duration the browser cannot read (as for a codec it lacks): only the server can check it.
NO_DURATION = ("Object.defineProperty(HTMLMediaElement.prototype, 'duration', "
               "{get() { return NaN; }, configurable: true}); true")


@pytest.fixture
def editor(browser, local_stack):  # noqa: F811
    browser.watch()
    browser.goto(f"{local_stack.url}/?poll=300")
    browser.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
    yield browser
    assert browser.console_errors(answered=f"{local_stack.url}/api/v1/") == []  # its 4xx: shown in the page
    assert browser.csp_violations() == []


def uploads(page, stack) -> int:
    return len(page.requests(stack.aws_endpoint_url))


def text(page, selector: str) -> str:
    return page.evaluate(f"document.querySelector({selector!r}).textContent")


def messages(page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('#job-form .error')]"
                         ".map(e => e.textContent).filter(Boolean)")


def test_a_segment_past_the_videos_end_is_refused_before_any_upload(editor, local_stack, media):
    choose_files(editor, media)
    editor.wait_for("document.querySelector('#video-info').textContent.includes('fps')")
    fill_segment(editor, 0, 0.5, 2.5, "a", crop=(0.5, 3))
    fill_segment(editor, 1, 3, 7, "b")
    editor.evaluate("document.querySelector('#submit').click()")
    try:
        editor.wait_for("!!document.querySelector('[data-loc=\"segments.1.endTime\"].invalid')")
        assert "the video is 6.00 s long" in text(editor, '[data-loc="segments.1.endTime"] .error')
        assert "Crop ends at 3 s but audio 'a' is 2.00 s long" in text(
            editor, '[data-loc="segments.0.audioInput.endTime"] .error')
        found = messages(editor)
        assert len(found) == 3, found  # each once, at its field (+ the count under the form)
        assert sum("video is 6.00 s" in m for m in found) == 1
        assert not any("_" in m.split(" ")[0] or "422" in m for m in found)  # no internal codes
        assert uploads(editor, local_stack) == 0
        assert editor.requests(local_stack.url + CREATE) == []
        assert editor.evaluate("document.querySelector('#job').hidden")
    finally:
        editor.screenshot(ARTIFACTS / "editor-past-video-end.png")


def test_file_types_and_ref_ids_are_told_as_people_know_them(editor, local_stack, media, tmp_path):
    odd = tmp_path / "talk.mkv"
    odd.write_bytes(media["video"].read_bytes())
    editor.set_files("#video-file", [odd])
    editor.set_files("#audio-files", [media["a"]])
    editor.wait_for("document.querySelectorAll('#audios tbody tr').length === 1")
    editor.evaluate("""(() => { const i = document.querySelector('#audios input[name=refId]');
        i.value = 'bad id!'; i.dispatchEvent(new Event('input', {bubbles: true})); })()""")
    fill_segment(editor, 0, 0, 1, "")
    editor.evaluate("document.querySelector('#submit').click()")
    editor.wait_for("!!document.querySelector('[data-loc=\"video.fileName\"].invalid')")
    assert "MP4, MOV, WebM or AVI" in text(editor, '[data-loc="video.fileName"] .error')
    assert "1-64 characters" in text(editor, '[data-loc="audios.0.refId"] .error')
    # no `pattern` Chromium's v-flag compilation rejects (it would be ignored, with a console error)
    assert editor.evaluate("""[...document.querySelectorAll('[pattern]')].every(e => {
        try { new RegExp(`^(?:${e.pattern})$`, 'v'); return true; } catch { return false; } })""")
    assert uploads(editor, local_stack) == 0


def test_a_refused_start_is_fixed_and_started_again_with_the_same_uploads(editor, local_stack, media):
    editor.evaluate(NO_DURATION)
    choose_files(editor, media)
    fill_segment(editor, 0, 0.5, 2.5, "a")
    fill_segment(editor, 1, 3, 9, "b")
    editor.evaluate("document.querySelector('#submit').click()")
    try:
        editor.wait_for("!!document.querySelector('[data-loc=\"segments.1.endTime\"].invalid')", timeout=30)
        assert "video is 6.00 s long" in text(editor, '[data-loc="segments.1.endTime"] .error')
        assert "upload_invalid" not in editor.evaluate("document.body.textContent")
        assert uploads(editor, local_stack) == 3
        assert text(editor, "#submit") == "Start again with the uploaded files"
        editor.screenshot(ARTIFACTS / "editor-start-refused.png")
        fill_segment(editor, 1, 3, 5, "b")
        editor.evaluate("document.querySelector('#submit').click()")
        editor.wait_for(ENDED, timeout=120)
        assert editor.evaluate("document.querySelector('#job').dataset.status") == "completed"
        assert uploads(editor, local_stack) == 3  # 0 new upload requests
        assert len(editor.requests(local_stack.url + CREATE)) == 1
        editor.wait_for("document.querySelector('#result-video').readyState >= 2", timeout=30)
        assert editor.evaluate("document.querySelector('#result-video').currentTime") > 0  # a frame, not 0:00
        job_id = text(editor, "#job-id")
        assert editor.evaluate("location.hash") == f"#job={job_id}"
        # a reload reopens the job where it is, and lists it in the history
        editor.page("Page.reload")
        editor.wait_for(f"!!document.querySelector('#history-list li[data-job=\"{job_id}\"]')", timeout=20)
        editor.wait_for("document.querySelector('#job').dataset.status === 'completed'", timeout=20)
        assert text(editor, "#job-id") == job_id
        assert editor.evaluate("!document.querySelector('#result').hidden")
        listed = f"document.querySelector('#history-list li[data-job=\"{job_id}\"]')"
        assert editor.evaluate(f"{listed}.dataset.status") == "completed"
        assert editor.evaluate(f"{listed}.querySelector('a.download').href").startswith("http")
    finally:
        editor.screenshot(ARTIFACTS / "editor-restarted-and-reloaded.png")


def test_a_stranded_job_is_canceled_after_asking(editor, media):
    editor.evaluate(NO_DURATION)
    choose_files(editor, media)
    fill_segment(editor, 0, 0.5, 2.5, "a")
    fill_segment(editor, 1, 3, 9, "b")
    editor.evaluate("document.querySelector('#submit').click()")
    editor.wait_for("!!document.querySelector('[data-loc=\"segments.1.endTime\"].invalid')", timeout=30)
    editor.evaluate("document.querySelector('#cancel').click()")
    assert editor.evaluate("!document.querySelector('#cancel-confirm').hidden")
    assert editor.evaluate("document.querySelector('#job').dataset.status") == "awaiting_upload"  # asked only
    editor.evaluate("document.querySelector('#cancel-yes').click()")
    editor.wait_for("document.querySelector('#job').dataset.status === 'canceled'")
    assert editor.evaluate("document.querySelector('#job-progress').value") < 100  # not a full bar
    assert text(editor, "#submit") == "Create job and upload"  # its uploads are gone with it
    job_id = text(editor, "#job-id")
    listed = f"document.querySelector('#history-list li[data-job=\"{job_id}\"]')"
    editor.wait_for(f"{listed}?.dataset.status === 'canceled'")
    editor.screenshot(ARTIFACTS / "editor-canceled.png")


def test_the_free_plan_is_told_before_anything_is_filled(editor):
    editor.evaluate("document.querySelector('#dev-tokens [data-tier=free]').click()")
    editor.wait_for("!document.querySelector('#plan-notice').hidden")
    assert "Pro or Enterprise" in text(editor, "#plan-notice")
    assert editor.evaluate("document.querySelector('#job-fields').disabled")
    editor.screenshot(ARTIFACTS / "editor-free-plan.png")


def test_390_px_wide_without_horizontal_scroll(editor, local_stack, media):
    editor.page("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=1, mobile=True)
    try:
        editor.goto(f"{local_stack.url}/?poll=300")
        editor.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
        choose_files(editor, media)
        for i in range(3):
            fill_segment(editor, i, i * 2, i * 2 + 1.5, "a" if i != 1 else "b", crop=(0, 1.5))
        fill_segment(editor, 2, 4, 9, "a")  # past the video's end: refused in the page, its message shown
        editor.evaluate("document.querySelector('#submit').click()")
        editor.wait_for("!!document.querySelector('[data-loc=\"segments.2.endTime\"].invalid')")
        editor.wait_for("!document.querySelector('#preview').hidden")
        assert uploads(editor, local_stack) == 0
        width = editor.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], width
        unlabelled = editor.evaluate("""[...document.querySelectorAll('input, select, button')].filter(e =>
            !e.labels?.length && !e.getAttribute('aria-label') && !e.textContent.trim())
            .map(e => e.id || e.name)""")
        assert unlabelled == []
    finally:
        editor.screenshot(ARTIFACTS / "editor-390px.png")
        editor.page("Emulation.clearDeviceMetricsOverride")


def test_removing_an_audio_never_switches_a_segment_to_another(editor, local_stack, media):
    choose_files(editor, media)
    fill_segment(editor, 0, 0, 2, "b")
    editor.evaluate("document.querySelector('#audios tr[data-ref=b] button').click()")
    editor.wait_for("document.querySelectorAll('#audios tbody tr').length === 1")
    assert editor.evaluate("document.querySelector('#segments select').value") == ""  # not 'a'
    editor.evaluate("document.querySelector('#submit').click()")
    editor.wait_for("!!document.querySelector('[data-loc=\"segments.0.audioInput.refId\"].invalid')")
    assert "removed" in text(editor, '[data-loc="segments.0.audioInput.refId"] .error')
    assert uploads(editor, local_stack) == 0


def test_the_history_pages_through_older_jobs(editor, local_stack):
    with httpx.Client(base_url=local_stack.url, timeout=30) as http:
        token = http.get("/dev/token", params={"tier": "pro"}).json()["token"]
        auth = {"authorization": f"Bearer {token}"}
        body = {"video": {"fileName": "v.mp4", "contentType": "video/mp4", "size": 1000},
                "audios": [{"refId": "a", "fileName": "a.wav", "contentType": "audio/wav", "size": 1000}],
                "segments": [{"startTime": 0, "endTime": 1, "audioInput": {"refId": "a"}}]}
        for i in range(11):  # created and canceled: never more awaiting uploads than the plan allows
            created = http.post("/api/v1/sync/pro-sync-process", json={**body, "outputFileName": f"page_{i}"},
                                headers=auth)
            assert created.status_code == 201, created.text
            job_id = created.json()["jobId"]
            assert http.post(f"/api/v1/sync/pro-job/{job_id}/cancel", headers=auth).status_code == 202
    editor.evaluate("document.querySelector('#history-refresh').click()")
    editor.wait_for("document.querySelector('#history-list li')?.textContent.includes('page_10')")
    assert editor.evaluate("document.querySelectorAll('#history-list li').length") == 10
    assert editor.evaluate("!document.querySelector('#history-more').hidden")
    editor.evaluate("document.querySelector('#history-more').click()")
    editor.wait_for("document.querySelectorAll('#history-list li').length > 10")
    names = editor.evaluate("[...document.querySelectorAll('#history-list a.open')].map(a => a.textContent)")
    ids = editor.evaluate("[...document.querySelectorAll('#history-list li')].map(li => li.dataset.job)")
    assert len(ids) == len(set(ids)) and any("page_0" in n for n in names)
