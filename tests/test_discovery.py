"""Finding inputs: by content as well as by name, quietly skipping what is not ours,
and saying so when a user's file cannot be covered."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import FIXTURES, run_scan

TEMPLATE = FIXTURES / "core" / "cfn" / "asg_bad.yaml"


def test_templates_are_recognised_by_content(tmp_path: Path):
    shutil.copy(TEMPLATE, tmp_path / "workers")  # no extension
    shutil.copy(TEMPLATE, tmp_path / "workers.template")
    (tmp_path / "package.json").write_text('{"name": "x", "version": "1.0.0"}')
    (tmp_path / "notes.yaml").write_text("Resources: plenty\n")
    (tmp_path / "LICENSE").write_text("Apache License\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\x00\x00")
    result = run_scan(tmp_path, root=tmp_path)
    assert sorted(result.inventory.files_scanned) == ["workers", "workers.template"]
    assert not result.errors and not result.inventory.notices


def test_an_explicitly_named_file_that_is_not_ours_gets_a_note(tmp_path: Path):
    (tmp_path / "README.md").write_text("# hello\n")
    result = run_scan(tmp_path / "README.md", root=tmp_path)
    assert [(n.file, n.message) for n in result.inventory.notices] == [
        ("README.md", "not a CloudFormation template or Terraform file; skipped")
    ]


def test_terraform_json_syntax_is_named_not_silently_skipped(tmp_path: Path):
    (tmp_path / "main.tf.json").write_text('{"resource": {}}')
    result = run_scan(tmp_path, root=tmp_path)
    assert "not supported" in result.inventory.notices[0].message


def test_vendored_and_hidden_folders_are_not_walked(tmp_path: Path):
    for folder in (".terraform/modules/x", "node_modules/pkg", ".git"):
        (tmp_path / folder).mkdir(parents=True)
        shutil.copy(TEMPLATE, tmp_path / folder / "t.yaml")
    shutil.copy(TEMPLATE, tmp_path / "t.yaml")
    result = run_scan(tmp_path, root=tmp_path)
    assert result.inventory.files_scanned == ["t.yaml"]
