"""Every template of the shared corpus (AWS samples and cfn-lint's fixtures, good and
deliberately bad) either scans or yields a clear input error naming the file; nothing
crashes. Skips when ../shared/ is absent (a user's clone)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from costbreaker.engine import scan
from tests.conftest import CORPUS, requires_shared

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


def test_cb101_cb102_on_the_aws_sample_templates(corpus_result):
    """Every Auto Scaling group of the samples, judged: the ECS cluster templates take
    MaxSize from a parameter without MaxValue (CB101); the scheduled-action sample
    raises its group's MaxSize from 5 to 10 every morning (CB102). The other 14 groups
    have literal maxima of 2 to 5 and yield nothing."""
    found = sorted(
        (
            f.rule_id,
            f.location.file.removeprefix("aws-cloudformation-templates/"),
            f.resource,
            f.location.line,
        )
        for f in corpus_result.findings
        if f.rule_id in ("CB101", "CB102")
        and f.location.file.startswith("aws-cloudformation-templates/")
    )
    assert found == [
        ("CB101", "ECS/EC2LaunchType/clusters/private-vpc.json", "ECSAutoScalingGroup", 473),
        ("CB101", "ECS/EC2LaunchType/clusters/private-vpc.yaml", "ECSAutoScalingGroup", 347),
        ("CB101", "ECS/EC2LaunchType/clusters/public-vpc.json", "ECSAutoScalingGroup", 265),
        ("CB101", "ECS/EC2LaunchType/clusters/public-vpc.yaml", "ECSAutoScalingGroup", 219),
        ("CB101", "ECS/ECS_Schedule_Example.json", "ECSAutoScalingGroup", 372),
        ("CB101", "ECS/ECS_Schedule_Example.yaml", "ECSAutoScalingGroup", 261),
        ("CB102", "AutoScaling/AutoScalingScheduledAction.json", "ScheduledActionUp", 392),
        ("CB102", "AutoScaling/AutoScalingScheduledAction.yaml", "ScheduledActionUp", 299),
    ]
    ecs = next(
        f
        for f in corpus_result.findings
        if f.rule_id == "CB101" and f.resource == "ECSAutoScalingGroup"
    )
    assert "parameter MaxSize has no MaxValue or AllowedValues (default 6)" in ecs.message


def test_the_fast_decoding_path_changes_nothing(corpus_result, monkeypatch):
    """Templates that name no type any rule reads are only syntax-checked, and the
    bodies of irrelevant resources are pruned before construction: on the whole
    corpus the report must be byte-identical to decoding everything in full."""
    from costbreaker.reports import json_report
    from costbreaker.sources import cloudformation

    fast = json_report.render(corpus_result)
    monkeypatch.setattr(cloudformation, "_prune", lambda root: None)
    monkeypatch.setattr(cloudformation, "_worth_decoding", lambda text: True)
    full = json_report.render(scan([str(CORPUS)], root=CORPUS))
    assert fast == full
