"""Every template of the shared corpus (AWS samples and cfn-lint's fixtures, good and
deliberately bad) either scans or yields a clear input error naming the file; nothing
crashes. Skips when ../shared/ is absent (a user's clone)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS, requires_shared
from costbreaker.engine import scan

pytestmark = requires_shared(CORPUS)

# Our own failures, as opposed to the input's: these must never appear.
INTERNAL = ("could not be analysed", "cannot decode:", "cannot parse HCL:")


@pytest.fixture(scope="module")
def corpus_result():
    return scan([str(CORPUS)], root=CORPUS)


def test_every_corpus_file_scans_or_is_a_named_error(corpus_result):
    candidates = {
        p.relative_to(CORPUS).as_posix()
        for p in CORPUS.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".yml", ".json", ".template")
    }
    scanned = set(corpus_result.inventory.files_scanned)
    errored = {e.file for e in corpus_result.errors}
    noted = {n.file for n in corpus_result.inventory.notices}
    assert (scanned | errored | noted) <= candidates
    assert len(scanned) > 450  # nearly all of the corpus is real templates
    for error in corpus_result.errors:
        assert error.file and error.message
        assert not any(marker in error.message for marker in INTERNAL), error
    # cfn-lint's deliberately broken fixtures are reported, each by name.
    assert {
        "cfn-lint-fixtures/bad/json_parse.json",
        "cfn-lint-fixtures/bad/duplicate.yaml",
        "cfn-lint-fixtures/bad/core/config_invalid_yaml.yaml",
    } <= errored
    # The AWS sample templates are all well formed.
    assert not any(f.startswith("aws-cloudformation-templates/") for f in errored)


def test_corpus_scan_from_the_command_line_prints_no_traceback(tmp_path: Path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "costbreaker.cli",
            "scan",
            str(CORPUS),
            "--format",
            "sarif",
            "-o",
            str(tmp_path / "corpus.sarif"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2  # cfn-lint's bad fixtures are input errors
    assert "Traceback" not in proc.stderr and proc.stderr == ""
    assert (tmp_path / "corpus.sarif").stat().st_size > 0
