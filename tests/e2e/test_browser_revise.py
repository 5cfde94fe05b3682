"""Edit and re-sync in the page (issue 17) against the running local stack: a 2-segment job completes,
"Edit and re-sync" on its history row loads its segments into the revision editor, one segment gets a
new audio file, "Re-sync changed segments" sends POST /revise with that segment changed (and an
Idempotency-Key), exactly one upload goes to S3 (the new audio; the parent's stay), the revision is
started and followed in the job panel until it completes, the saving is shown, and its history row links
to the parent. No console error, no CSP violation."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_browser import ARTIFACTS, browser, choose_files, fill_segment  # noqa: F401

pytestmark = pytest.mark.browser

ENDED = "['completed','failed','canceled','expired'].includes(document.querySelector('#job').dataset.status)"


def posted(page, url_prefix: str) -> list[dict]:
    """The POST requests (url, headers, body) the page sent to url_prefix."""
    return [{"url": e["params"]["request"]["url"], "headers": e["params"]["request"].get("headers", {}),
             "body": json.loads(e["params"]["request"].get("postData") or "null")}
            for e in page.drain()
            if e.get("method") == "Network.requestWillBeSent"
            and e["params"]["request"]["method"] == "POST"
            and e["params"]["request"]["url"].startswith(url_prefix)]


def test_edit_and_resync_one_segment_with_a_new_audio(browser, local_stack, media):  # noqa: F811
    page = browser
    page.watch()
    page.goto(f"{local_stack.url}/?poll=300")
    page.wait_for("document.querySelector('#limits').textContent.includes('Tier pro')", timeout=20)
    choose_files(page, media)
    page.wait_for("document.querySelector('#video-info').textContent.includes('fps')")
    fill_segment(page, 0, 0.5, 2.5, "a")
    fill_segment(page, 1, 3, 5, "b", crop=(0.5, 2.5))
    page.evaluate("document.querySelector('#submit').click()")
    try:
        page.wait_for(ENDED, timeout=120)
        assert page.evaluate("document.querySelector('#job').dataset.status") == "completed"
        parent = page.evaluate("document.querySelector('#job-id').textContent")
        row = f"document.querySelector('#history-list li[data-job=\"{parent}\"]')"
        page.wait_for(f"!!{row} && !!{row}.querySelector('button.revise')", timeout=20)
        assert len(page.requests(local_stack.aws_endpoint_url)) == 3  # the parent's video and two audios

        page.evaluate(f"{row}.querySelector('button.revise').click()")
        page.wait_for("document.querySelectorAll('#revise-segments tbody tr').length === 2", timeout=20)
        assert page.evaluate("document.querySelector('#revise').dataset.parent") == parent
        assert parent[:8] in page.evaluate("document.querySelector('#revise-title').textContent")
        loaded = page.evaluate("""[...document.querySelectorAll('#revise-segments tbody tr')].map(r =>
            ['startTime','endTime','refId','cropStart','cropEnd'].map(n => r.querySelector(`[name=${n}]`).value))""")
        assert loaded == [["0.5", "2.5", "a", "", ""], ["3", "5", "b", "0.5", "2.5"]]
        # the second segment's audio becomes a new file (its crop cleared: the new tone is 1.5 s)
        page.set_files("#revise-audio-files", [media["c"]])
        page.wait_for("document.querySelectorAll('#revise-audios li').length === 3")
        page.evaluate("""(() => { const r = document.querySelectorAll('#revise-segments tbody tr')[1];
            const s = r.querySelector('[name=refId]'); s.value = 'c';
            s.dispatchEvent(new Event('change', {bubbles: true}));
            for (const n of ['cropStart', 'cropEnd']) { const i = r.querySelector(`[name=${n}]`); i.value = '';
              i.dispatchEvent(new Event('input', {bubbles: true})); } })()""")
        page.evaluate("document.querySelector('#revise-submit').click()")
        page.wait_for("!!document.querySelector('#revise').dataset.saving"
                      " || !!document.querySelector('#revise-error').textContent", timeout=30)
        assert page.evaluate("document.querySelector('#revise-error').textContent") == ""
        revision = page.evaluate("document.querySelector('#revise').dataset.revision")

        sent = posted(page, f"{local_stack.url}/api/v1/sync/pro-job/{parent}/revise")
        assert len(sent) == 1
        body = sent[0]["body"]
        assert body["segments"][0] == {"startTime": 0.5, "endTime": 2.5, "audioInput": {"refId": "a"}}
        assert body["segments"][1] == {"startTime": 3, "endTime": 5, "audioInput": {"refId": "c"}}
        assert [a["refId"] for a in body["audios"]] == ["c"] and body["audios"][0]["fileName"] == "c.ogg"
        assert any(k.lower() == "idempotency-key" for k in sent[0]["headers"])
        assert len(page.requests(local_stack.aws_endpoint_url)) == 4  # exactly one new upload: the new audio
        saving = page.evaluate("document.querySelector('#revise-status').textContent")
        assert "re-renders at most" in saving and "instead of 6.0 s" in saving

        # followed in the job panel like any job, until it completes
        page.wait_for(f"document.querySelector('#job-id').textContent === {revision!r}", timeout=20)
        page.wait_for(f"document.querySelector('#job-id').textContent === {revision!r} && {ENDED}", timeout=120)
        assert page.evaluate("document.querySelector('#job').dataset.status") == "completed"
        page.evaluate("document.querySelector('#history-refresh').click()")
        revised = f"document.querySelector('#history-list li[data-job=\"{revision}\"]')"
        page.wait_for(f"!!{revised} && {revised}.dataset.status === 'completed'", timeout=20)
        link = page.evaluate(f"{revised}.querySelector('a.parent').getAttribute('href')")
        assert link == f"#job={parent}"
        assert "revision of" in page.evaluate(f"{revised}.querySelector('a.parent').textContent")
        assert len(page.requests(local_stack.aws_endpoint_url)) == 4
        assert page.console_errors(answered=f"{local_stack.url}/api/v1/") == []
        assert page.csp_violations() == []
    finally:
        page.screenshot(ARTIFACTS / "editor-revised.png")
