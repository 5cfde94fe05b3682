"""The timeline in headless Chromium, with a real mouse (CDP input events): three segments drawn by
dragging on the video's waveform (snapped to frames, never overlapping), an audio cropped with its
handles, the job run and its result played; the editor keys; axe-core finds no serious or critical
accessibility violation on the page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.test_browser import ARTIFACTS, browser, choose_files  # noqa: F401

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
ENDED = "['completed','failed','canceled','expired'].includes(document.querySelector('#job').dataset.status)"
FPS = 25
WAVE = "!!document.querySelector('{} div')?.shadowRoot?.querySelector('canvas')"  # a waveform drawn


@pytest.fixture
def editor(browser, local_stack):  # noqa: F811
    browser.watch()
    browser.goto(f"{local_stack.url}/?poll=300")
    browser.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
    yield browser
    assert browser.console_errors(answered=f"{local_stack.url}/api/v1/") == []
    assert browser.csp_violations() == []


def box(page, selector: str) -> dict:
    return page.evaluate(f"""(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();
        return {{x: r.left, y: r.top, width: r.width, height: r.height}}; }})()""")


def drag(page, x1: float, x2: float, y: float) -> None:
    def mouse(kind: str, x: float, **more) -> None:
        page.page("Input.dispatchMouseEvent", type=kind, x=x, y=y, **more)

    mouse("mouseMoved", x1)
    mouse("mousePressed", x1, button="left", buttons=1, clickCount=1)
    for i in range(1, 11):
        mouse("mouseMoved", x1 + (x2 - x1) * i / 10, button="left", buttons=1)
        time.sleep(0.02)
    mouse("mouseReleased", x2, button="left", buttons=0, clickCount=1)
    time.sleep(0.1)


def segments(page) -> list[list]:
    return page.evaluate("""[...document.querySelectorAll('#segments tbody tr')].map(r =>
        ['startTime', 'endTime', 'refId', 'cropStart', 'cropEnd']
            .map(n => r.querySelector(`[name=${n}]`).value))""")


def choose_audio(page, index: int, ref: str) -> None:
    page.evaluate(f"""(() => {{
        const s = document.querySelectorAll('#segments tbody tr')[{index}].querySelector('select');
        s.value = {ref!r}; s.dispatchEvent(new Event('change', {{bubbles: true}})); }})()""")


def test_three_segments_drawn_an_audio_cropped_and_the_result_played(editor, media):
    editor.evaluate("document.querySelector('#segments tbody .remove').click()")  # start from none
    choose_files(editor, media)
    editor.wait_for("document.querySelector('#video-info').textContent.includes('fps')")
    editor.wait_for(WAVE.format("#timeline"), timeout=20)
    t = box(editor, "#timeline")
    at = lambda seconds: t["x"] + t["width"] * seconds / 6.0  # noqa: E731 (the video is 6 s)
    y = t["y"] + t["height"] / 2
    try:
        drag(editor, at(0.3), at(1.8), y)
        drag(editor, at(2.2), at(3.9), y)
        drag(editor, at(4.1), at(5.6), y)
        drag(editor, at(3.0), at(4.5), y)  # grabs the 2nd and moves it right: it stops at the 3rd
        rows = segments(editor)
        assert len(rows) == 3, rows
        for start, end, *_ in rows:
            assert abs(float(start) * FPS - round(float(start) * FPS)) < 1e-6  # on a frame
            assert abs(float(end) * FPS - round(float(end) * FPS)) < 1e-6
        spans = sorted((float(s), float(e)) for s, e, *_ in rows)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # never overlapping
        assert spans[1][1] == spans[2][0] and spans[1][0] > 2.3  # moved, and stopped touching the 3rd
        assert abs(spans[0][0] - 0.3) < 0.1 and abs(spans[2][1] - 5.6) < 0.1
        choose_audio(editor, 0, "a")
        choose_audio(editor, 1, "b")
        choose_audio(editor, 2, "a")
        # the chosen segment's audio, cropped with its right handle to about its first half
        editor.evaluate("document.querySelector('#segments tbody tr input').focus()")
        editor.wait_for("!document.querySelector('#crop').hidden")
        editor.wait_for(WAVE.format("#crop-wave"), timeout=20)
        editor.evaluate("document.querySelector('#crop-wave').scrollIntoView({block: 'center'})")
        c = box(editor, "#crop-wave")
        drag(editor, c["x"] + c["width"] - 2, c["x"] + c["width"] * 0.5, c["y"] + c["height"] / 2)
        crop = segments(editor)[0][3:]
        assert crop[0] == "0" and 0.8 < float(crop[1]) < 1.2, crop  # of a.wav's 2 s
        editor.screenshot(ARTIFACTS / "timeline-drawn-and-cropped.png")
        # the job as it will sound: each segment's audio over the muted video, in turn
        editor.evaluate("document.querySelector('#hear-all').click()")
        for n in ("1", "2", "3"):
            editor.wait_for(f"document.querySelector('#preview').dataset.hearing === '{n}'", timeout=10)
        editor.wait_for("document.querySelector('#preview-video').ended", timeout=10)
        assert editor.evaluate("document.querySelector('#preview').dataset.hearing") == ""
        editor.evaluate("document.querySelector('#submit').click()")
        editor.wait_for(ENDED, timeout=120)
        assert editor.evaluate("document.querySelector('#job').dataset.status") == "completed", \
            editor.evaluate("document.querySelector('#job-error').textContent")
        editor.wait_for("document.querySelector('#result-video').readyState >= 2", timeout=30)
        played = editor.evaluate("""(async () => { const v = document.querySelector('#result-video');
            v.muted = true; await v.play(); await new Promise(r => setTimeout(r, 600)); v.pause();
            return v.currentTime; })()""")
        assert played > 0.3
        assert serious_violations(editor) == []  # the job panel, its result and the history shown
    finally:
        editor.screenshot(ARTIFACTS / "timeline-job-played.png")


def test_editor_keys_set_in_and_out_on_frames(editor, media):
    choose_files(editor, media)
    editor.wait_for("document.querySelector('#video-info').textContent.includes('fps')")
    editor.wait_for("document.querySelector('#preview-video').readyState >= 1")
    editor.evaluate("document.querySelector('#preview').focus()")
    key = lambda k, code: [editor.page("Input.dispatchKeyEvent", type=kind, key=k, code=code)  # noqa: E731
                           for kind in ("keyDown", "keyUp")]
    for _ in range(10):
        key("ArrowRight", "ArrowRight")
    editor.wait_for("Math.abs(document.querySelector('#preview-video').currentTime - 0.4) < 0.02")
    key("i", "KeyI")
    for _ in range(25):
        key("ArrowRight", "ArrowRight")
    editor.wait_for("Math.abs(document.querySelector('#preview-video').currentTime - 1.4) < 0.02")
    key("o", "KeyO")
    assert segments(editor)[0][:2] == ["0.4", "1.4"]
    editor.wait_for("document.querySelector('#timecode').textContent === '00:00:01:10'")  # 1.4 s at 25 fps
    # heard over the video before paying: the segment's audio plays while the muted video runs to its end
    editor.evaluate("""(() => { const s = document.querySelector('#segments select'); s.value = 'a';
        s.dispatchEvent(new Event('change', {bubbles: true})); })()""")
    editor.evaluate("document.querySelector('#hear').click()")
    editor.wait_for("!document.querySelector('#preview-video').paused", timeout=5)
    editor.wait_for("document.querySelector('#preview-video').paused", timeout=10)
    assert editor.evaluate("document.querySelector('#preview-video').currentTime") >= 1.3
    editor.evaluate("document.querySelector('#preview').focus()")
    key("Delete", "Delete")
    assert segments(editor) == []
    at = round(editor.evaluate("document.querySelector('#preview-video').currentTime") * FPS) / FPS
    key("n", "KeyN")  # a new one at the playhead, a second long
    start, end = (float(v) for v in segments(editor)[0][:2])
    assert abs(start - at) < 1e-6 and abs(end - start - 1) < 1e-6


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "; true")  # through CDP: the page's own CSP is untouched
    return page.evaluate("""(async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`))()""")


def test_axe_finds_no_serious_or_critical_violation(editor, media):
    choose_files(editor, media)
    editor.wait_for(WAVE.format("#timeline"), timeout=20)
    assert serious_violations(editor) == []
    editor.evaluate("document.querySelector('#submit').click()")  # with the form's messages shown
    editor.wait_for("document.querySelector('#form-error').textContent !== ''")
    assert serious_violations(editor) == []
