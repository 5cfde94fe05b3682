#!/usr/bin/env python3
"""Build the prosync Lambda layer locally, without Docker: arm64 wheels for CPython 3.14 + our package.

    python scripts/build_layer.py [--out DIR] [--force] [--no-bytecode]

Layout: DIR/python/<third-party packages> and DIR/python/prosync (copied from layers/prosync/prosync).
pip is asked for manylinux wheels of aarch64 only (`--only-binary=:all:`), so nothing is compiled for
the build machine. psycopg-binary and av publish `manylinux_2_28` wheels only, so that tag is accepted
besides `manylinux2014`: the Lambda Python 3.14 runtime is Amazon Linux 2023 (glibc 2.34).
The third-party part is reused while requirements.txt and the pip options are unchanged.

Bytecode: Lambda extracts a layer to a read-only /opt, so Python can never write `__pycache__` there and
compiles every module it imports from source on every cold start. The layer therefore ships bytecode,
compiled by an interpreter of the runtime's version (bytecode is specific to a minor version: a 3.11
.pyc is ignored by 3.14) found on this machine (`find_interpreter`: this one, `python3.14` on PATH,
or pyenv's). Without one the layer ships sources only and the build says so. The .pyc files are
`unchecked-hash`: zip extraction does not keep the sources' mtimes exactly, and a timestamp-checked
.pyc whose source looks newer is recompiled (in memory, every cold start) instead of used.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
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
BYTECODE_STAMP = ".bytecode"  # the interpreter that compiled the layer, or "none"
RUNTIME_PREFIX = "/opt/python"  # where Lambda puts a layer's python/ (shown in tracebacks)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")


def pip_command(
    target: Path, *, python_version: str = PYTHON_VERSION, platforms: tuple[str, ...] | None = PLATFORMS
) -> list[str]:
    """pip for the Lambda target; `platforms=None` installs for this machine (the cold-start bench)."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    cmd += ["--no-deps", "--no-compile", "--only-binary=:all:", "--implementation", "cp"]
    cmd += ["--python-version", python_version]
    for platform in platforms or ():
        cmd += ["--platform", platform]
    return cmd + ["--target", str(target), "-r", str(REQUIREMENTS)]


def _deps_key(**pip_options) -> str:
    text = REQUIREMENTS.read_text() + "\n" + " ".join(pip_command(Path("-"), **pip_options)[3:])
    return hashlib.sha256(text.encode()).hexdigest()


def find_interpreter(version: str = PYTHON_VERSION) -> str | None:
    """A CPython of exactly `version` (major.minor) on this machine, or None."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def compile_bytecode(python_dir: Path, interpreter: str) -> None:
    """Every .py under python_dir compiled by `interpreter`, paths shown as under /opt/python."""
    cmd = [interpreter, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    cmd += ["-s", str(python_dir), "-p", RUNTIME_PREFIX, str(python_dir)]
    # compileall exits 1 when a file does not compile (e.g. a vendored py2 test file): those stay source
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)


def build_layer(
    out: Path = DEFAULT_OUT,
    *,
    force: bool = False,
    bytecode: bool = True,
    python_version: str = PYTHON_VERSION,
    platforms: tuple[str, ...] | None = PLATFORMS,
) -> Path:
    """Build (or refresh) the layer directory and return it."""
    out = Path(out)
    python_dir = out / "python"
    stamp = out / STAMP
    pip_options = {"python_version": python_version, "platforms": platforms}
    if force or not stamp.exists() or stamp.read_text() != _deps_key(**pip_options):
        staging = out.with_name(out.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        subprocess.run(pip_command(staging / "python", **pip_options), check=True)
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
        stamp.write_text(_deps_key(**pip_options))
    shutil.rmtree(python_dir / "prosync", ignore_errors=True)
    shutil.copytree(PACKAGE, python_dir / "prosync", ignore=_IGNORE)
    interpreter = find_interpreter(python_version) if bytecode else None
    if interpreter:
        compile_bytecode(python_dir, interpreter)
    else:
        for cache in python_dir.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        if bytecode:
            print(f"build_layer: no Python {python_version} here: the layer ships sources only, and Lambda "
                  "compiles every module it imports on each cold start (docs/DEPLOY.md)", file=sys.stderr)
    (out / BYTECODE_STAMP).write_text(interpreter or "none")
    return out


def shipped_bytecode(out: Path = DEFAULT_OUT) -> bool:
    marker = Path(out) / BYTECODE_STAMP
    return marker.exists() and marker.read_text() != "none"


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
    parser.add_argument("--no-bytecode", action="store_true", help="ship sources only")
    args = parser.parse_args(argv)
    print(build_layer(args.out, force=args.force, bytecode=not args.no_bytecode))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
