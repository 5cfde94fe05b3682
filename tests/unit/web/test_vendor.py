"""The page's vendored libraries: each with its licence and pinned in the manifest, and the one inline
style the policy allows (wavesurfer.js's shadow-root <style>) hashed from the vendored file itself."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from devstack.gateway.websecurity import WAVESURFER_STYLE_HASH, WebSecurity, page_config

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "web"
VENDOR = WEB / "vendor"


def wavesurfer_style(height: int) -> str:
    """The text of the <style> wavesurfer.js puts in its shadow root, at `height` px."""
    code = (VENDOR / "wavesurfer.js" / "wavesurfer.esm.js").read_text()
    start = code.index("<style", code.index("attachShadow"))
    body = code[code.index(">", code.index("}", start)) + 1:code.index("</style>", start)]
    assert re.findall(r"\$\{[^}]*\}", body) == ["${this.getHeight(this.options.height,this.options.splitChannels)}"]
    text = re.sub(r"\$\{this\.getHeight\([^}]*\)\}", str(height), body)
    return json.loads(f'"{text}"') if "\\n" in text else text


def test_the_policy_allows_wavesurfers_style_by_its_hash_and_nothing_else_inline():
    height = int(re.search(r"height: (\d+),", (WEB / "timeline.js").read_text()).group(1))
    digest = base64.b64encode(hashlib.sha256(wavesurfer_style(height).encode()).digest()).decode()
    assert WAVESURFER_STYLE_HASH == f"'sha256-{digest}'", "update WAVESURFER_STYLE_HASH and index.html's meta"
    policy = WebSecurity().policy()
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page_config((WEB / "index.html").read_text())["content-security-policy"] == policy


def test_every_vendored_library_has_its_licence_and_a_pinned_version():
    manifest = (VENDOR / "README.md").read_text()
    pins = json.loads((ROOT / "scripts" / "vendor-web" / "package.json").read_text())["dependencies"]
    lock = json.loads((ROOT / "scripts" / "vendor-web" / "package-lock.json").read_text())["packages"]
    for folder in [*VENDOR.iterdir(), *(ROOT / "tests" / "e2e" / "vendor").iterdir()]:
        if not folder.is_dir():
            continue
        assert (folder / "LICENSE").is_file(), folder
        version = pins[folder.name]
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin exact versions"
        assert lock[f"node_modules/{folder.name}"]["version"] == version
        assert f"| {version} |" in manifest and folder.name in manifest


def test_the_page_loads_only_its_own_files():
    for path in [*WEB.glob("*.js"), WEB / "index.html"]:
        text = path.read_text()
        assert not re.search(r"""(?:src|href|import\s[^;]*from)\s*=?\s*["']https?://""", text), path
