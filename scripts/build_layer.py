#!/usr/bin/env python3
"""Build the prosync Lambda layer locally, without Docker: arm64 wheels for CPython 3.14 + our package.

    python scripts/build_layer.py [--out DIR] [--force]

Layout: DIR/python/<third-party packages> and DIR/python/prosync (copied from layers/prosync/prosync).
pip is asked for manylinux wheels of aarch64 only (`--only-binary=:all:`), so nothing is compiled for
the build machine. psycopg-binary and av publish `manylinux_2_28` wheels only, so that tag is accepted
besides `manylinux2014`: the Lambda Python 3.14 runtime is Amazon Linux 2023 (glibc 2.34).
The third-party part is reused while requirements.txt and the pip options are unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO_ROOT / "layers" / "prosync" / "requirements.txt"
PACKAGE = REPO_ROOT / "layers" / "prosync" / "prosync"
DEFAULT_OUT = REPO_ROOT / ".build" / "layer"
PLACEHOLDER_OUT = REPO_ROOT / ".build" / "layer-placeholder"
PYTHON_VERSION = "3.14"
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
STAMP = ".deps-stamp"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")


def pip_command(target: Path) -> list[str]:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    cmd += ["--no-deps", "--no-compile", "--only-binary=:all:", "--implementation", "cp"]
    cmd += ["--python-version", PYTHON_VERSION]
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    return cmd + ["--target", str(target), "-r", str(REQUIREMENTS)]


def _deps_key() -> str:
    text = REQUIREMENTS.read_text() + "\n" + " ".join(pip_command(Path("-"))[3:])
    return hashlib.sha256(text.encode()).hexdigest()


def build_layer(out: Path = DEFAULT_OUT, *, force: bool = False) -> Path:
    """Build (or refresh) the layer directory and return it."""
    out = Path(out)
    python_dir = out / "python"
    stamp = out / STAMP
    if force or not stamp.exists() or stamp.read_text() != _deps_key():
        staging = out.with_name(out.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        subprocess.run(pip_command(staging / "python"), check=True)
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
        stamp.write_text(_deps_key())
    shutil.rmtree(python_dir / "prosync", ignore_errors=True)
    shutil.copytree(PACKAGE, python_dir / "prosync", ignore=_IGNORE)
    return out


def write_placeholder(out: Path = PLACEHOLDER_OUT) -> Path:
    """A tiny stand-in layer for offline synth in tests (`skip_bundling=true`); never deployed."""
    target = Path(out) / "python"
    target.mkdir(parents=True, exist_ok=True)
    note = target / "PLACEHOLDER.txt"
    if not note.exists():
        note.write_text("skip_bundling=true: placeholder layer, run `make synth` for the real one\n")
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true", help="reinstall the wheels even if unchanged")
    args = parser.parse_args(argv)
    print(build_layer(args.out, force=args.force))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
