"""The shared Lambda layer, built on this machine without Docker.

The layer holds ``python/juki`` (our library, copied from ``layers/juki/python``) and the
third-party packages the project depends on, installed by pip as manylinux2014 aarch64 wheels
for CPython 3.12 (the Lambda runtime and architecture), whatever machine runs the synth.
boto3 is left out: the Lambda runtime provides it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from juki.adapters.pdf.fonts import FONT_FILE, font_path

from juki_infra.description import LAYER_DIR, REPO_ROOT

if TYPE_CHECKING:
    from constructs import Construct

PIP_PLATFORM_ARGS = (
    "--platform",
    "manylinux2014_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    "3.12",
    "--only-binary=:all:",
)
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore"})


def layer_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The project's runtime dependencies (pyproject.toml is the one list), minus what Lambda provides."""
    with pyproject.open("rb") as handle:
        dependencies: list[str] = tomllib.load(handle)["project"]["dependencies"]
    return [
        requirement
        for requirement in dependencies
        if re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower() not in PROVIDED_BY_RUNTIME
    ]


def build_layer(output_dir: Path) -> None:
    """Write the layer's content (``python/...``) into ``output_dir``."""
    target = output_dir / "python"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        LAYER_DIR / "python" / "juki",
        target / "juki",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    _add_font(target)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        *PIP_PLATFORM_ARGS,
        "--target",
        str(target),
        *layer_requirements(),
    ]
    subprocess.run(command, check=True)  # noqa: S603 - fixed argv: this interpreter's pip, no shell


def _add_font(target: Path) -> None:
    """The Japanese font the PDFs embed travels in the layer, unmodified, under its own name and with
    its licence (IPA Font License v1.0), so nothing is fetched at run time."""
    fonts = target / "juki" / "adapters" / "pdf" / "fonts"
    fonts.mkdir(parents=True, exist_ok=True)
    shutil.copy2(font_path(), fonts / FONT_FILE)
    licence = Path("/usr/share/doc/fonts-ipaexfont-gothic/copyright")
    if licence.exists():
        shutil.copy2(licence, fonts / "LICENSE-IPAexfont.txt")


@jsii.implements(ILocalBundling)
class LocalLayerBundler:
    """CDK local bundling: runs :func:`build_layer` instead of a Docker container."""

    def try_bundle(self, output_dir: str, *_options: Any, **_keyword_options: Any) -> bool:
        # jsii passes the BundlingOptions positionally; nothing in them applies to a local build.
        build_layer(Path(output_dir))
        return True


def shared_layer(scope: Construct, construct_id: str, layer_name: str) -> lambda_.LayerVersion:
    return lambda_.LayerVersion(
        scope,
        construct_id,
        layer_version_name=layer_name,
        description="juki library and its third-party packages (Python 3.12, arm64)",
        code=lambda_.Code.from_asset(
            str(LAYER_DIR),
            bundling=BundlingOptions(
                # Never pulled: local bundling always succeeds, so Docker is not needed.
                image=DockerImage.from_registry("none"),
                local=LocalLayerBundler(),
            ),
        ),
        compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
        compatible_architectures=[lambda_.Architecture.ARM_64],
    )
