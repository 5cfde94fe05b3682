"""The page's weight: every script it loads (app.js and its imports, followed transitively, the
vendored timeline included) and its stylesheet, gzipped, stays within 200 KB (docs/PERFORMANCE.md)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[3] / "web"
BUDGET = 200 * 1024
IMPORT = re.compile(r"""(?:^|[;\s])import\s[^;'"]*?from\s*["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)""", re.M)


def loaded_scripts(entry: Path) -> list[Path]:
    """The module `entry` and every module it imports (relative imports, transitively)."""
    seen, pending = [], [entry]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.append(path)
        for static, dynamic in IMPORT.findall(path.read_text()):
            pending.append((path.parent / (static or dynamic)).resolve())
    return seen


def page_weight() -> dict[str, int]:
    """{file: gzipped bytes} of the page's JS and CSS."""
    files = [*loaded_scripts((WEB / "app.js").resolve()), WEB / "style.css"]
    return {str(f.relative_to(WEB.resolve()) if f.is_absolute() else f): len(gzip.compress(f.read_bytes(), 9))
            for f in (p.resolve() for p in files)}


def on_demand() -> dict[str, int]:
    """Scripts the page's modules name as "vendor/….js" strings (added by a script tag when needed,
    such as the sign-in library): {file: gzipped bytes}."""
    found = {}
    for script in loaded_scripts((WEB / "app.js").resolve()):
        for name in re.findall(r"""["'](vendor/[^"']+\.js)["']""", script.read_text()):
            found[name] = len(gzip.compress((WEB / name).read_bytes(), 9))
    return found


def test_the_page_loads_the_timeline_and_stays_within_its_budget():
    weights = page_weight()
    assert "vendor/wavesurfer.js/wavesurfer.esm.js" in weights  # the walk found the vendored library
    assert "vendor/wavesurfer.js/plugins/regions.esm.js" in weights
    total = sum(weights.values()) + sum(on_demand().values())  # the worst case: everything loaded
    assert total <= BUDGET, f"{total / 1024:.1f} KB gzipped: {weights} {on_demand()}"


if __name__ == "__main__":  # the numbers docs/PERFORMANCE.md quotes
    weights = page_weight()
    for name, size in sorted(weights.items(), key=lambda kv: -kv[1]):
        print(f"{size / 1024:6.1f} KB  {name}")
    print(f"{sum(weights.values()) / 1024:6.1f} KB  total (JS + CSS, gzip -9)")
    for name, size in on_demand().items():
        print(f"{size / 1024:6.1f} KB  {name} (loaded only when needed)")
