"""The CLI end to end (installed entry point, real files): formats, exit codes,
determinism, SARIF conventions and schema, configuration errors, rules listing,
baselines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import FIXTURES, SARIF_SCHEMA, requires_shared

CORE = FIXTURES / "core"
# The entry point installed beside this interpreter (the venv's), else on PATH.
_BESIDE = Path(sys.executable).parent / "costbreaker"
COSTBREAKER = str(_BESIDE) if _BESIDE.exists() else shutil.which("costbreaker")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert COSTBREAKER, "the costbreaker command is not installed"
    if args[:1] == ("scan",) and "--rules" not in args:
        # These tests pin the CB101/CB102 output of the core fixtures; the other rules
        # (CB106 tags, CB107 burn rate, ...) have their own tests and fixtures.
        args = (*args, "--rules", "CB101,CB102")
    return subprocess.run(
        [COSTBREAKER, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(CORE, tmp_path / "infra")
    return tmp_path


def test_text_output_names_file_line_rule_severity_resource_and_fix(repo: Path):
    proc = cli("scan", "infra/cfn/asg_bad.yaml", cwd=repo)
    assert proc.returncode == 1
    first = proc.stdout.splitlines()[0]
    assert first.startswith(
        "infra/cfn/asg_bad.yaml:24:7: CB101 [high] Auto Scaling group FromParameter:"
    )
    assert "    fix: Set MaxSize" in proc.stdout
    assert proc.stdout.rstrip().endswith("10 findings (10 high) in 1 file")


def test_exit_codes_fail_on_and_soft_fail(repo: Path):
    assert cli("scan", "infra/cfn/asg_good.json", cwd=repo).returncode == 0
    assert cli("scan", "infra/cfn/asg_bad.yaml", "--fail-on", "critical", cwd=repo).returncode == 0
    assert cli("scan", "infra/cfn/asg_bad.yaml", "--fail-on", "high", cwd=repo).returncode == 1
    assert cli("scan", "infra/cfn/asg_bad.yaml", "--soft-fail", cwd=repo).returncode == 0
    assert cli("scan", "infra", "--format", "yaml", cwd=repo).returncode == 2
    assert cli("scan", "infra", "--rules", "CB999", cwd=repo).returncode == 2


def test_several_formats_at_once_are_byte_identical_across_runs(repo: Path):
    outputs = []
    for run in (1, 2):
        proc = cli(
            "scan",
            "infra",
            "--format",
            f"json=r{run}.json",
            "--format",
            f"sarif=r{run}.sarif",
            "--format",
            "text",
            cwd=repo,
        )
        assert proc.returncode == 1
        outputs.append(
            ((repo / f"r{run}.json").read_bytes(), (repo / f"r{run}.sarif").read_bytes())
        )
    assert outputs[0] == outputs[1]
    report = json.loads(outputs[0][0])
    assert report["summary"]["findings"] == 19
    keys = [(f["location"]["file"], f["location"].get("line", 0)) for f in report["findings"]]
    assert keys == sorted(keys)


@requires_shared(SARIF_SCHEMA)
def test_sarif_validates_and_follows_code_scanning_conventions(repo: Path):
    proc = cli("scan", "infra", "--format", "sarif", cwd=repo)
    sarif = json.loads(proc.stdout)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(ids) and {"CB101", "CB102"} <= set(ids)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["markdown"] and rule["helpUri"].startswith("https://")
        assert "security" in rule["properties"]["tags"]
        assert float(rule["properties"]["security-severity"]) > 0
    result = next(r for r in run["results"] if r["ruleId"] == "CB101")
    assert ids[result["ruleIndex"]] == "CB101"
    location = result["locations"][0]
    assert location["physicalLocation"]["artifactLocation"] == {
        "uri": "infra/cfn/asg_bad.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["physicalLocation"]["region"]["startLine"] == 24
    assert location["logicalLocations"][0]["name"] == "FromParameter"
    assert result["level"] == "error"


def test_fingerprints_survive_a_line_move(repo: Path):
    def fingerprints() -> dict:
        sarif = json.loads(cli("scan", "infra/cfn", "--format", "sarif", cwd=repo).stdout)
        return {
            (r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"]): (
                r["partialFingerprints"]["costbreaker/v1"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
            )
            for r in sarif["runs"][0]["results"]
        }

    before = fingerprints()
    path = repo / "infra/cfn/asg_bad.yaml"
    text = path.read_text()
    path.write_text(
        text.replace("Resources:\n", "Resources:\n  Extra:\n    Type: AWS::SNS::Topic\n", 1)
    )
    after = fingerprints()
    assert before.keys() == after.keys()
    for key in before:
        assert before[key][0] == after[key][0]  # same identity
        assert after[key][1] == before[key][1] + 2  # two lines further down


def test_suppressed_results_are_kept_and_marked(repo: Path):
    path = repo / "infra/cfn/asg_bad.yaml"
    path.write_text(
        path.read_text().replace(
            "  LiteralTooHigh:\n    Type: AWS::AutoScaling::AutoScalingGroup\n",
            "  LiteralTooHigh:\n    Type: AWS::AutoScaling::AutoScalingGroup\n"
            "    Metadata:\n      costbreaker:\n        skip:\n"
            "          - id: CB101\n            reason: capped by an SCP\n",
        )
    )
    sarif = json.loads(cli("scan", "infra/cfn", "--format", "sarif", cwd=repo).stdout)
    results = [
        r
        for r in sarif["runs"][0]["results"]
        if r["locations"][0]["logicalLocations"][0]["name"] == "LiteralTooHigh"
    ]
    assert results[0]["suppressions"] == [
        {"kind": "inSource", "status": "accepted", "justification": "capped by an SCP"}
    ]
    text = cli("scan", "infra/cfn", cwd=repo).stdout
    assert "CB101 [suppressed] Auto Scaling group LiteralTooHigh" in text
    assert "1 suppressed" in text


def test_configuration_errors_name_the_key(repo: Path):
    (repo / ".costbreaker.yml").write_text("ceilings:\n  asg_max_sise: 10\n")
    proc = cli("scan", "infra", cwd=repo)
    assert proc.returncode == 2
    assert "unknown key 'ceilings.asg_max_sise'" in proc.stderr
    (repo / ".costbreaker.yml").write_text("ceilings:\n  asg_max_size: ten\n")
    proc = cli("scan", "infra", cwd=repo)
    assert proc.returncode == 2 and "'ceilings.asg_max_size'" in proc.stderr
    assert "Traceback" not in proc.stderr
    (repo / ".costbreaker.yml").write_text("ceilings:\n  asg_max_size: 5\n")
    proc = cli("scan", "infra/cfn/asg_good.json", "--format", "json", cwd=repo)
    assert proc.returncode == 1  # the configured ceiling applies


def test_config_suppression_with_expiry(repo: Path):
    (repo / "cb.yml").write_text(
        "suppressions:\n"
        "  - {rule: CB101, resource: FromImport, reason: imported from the platform stack}\n"
        "  - {rule: CB101, resource: FromMapping, reason: old, expires: 2020-01-01}\n"
    )
    report = json.loads(
        cli(
            "scan", "infra/cfn/asg_bad.yaml", "--config", "cb.yml", "--format", "json", cwd=repo
        ).stdout
    )
    status = {f["resource"]: f for f in report["findings"] if f["rule"] == "CB101"}
    assert status["FromImport"]["status"] == "suppressed"
    assert status["FromImport"]["suppression"]["kind"] == "external"
    assert status["FromMapping"]["status"] == "open"
    assert "expired on 2020-01-01" in status["FromMapping"]["notes"][0]


def test_baseline_round_trip_only_new_findings_fail(repo: Path):
    assert cli("scan", "infra/cfn", "--create-baseline", "base.json", cwd=repo).returncode == 1
    assert cli("scan", "infra/cfn", "--baseline", "base.json", cwd=repo).returncode == 0
    path = repo / "infra/cfn/asg_bad.yaml"
    path.write_text(path.read_text().replace("MaxSize: 10\n", "MaxSize: 99\n"))
    proc = cli("scan", "infra/cfn", "--baseline", "base.json", cwd=repo)
    assert proc.returncode == 1
    assert "Auto Scaling group Bounded: MaxSize is 99" in proc.stdout
    bad = repo / "broken.json"
    bad.write_text("{")
    proc = cli("scan", "infra/cfn", "--baseline", "broken.json", cwd=repo)
    assert proc.returncode == 2 and "broken.json: not valid JSON" in proc.stderr


def test_rules_catalogue(repo: Path):
    listing = cli("rules", cwd=repo).stdout
    assert "CB101  high" in listing and "CB102  high" in listing
    explained = cli("rules", "cb101", cwd=repo)
    assert explained.returncode == 0
    assert explained.stdout.startswith("CB101: Auto Scaling group without a finite ceiling")
    assert "MaxValue" in explained.stdout
    assert cli("rules", "CB999", cwd=repo).returncode == 2
