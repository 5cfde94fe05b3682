"""Text removal (issue 16): the planner and the chunk worker of the state machine's text-removal
steps, each a zip Lambda with its own layer (arm64, CPython 3.14), bundled locally without Docker.

Why two functions and two layers (measured, docs/TEXT_REMOVAL.md): Lambda allows 250 MB unzipped for
a function and all its layers. PyAV (~96 MB with its FFmpeg), OpenCV headless (~88 MB: it bundles a
second FFmpeg and OpenBLAS), onnxruntime (~59 MB) and numpy (~34 MB trimmed) do not fit together.
The chunk worker needs PyAV + OpenCV + numpy (inpainting); the planner PyAV + onnxruntime + numpy +
the detector model (plan, text search per chunk, merge, join, cleanup). A container image would hold everything,
but `DockerImageCode.from_image_asset` needs Docker at synth/deploy, and synth stays offline.

| function            | layer                      | memory  | timeout | /tmp    |
|---------------------|----------------------------|---------|---------|---------|
| textremoval         | detector: av, onnxruntime  | 3008 MB | 900 s   | 8 GB    |
| textremoval-chunk   | worker: av, opencv         | 3008 MB | 900 s   | 2 GB    |
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from aws_cdk import Duration, Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import REPO_ROOT, StackConfig

LAYERS = {"detector": REPO_ROOT / "layers" / "textremoval" / "requirements-detector.txt",
          "worker": REPO_ROOT / "layers" / "textremoval" / "requirements-worker.txt"}
# (function name, layer, memory MB, timeout s, ephemeral storage MB)
SPECS = {"textremoval": ("detector", 3008, 900, 8192), "textremoval-chunk": ("worker", 3008, 900, 2048)}
LAMBDA_UNZIPPED_LIMIT = 250 * 1000 * 1000  # bytes, function + layers (AWS: 262,144,000; kept below)
# trimmed from the layers: tests, C headers, f2py, and the OCR models the detector does not use
TRIM = ["numpy/*/tests", "numpy/_core/include", "numpy/f2py", "numpy/typing/tests", "av/*.pxd",
        "rapidocr/models/*rec*", "rapidocr/models/*cls*", "*/__pycache__"]
STAMP = ".deps-stamp"


def layer_pip_command(kind: str, target: Path) -> list[str]:
    from scripts import build_layer

    cmd = build_layer.pip_command(target)
    return cmd[: cmd.index("-r")] + ["-r", str(LAYERS[kind])]


def build_layer(kind: str, out: Path | None = None, *, force: bool = False) -> Path:
    """.build/textremoval-<kind>/python: the wheels (reused while the requirements are unchanged),
    trimmed, plus the prosync package."""
    from scripts import build_layer as base

    out = Path(out or REPO_ROOT / ".build" / f"textremoval-{kind}")
    key = hashlib.sha256((LAYERS[kind].read_text() + repr(TRIM)).encode()).hexdigest()
    stamp = out / STAMP
    if force or not stamp.exists() or stamp.read_text() != key:
        staging = out.with_name(out.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        subprocess.run(layer_pip_command(kind, staging / "python"), check=True)
        for pattern in TRIM:
            for path in (staging / "python").glob(pattern):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
        stamp.write_text(key)
    python_dir = out / "python"
    shutil.rmtree(python_dir / "prosync", ignore_errors=True)
    shutil.copytree(base.PACKAGE, python_dir / "prosync", ignore=base._IGNORE)
    return out


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())


class TextRemoval(Construct):
    """The two functions; `functions` maps the ASL placeholders' keys to them."""

    def __init__(self, scope: Construct, id: str, *, config: StackConfig, media_bucket_name: str,
                 results_arn: str, bucket_arn: str, max_concurrency: int = 10) -> None:
        super().__init__(scope, id)
        from infra.functions import ARCHITECTURE, ASSET_EXCLUDES, RUNTIME, function_dir

        self.functions: dict[str, lambda_.Function] = {}
        layers: dict[str, lambda_.LayerVersion] = {}
        for kind in LAYERS:
            layers[kind] = lambda_.LayerVersion(
                self, f"{kind.capitalize()}Layer", layer_version_name=f"{config.prefix}-textremoval-{kind}",
                code=lambda_.Code.from_asset(str(self._layer_dir(config, kind))),
                compatible_runtimes=[RUNTIME], compatible_architectures=[ARCHITECTURE],
                description=f"text removal {kind}: prosync + its media libraries (arm64, CPython 3.14)")
        code = lambda_.Code.from_asset(str(function_dir("textremoval")), exclude=ASSET_EXCLUDES)
        for name, (kind, memory, timeout, tmp) in SPECS.items():
            function_name = f"{config.prefix}-{name}"
            cid = "".join(part.capitalize() for part in name.split("-"))
            role = iam.Role(self, f"{cid}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                            description=f"Execution role of {function_name} (least privilege)")
            log_group = logs.LogGroup(self, f"{cid}Logs", log_group_name=f"/aws/lambda/{function_name}",
                                      retention=config.log_retention, removal_policy=config.removal_policy)
            log_group.grant_write(role)
            fn = lambda_.Function(
                self, cid, function_name=function_name, runtime=RUNTIME, architecture=ARCHITECTURE,
                description="ProSync text removal: " + (
                    "plan, join, clean up" if kind == "detector" else "clean one chunk"),
                code=code, handler="handler.lambda_handler", layers=[layers[kind]], memory_size=memory,
                timeout=Duration.seconds(timeout), ephemeral_storage_size=Size.mebibytes(tmp),
                tracing=lambda_.Tracing.ACTIVE, role=role, log_group=log_group,
                environment={"STAGE": config.stage, "MEDIA_BUCKET": media_bucket_name,
                             "POWERTOOLS_SERVICE_NAME": f"prosync-{name}",
                             "POWERTOOLS_METRICS_NAMESPACE": "ProSync",
                             "POWERTOOLS_LOG_LEVEL": config.log_level,
                             "TEXT_REMOVAL_MAX_CONCURRENCY": str(max_concurrency)})
            # results/ only: the kept lip-synced file, the work files under results/<job>/textremoval/,
            # the cleaned result (multipart upload and copy), and listing the work prefix to delete it
            fn.add_to_role_policy(iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject",
                         "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], resources=[results_arn]))
            fn.add_to_role_policy(iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["results/*"]}}))
            self.functions[name] = fn

    @staticmethod
    def _layer_dir(config: StackConfig, kind: str) -> Path:
        from scripts import build_layer as base

        if config.skip_bundling:
            return base.write_placeholder()
        return build_layer(kind)


def main(argv: list[str] | None = None) -> int:
    """Build both layers and print their sizes against Lambda's limit."""
    for kind in LAYERS:
        out = build_layer(kind, force="--force" in (argv or sys.argv[1:]))
        size = size_of(out / "python") + size_of(REPO_ROOT / "functions" / "textremoval")
        print(f"{kind}: {size / 1e6:.1f} MB unzipped of {LAMBDA_UNZIPPED_LIMIT / 1e6:.0f} MB ({out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
