"""The real layer build (pip downloads aarch64 wheels): slow, needs the package registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from juki_infra.layer import build_layer, layer_requirements

if TYPE_CHECKING:
    from pathlib import Path

ELF_MACHINE_AARCH64 = 0xB7


def test_layer_requirements_come_from_pyproject_without_boto3() -> None:
    requirements = layer_requirements()
    names = " ".join(requirements)
    for package in ("aws-lambda-powertools", "pydantic", "pynamodb", "aws-encryption-sdk", "pyjwt"):
        assert package in names
    assert not any(requirement.startswith("boto3") for requirement in requirements)


@pytest.mark.slow
def test_layer_builds_for_arm64_without_docker(tmp_path: Path) -> None:
    build_layer(tmp_path)
    python = tmp_path / "python"
    assert (python / "juki" / "__init__.py").is_file()
    assert (python / "pynamodb").is_dir()
    assert (python / "aws_lambda_powertools").is_dir()
    font = python / "juki" / "adapters" / "pdf" / "fonts" / "ipaexg.ttf"
    assert font.read_bytes()[:4] == b"\x00\x01\x00\x00", "the PDF font travels in the layer (TrueType)"
    shared_objects = list((python / "cryptography").rglob("*.so"))
    assert shared_objects
    for shared_object in shared_objects:
        header = shared_object.read_bytes()[:20]
        assert header[:4] == b"\x7fELF"
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, shared_object
