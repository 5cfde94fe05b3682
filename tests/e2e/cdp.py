"""A small Chrome DevTools Protocol client over `--remote-debugging-pipe` (no extra packages).

Chromium reads commands on fd 3 and writes answers and events on fd 4, each a JSON text ended by
a NUL byte. One page target, attached in flat mode; `evaluate` runs JS in the page and returns its
value. Enough to drive the upload page like a person: navigate, set file inputs, click, wait, screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--remote-debugging-pipe",
]


class CdpError(RuntimeError):
    pass


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    def __init__(self, executable: str, window: tuple[int, int] = (1200, 1000)):
        self.profile = tempfile.mkdtemp(prefix="prosync-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_fds():  # runs in the child before exec: our pipe ends become fds 3 and 4
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [
                executable,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={window[0]},{window[1]}",
                "about:blank",
            ],
            preexec_fn=wire_fds,  # noqa: PLW1509 (no thread of ours runs yet)
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, queue.Queue] = {}
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "DOM"):
            self.send(f"{domain}.enable", session=self.session)

    # protocol -----------------------------------------------------------------------------------
    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                waiter = self._waiting.pop(message.get("id"), None)
                (waiter.put(message) if waiter else self.events.put(message))

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params):
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
            answer: queue.Queue = queue.Queue()
            self._waiting[msg_id] = answer
            message = {"id": msg_id, "method": method, "params": params}
            if session:
                message["sessionId"] = session
            os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        try:
            reply = answer.get(timeout=timeout)
        except queue.Empty:
            raise CdpError(f"{method}: no answer in {timeout} s") from None
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def page(self, method: str, **params):
        return self.send(method, session=self.session, **params)

    # what a test needs ----------------------------------------------------------------------------
    def goto(self, url: str) -> None:
        self.page("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", timeout=15)

    def evaluate(self, expression: str):
        result = self.page("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise CdpError(f"JS error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout} s for {expression}")
            time.sleep(interval)

    def collect_csp_violations(self) -> None:
        """From the next page on, `csp_violations()` lists what the page's CSP blocked."""
        self.page(
            "Page.addScriptToEvaluateOnNewDocument",
            source="window.__cspViolations = []; document.addEventListener('securitypolicyviolation', "
            "(e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));",
        )

    def csp_violations(self) -> list[str]:
        return self.evaluate("window.__cspViolations || []")

    # events: what the page sent and what it logged -----------------------------------------------
    def watch(self) -> None:
        """From now on, keep the page's requests (Network) and console/log messages (Runtime, Log)."""
        self.seen: list[dict] = []
        self.page("Network.enable")
        self.page("Log.enable")

    def drain(self) -> list[dict]:
        """Every event received so far (kept in `self.seen`)."""
        while True:
            try:
                self.seen.append(self.events.get_nowait())
            except queue.Empty:
                return self.seen

    def requests(self, url_prefix: str, method: str = "POST") -> list[str]:
        """The URLs of the `method` requests the page sent to `url_prefix` (CORS preflights excluded)."""
        return [e["params"]["request"]["url"] for e in self.drain()
                if e.get("method") == "Network.requestWillBeSent"
                and e["params"]["request"]["url"].startswith(url_prefix)
                and e["params"]["request"]["method"] == method]

    def console_errors(self, answered: str | None = None) -> list[str]:
        """Errors the page logged: console.error, uncaught exceptions, failed loads and violations.
        `answered`: a URL prefix (the API) whose 4xx answers the page handles, so Chromium's network
        line about them ("Failed to load resource: … 422") is not counted."""
        found = []
        for e in self.drain():
            kind, params = e.get("method"), e.get("params", {})
            if kind == "Runtime.consoleAPICalled" and params.get("type") == "error":
                args = params.get("args", [])
                found.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif kind == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif kind == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                url = entry.get("url", "")
                if answered and entry.get("source") == "network" and url.startswith(answered):
                    continue
                found.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
        return found

    def set_files(self, selector: str, paths: list[str | Path]) -> None:
        found = self.page("Runtime.evaluate", expression=f"document.querySelector({json.dumps(selector)})")
        object_id = found["result"].get("objectId")
        if not object_id:
            raise CdpError(f"no element {selector}")
        # Chromium fires the input's `input` and `change` events itself, as for a person's choice
        self.page("DOM.setFileInputFiles", files=[str(p) for p in paths], objectId=object_id)

    def screenshot(self, path: str | Path) -> Path:
        data = self.page("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (CdpError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
