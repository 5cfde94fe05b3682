"""A spliced revision plays in Chromium (issue 17): its copied GOPs after a re-encoded one decode with the
parent's parameter sets again (restored in-band), its re-encoded GOPs with their own. The browser's
frames, drawn to a canvas, match PyAV's on both sides of each splice point."""

from __future__ import annotations

import functools
import threading
from fractions import Fraction
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from devstack.emulator.render import Placement, write_output
from devstack.media_samples import make_tone, make_video
from prosync.revisions import plan
from prosync.revisions.media import cut_clip, keyframes, splice
from tests.e2e.test_browser import browser  # noqa: F401
from tests.integration.revisions.test_revision_splice import FPS, with_gop

pytestmark = pytest.mark.browser


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def revised(tmp_path):
    video = make_video(tmp_path / "talk.mp4", 6.0, fps=FPS, size=(320, 240))
    parent = tmp_path / "parent.mp4"
    write_output(video, Fraction(FPS), 6.0, [Placement(2.0, 3.6, make_tone(tmp_path / "a.wav", 1.6, 440))],
                 tmp_path / "emulated.mp4")
    with_gop(tmp_path / "emulated.mp4", parent, FPS)
    ranges = [(2.0, 3.6)]
    keys, duration = keyframes(parent)
    pieces = plan.clip_pieces(ranges, keys, duration)
    seconds = cut_clip(parent, pieces, tmp_path / "clip.mp4")
    (segment,) = plan.clip_segments([{"startTime": 2.0, "endTime": 3.6, "audioInput": {"refId": "n"}}],
                                    ranges, pieces)
    write_output(tmp_path / "clip.mp4", Fraction(FPS), seconds,
                 [Placement(segment["startTime"], segment["endTime"], make_tone(tmp_path / "n.wav", 1.6, 1200))],
                 tmp_path / "generation.mp4")
    stats = splice(parent, tmp_path / "generation.mp4", pieces, ranges, tmp_path / "revised.mp4")
    assert stats["gopsCopied"] >= 3 and stats["gopsEncoded"] == 2
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield tmp_path / "revised.mp4", f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def frame_at(browser, video_id: str, t: float) -> np.ndarray:
    pixels = browser.evaluate(f"""(async () => {{
        const v = document.getElementById('{video_id}'); v.currentTime = {t + 0.5 / FPS};
        await new Promise(r => v.addEventListener('seeked', r, {{once: true}}));
        const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
        const g = c.getContext('2d'); g.drawImage(v, 0, 0);
        return Array.from(g.getImageData(0, 0, c.width, c.height).data); }})()""")
    return np.array(pixels, dtype=np.int16).reshape(240, 320, 4)[:, :, :3]


def test_the_spliced_file_plays_in_chromium(browser, revised):  # noqa: F811
    path, base = revised
    browser.goto(f"{base}/")
    for video_id, name in (("parent", "parent.mp4"), ("revised", path.name)):
        browser.evaluate(f"""(async () => {{
            const v = document.createElement('video'); v.id = '{video_id}'; v.muted = true; v.src = '{base}/{name}';
            document.body.append(v);
            await new Promise((ok, no) => {{ v.onloadeddata = ok; v.onerror = () => no(v.error); }}); }})()""")
    # a copied GOP, the re-encoded ones (inside the range and its tail), copied GOPs after them
    for t in (1.5, 2.5, 3.8, 4.2, 5.5):
        diff = float(np.mean(np.abs(frame_at(browser, "revised", t) - frame_at(browser, "parent", t))))
        assert diff < (0.01 if t in (1.5, 4.2, 5.5) else 3.0), (t, diff)  # a wrong SPS/PPS decodes garbage
    assert browser.evaluate("document.getElementById('revised').error") is None
