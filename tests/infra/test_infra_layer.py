"""The Lambda layer: its pinned requirements (fast) and a real arm64 build (`-m bundling`, uses PyPI)."""

import re
import shutil
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.config import REPO_ROOT
from scripts import build_layer

# What the Lambda Python runtime ships (boto3 and its dependencies): not bundled.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
DIRECT = {"aws-lambda-powertools", "pydantic", "pydantic-settings", "psycopg", "httpx", "av"}
LAMBDA_ENV = {
    **default_environment(),
    "python_version": "3.14",
    "python_full_version": "3.14.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}
AARCH64 = 183  # ELF e_machine


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_layer_requirements_are_pinned_to_the_lock():
    lock = _lock()
    reqs = _requirements(build_layer.REQUIREMENTS)
    names = {canonicalize_name(r.name) for r in reqs}
    assert DIRECT <= names
    assert not names & RUNTIME_PROVIDED
    for req in reqs:
        (spec,) = req.specifier
        assert spec.operator == "==", req
        assert lock[canonicalize_name(req.name)] == spec.version, f"{req} differs from requirements.lock"


def test_pip_command_targets_arm64_cpython_314_wheels_only(tmp_path):
    cmd = build_layer.pip_command(tmp_path / "python")
    assert "--only-binary=:all:" in cmd and "--no-deps" in cmd
    assert cmd[cmd.index("--python-version") + 1] == "3.14"
    assert cmd[cmd.index("--implementation") + 1] == "cp"
    platforms = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--platform"]
    assert platforms and all(p.endswith("_aarch64") for p in platforms)


def _installed(python_dir: Path) -> dict[str, Path]:
    found = {}
    for dist_info in python_dir.glob("*.dist-info"):
        name = re.sub(r"-[^-]+\.dist-info$", "", dist_info.name)
        found[canonicalize_name(name)] = dist_info
    return found


def _metadata_requirements(dist_info: Path) -> list[str]:
    text = (dist_info / "METADATA").read_text()
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Requires-Dist:")]


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


@pytest.mark.bundling
@pytest.mark.timeout(900)
def test_build_layer_for_arm64():
    out = build_layer.build_layer()  # .build/layer, reused by `make synth` while requirements are unchanged
    python_dir = out / "python"
    installed = _installed(python_dir)

    # every pinned requirement is in, and its whole dependency closure is in or in the runtime
    requested = {canonicalize_name(r.name): r.extras for r in _requirements(build_layer.REQUIREMENTS)}
    assert set(requested) <= set(installed)
    for name, dist_info in installed.items():
        for line in _metadata_requirements(dist_info):
            req = Requirement(line)
            extras = requested.get(name) or {""}
            if req.marker and not any(req.marker.evaluate({**LAMBDA_ENV, "extra": e}) for e in extras):
                continue
            dep = canonicalize_name(req.name)
            assert dep in installed or dep in RUNTIME_PROVIDED, (
                f"{name} needs {req}, which is not in the layer"
            )

    # native code is aarch64 for CPython 3.14 (psycopg-binary, pydantic-core; av is abi3)
    for package, pattern in (
        ("psycopg_binary", "*.so"),
        ("pydantic_core", "_pydantic_core*.so"),
        ("av", "*.so"),
    ):
        libs = list((python_dir / package).glob(pattern))
        assert libs, f"no native module in {package}"
        assert all(_elf_machine(lib) == AARCH64 for lib in libs), package
    assert list((python_dir / "pydantic_core").glob("_pydantic_core.cpython-314-aarch64-linux-gnu.so"))
    wheel_tags = (installed["psycopg-binary"] / "WHEEL").read_text()
    assert "cp314" in wheel_tags and "aarch64" in wheel_tags
    assert not (python_dir / "boto3").exists() and not (python_dir / "botocore").exists()

    # our package, with its migrations; bytecode only from a CPython 3.14, never this machine's
    assert (python_dir / "prosync" / "__init__.py").is_file()
    assert list((python_dir / "prosync" / "db" / "migrations").glob("*.sql"))
    pycs = list(python_dir.glob("**/__pycache__/*.pyc"))
    if build_layer.shipped_bytecode(out):
        assert pycs and all(".cpython-314." in p.name for p in pycs)
    else:
        assert not pycs

    # Lambda's limit is 250 MB unzipped for the function and all its layers
    size = sum(p.stat().st_size for p in python_dir.rglob("*") if p.is_file())
    assert size < 200 * 1024 * 1024, f"layer is {size / 2**20:.0f} MiB"


@pytest.mark.bundling
@pytest.mark.timeout(900)
def test_synth_with_the_real_layer(tmp_path):
    """`python app.py` without skip_bundling: the asset is the built directory, not the placeholder."""
    from app import build_app

    layer = build_layer.build_layer()
    app, stack = build_app({"account": "111111111111", "region": "eu-west-1"}, outdir=str(tmp_path))
    assembly = app.synth()
    assets = [p for p in tmp_path.iterdir() if p.name.startswith("asset.")]
    assert any((p / "python" / "psycopg_binary").is_dir() for p in assets)
    assert not any((p / "python" / "PLACEHOLDER.txt").exists() for p in assets)
    assert assembly.get_stack_by_name(stack.stack_name).template
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert layer.is_dir()


def test_layer_bytecode_is_for_the_runtime_unchecked_and_named_under_opt(tmp_path):
    """compile_bytecode: .pyc files Lambda's read-only /opt can use as they are (unchecked hash: zip
    extraction changes mtimes), with tracebacks naming /opt/python/..."""
    import importlib.util
    import marshal
    import sys

    python_dir = tmp_path / "python"
    (python_dir / "pkg").mkdir(parents=True)
    (python_dir / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert build_layer.find_interpreter(version) == sys.executable
    assert build_layer.find_interpreter("2.1") is None
    build_layer.compile_bytecode(python_dir, sys.executable)
    (pyc,) = (python_dir / "pkg" / "__pycache__").glob("*.pyc")
    assert pyc.name == f"__init__.{sys.implementation.cache_tag}.pyc"
    data = pyc.read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, source never checked
    assert marshal.loads(data[16:]).co_filename == "/opt/python/pkg/__init__.py"


def test_pip_command_for_this_machine_has_no_platform(tmp_path):
    """The cold-start bench builds the same layer for its own interpreter to time it."""
    cmd = build_layer.pip_command(tmp_path, python_version="3.11", platforms=None)
    assert "--platform" not in cmd and cmd[cmd.index("--python-version") + 1] == "3.11"
