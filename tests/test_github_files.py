"""The GitHub Action and workflows are valid (GitHub's own schemas, vendored by
check-jsonschema) and pass zizmor's audit, offline."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install '.[test]'")
    return found


def test_workflows_and_action_match_githubs_schemas():
    workflows = [
        str(p)
        for p in [*REPO.glob(".github/workflows/*.yml"), *REPO.glob(".github/examples/*.yml")]
    ]
    assert len(workflows) >= 2
    schema_check = _tool("check-jsonschema")
    for schema, files in (
        ("vendor.github-workflows", workflows),
        ("vendor.github-actions", [str(REPO / "action.yml")]),
    ):
        proc = subprocess.run(
            [schema_check, "--builtin-schema", schema, *files], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_project_workflow_and_action_pass_zizmor():
    proc = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            str(REPO / ".github/workflows/ci.yml"),
            str(REPO / "action.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_runs_the_test_command_the_readme_gives():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = next(
        line.strip() for line in readme.splitlines() if "pytest" in line and "pip install" in line
    )
    assert command in ci
