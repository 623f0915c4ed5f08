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


def test_our_own_reports_in_the_scanned_folder_are_not_templates(tmp_path: Path):
    """A SARIF or JSON report written into the repository quotes template snippets in
    its rule help; re-scanning the folder must not take it for a template."""
    from costbreaker.reports import json_report, sarif

    shutil.copy(TEMPLATE, tmp_path / "t.yaml")
    first = run_scan(tmp_path, root=tmp_path)
    (tmp_path / "results.sarif.json").write_text(sarif.render(first))
    (tmp_path / "results.json").write_text(json_report.render(first))
    again = run_scan(tmp_path, root=tmp_path)
    assert again.inventory.files_scanned == ["t.yaml"]
    assert not again.inventory.notices and not again.errors
