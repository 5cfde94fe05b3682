"""Burnt-in text removal in the page (issue 16): a real mouse drag on the preview draws a text region
(fractions of the picture, letterboxing taken off), listed with editable numbers; "detect text
automatically" adds auto: true; the create request carries textRemoval only when something was chosen,
and the page's checks use the server's wording. No console errors, nothing blocked by the CSP."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import ARTIFACTS, browser, choose_files, fill_segment  # noqa: F401
from tests.e2e.test_browser_speaker import CREATE, create_body

pytestmark = pytest.mark.browser


def picture_box(page) -> list[float]:
    return page.evaluate("""(() => { const v = document.querySelector('#preview-video');
        v.scrollIntoView({block: 'center'}); const r = v.getBoundingClientRect();
        const s = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
        const w = v.videoWidth * s, h = v.videoHeight * s;
        return [r.left + (r.width - w) / 2, r.top + (r.height - h) / 2, w, h]; })()""")


def drag_on_picture(page, start: tuple[float, float], end: tuple[float, float], steps: int = 6) -> None:
    """A real mouse drag (CDP Input events) from fractions `start` to `end` of the preview's picture."""
    box = picture_box(page)
    at = lambda f: (box[0] + f[0] * box[2], box[1] + f[1] * box[3])  # noqa: E731
    x0, y0 = at(start)
    x1, y1 = at(end)
    page.page("Input.dispatchMouseEvent", type="mouseMoved", x=x0, y=y0)
    page.page("Input.dispatchMouseEvent", type="mousePressed", x=x0, y=y0, button="left", buttons=1, clickCount=1)
    for i in range(1, steps + 1):
        x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps
        page.page("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left", buttons=1)
    page.page("Input.dispatchMouseEvent", type="mouseReleased", x=x1, y=y1, button="left", buttons=0, clickCount=1)


def test_a_drag_draws_a_text_region_and_the_request_carries_it(browser, local_stack, media):  # noqa: F811
    page = browser
    page.watch()
    page.goto(f"{local_stack.url}/?poll=300")
    page.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
    assert "text regions" in page.evaluate("document.querySelector('#limits').textContent")
    choose_files(page, media)
    page.wait_for("document.querySelector('#video-info').textContent.includes('fps')")
    page.wait_for("document.querySelector('#preview-video').readyState >= 2", timeout=20)
    fill_segment(page, 0, 0.5, 2.5, "a")
    fill_segment(page, 1, 3, 5, "b", crop=(0.5, 2.5))
    try:
        drag_on_picture(page, (0.1, 0.7), (0.9, 0.9))
        page.wait_for("document.querySelectorAll('#text-regions li').length === 1")
        shown = page.evaluate("""[...document.querySelectorAll('#text-regions li input')]
            .map(i => [i.name, i.value, i.getAttribute('aria-label')])""")
        values = {name: value for name, value, _ in shown}
        assert abs(float(values["x"]) - 0.1) < 0.03 and abs(float(values["height"]) - 0.2) < 0.03
        assert values["startTime"] == values["endTime"] == ""  # the whole video
        assert all(label.startswith("text region 1 ") for _, _, label in shown)
        # the box over the video follows the picture: same place as the drag, in pixels
        box, drawn = picture_box(page), page.evaluate("""(() => { const r = document.querySelector(
            '#text-layer .text-box').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()""")
        assert abs(drawn[0] - (box[0] + 0.1 * box[2])) < 4 and abs(drawn[2] - 0.8 * box[2]) < 4
        # a drag does not set the speaker (a click does)
        assert "not chosen" in page.evaluate("document.querySelector('#speaker-said').textContent")

        # the keyboard way: a second region, its numbers typed; a bad one is refused with the server's words
        page.evaluate("document.querySelector('#text-add').click()")
        page.wait_for("document.querySelectorAll('#text-regions li').length === 2")
        page.evaluate("""(() => { const li = document.querySelectorAll('#text-regions li')[1];
            const set = (n, v) => { const i = li.querySelector(`[name=${n}]`); i.value = v;
                i.dispatchEvent(new Event('input', {bubbles: true})); };
            set('x', '0.5'); set('width', '0.7'); set('startTime', '1'); set('endTime', '99'); })()""")
        page.evaluate("document.querySelector('#submit').click()")
        page.wait_for("document.querySelector('#form-error').textContent.includes('fixing')")
        errors = page.evaluate("[...document.querySelectorAll('#text-regions .error')].map(e => e.textContent)")
        assert "The region passes the frame's right edge (x + width > 1)" in errors
        assert any(e.startswith("EndTime is 99 s but the video is") for e in errors), errors
        assert page.requests(local_stack.url + CREATE) == []  # nothing sent
        page.evaluate("document.querySelectorAll('#text-regions li')[1].querySelector('button').click()")
        page.wait_for("document.querySelectorAll('#text-regions li').length === 1")

        page.evaluate("document.querySelector('#text-auto').click()")
        assert page.evaluate("document.querySelector('#text-auto').checked")
        page.screenshot(ARTIFACTS / "browser-text-regions.png")
        page.evaluate("document.querySelector('#submit').click()")
        page.wait_for("!!document.querySelector('#job').dataset.status", timeout=60)
        body = create_body(page, local_stack)
        text = body["textRemoval"]
        assert text["auto"] is True
        region = text["regions"][0]
        for name, want in (("x", 0.1), ("y", 0.7), ("width", 0.8), ("height", 0.2)):
            assert abs(region[name] - want) <= 0.03, (name, region)
        assert "startTime" not in region and "endTime" not in region
    finally:
        page.screenshot(ARTIFACTS / "browser-text-regions-job.png")
    assert page.console_errors(answered=local_stack.url) == []
    assert page.csp_violations() == []
