"""Bad input: each case is one clear error naming the file, in every output format
(SARIF as a tool notification); the rest of the scan completes; the exit code is 2;
nothing hangs and nothing prints a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_scan

GOOD = FIXTURES / "core" / "cfn" / "asg_bad.yaml"  # scans fine, yields findings

ALIAS_BOMB = (
    "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: {Type: AWS::SNS::Topic}\n"
    + (
        "x0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
        + "".join(f"x{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]\n" for i in range(1, 9))
    )
)

CASES = {
    "malformed.yaml": (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Q:\n    Type: [AWS::SQS::Queue\n",
        "malformed.yaml",
    ),
    "malformed.json": (
        '{"AWSTemplateFormatVersion": "2010-09-09",\n'
        ' "Resources": {"Q": {"Type": "AWS::SQS::Queue",}\n',
        "malformed.json",
    ),
    "malformed.tf": ('resource "aws_autoscaling_group" "x" {\n  max_size = \n', "malformed.tf"),
    "bomb.yaml": (ALIAS_BOMB, "YAML aliases"),
    "binary.yaml": (b"AWSTemplateFormatVersion\x00\x01\x02Resources\x00" * 10, "binary"),
    "latin1.yaml": (
        "AWSTemplateFormatVersion: '2010-09-09'\nDescription: caf\xe9\nResources:\n"
        "  Q: {Type: AWS::SQS::Queue}\n".encode("latin-1"),
        "not valid UTF-8",
    ),
}


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(GOOD, tmp_path / "good.yaml")
    return tmp_path


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_bad_file_is_one_error_and_the_rest_is_scanned(workdir: Path, name: str):
    content, expected = CASES[name]
    _write(workdir / name, content)
    result = run_scan(workdir, root=workdir)
    errors = [e for e in result.errors if e.file == name]
    assert len(errors) >= 1, result.errors
    assert all(e.file == name for e in result.errors)
    assert any(expected in e.message or expected == e.file for e in errors)
    assert "good.yaml" in result.inventory.files_scanned
    assert any(f.file == "good.yaml" and f.rule_id == "CB101" for f in result.findings)


def test_alias_bomb_is_rejected_quickly(workdir: Path):
    _write(workdir / "bomb.yaml", ALIAS_BOMB)
    result = run_scan(workdir / "bomb.yaml", root=workdir)
    assert "alias" in result.errors[0].message.lower()


def test_a_50_mb_template_is_refused_without_reading_it(workdir: Path):
    big = workdir / "huge.yaml"
    with open(big, "wb") as handle:
        handle.write(b"AWSTemplateFormatVersion: '2010-09-09'\nResources:\n")
        handle.truncate(50 * 1024 * 1024)
    result = run_scan(workdir, root=workdir)
    (error,) = [e for e in result.errors if e.file == "huge.yaml"]
    assert "50.0 MiB" in error.message and "limit" in error.message
    assert "good.yaml" in result.inventory.files_scanned


def test_symlink_loop_and_dangling_link(workdir: Path):
    (workdir / "sub").mkdir()
    os.symlink("..", workdir / "sub" / "loop")
    os.symlink("self.yaml", workdir / "self.yaml")  # a link to itself: ELOOP
    result = run_scan(workdir, root=workdir)
    assert [e.file for e in result.errors] == ["self.yaml"]
    assert "loop" in result.errors[0].message
    assert result.inventory.files_scanned.count("good.yaml") == 1


def test_unreadable_file(workdir: Path, monkeypatch: pytest.MonkeyPatch):
    target = workdir / "secret.yaml"
    target.write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n")
    if os.geteuid() != 0:
        target.chmod(0)
    else:  # root reads anything: make the operating system refuse this one file
        real_open = open

        def guarded_open(file, *args, **kwargs):
            if str(file) == str(target):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr("builtins.open", guarded_open)
    result = run_scan(workdir, root=workdir)
    assert [(e.file, e.message) for e in result.errors] == [
        ("secret.yaml", "cannot read: permission denied")
    ]
    assert "good.yaml" in result.inventory.files_scanned


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "costbreaker.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_format_reports_the_errors_and_exit_code_is_2(workdir: Path):
    for name, (content, _) in CASES.items():
        _write(workdir / name, content)
    proc = _cli(
        "scan",
        ".",
        "--format",
        "text",
        "--format",
        "json=out.json",
        "--format",
        "sarif=out.sarif",
        cwd=workdir,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for name in CASES:
        assert f"{name}:" in proc.stdout
    report = json.loads((workdir / "out.json").read_text())
    assert sorted({e["file"] for e in report["errors"]}) == sorted(CASES)
    sarif = json.loads((workdir / "out.sarif").read_text())
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notified = {
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for n in invocation["toolExecutionNotifications"]
    }
    assert notified == set(CASES)
    assert any(r["ruleId"] == "CB101" for r in sarif["runs"][0]["results"])


def test_soft_fail_exits_zero_even_with_errors(workdir: Path):
    _write(workdir / "malformed.yaml", CASES["malformed.yaml"][0])
    proc = _cli("scan", ".", "--soft-fail", cwd=workdir)
    assert proc.returncode == 0
    assert "malformed.yaml" in proc.stdout


def test_a_fifo_never_blocks_the_scan(workdir: Path):
    os.mkfifo(workdir / "pipe.yaml")
    result = run_scan(workdir, root=workdir)  # would hang forever if opened
    assert not result.errors
    named = run_scan(workdir / "pipe.yaml", root=workdir)
    assert [(e.file, e.message) for e in named.errors] == [
        ("pipe.yaml", "not a regular file; not scanned")
    ]
