"""Expected findings written into fixtures as `# expect: CB202 Resource` comments.

A fixture states, on the very line a finding must point at, which rule fires there and on
which resource (logical id, Terraform address, or scope); where a comment cannot go on that
line (JSON inside a heredoc), `# expect-at 12: CB202 Resource` names the line. Tests
compare the scan's open findings of a rule with these markers, so rule, resource, file and
line are all checked.
"""

from __future__ import annotations

import re
from pathlib import Path

from costbreaker.config import Config
from tests.conftest import FIXTURES, hits, run_scan

MARKER = re.compile(r"#\s*expect(?:-at\s+(?P<at>\d+))?:\s*(?P<rule>CB\d{3})\s+(?P<resource>\S+)")
SUFFIXES = {".yaml", ".yml", ".tf", ".json"}


def expected(path: Path, rule: str) -> list[tuple[str, str, str, int]]:
    """(rule, resource, file, line) of the markers of one rule in a file or folder."""
    files = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES) if path.is_dir() else [path]
    found = []
    for file in files:
        shown = file.relative_to(FIXTURES).as_posix()
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            for match in MARKER.finditer(line):
                if match.group("rule") == rule:
                    at = int(match.group("at")) if match.group("at") else number
                    found.append((rule, match.group("resource"), shown, at))
    return sorted(found)


def assert_marked_findings(target: Path, rule: str, config: Config | None = None) -> None:
    """A bad fixture marks findings of `rule`, a good one none; the scan's open findings
    of that rule are exactly the marked ones, and the fixture scans without errors."""
    want = expected(target, rule)
    name = target.relative_to(FIXTURES).as_posix()
    if "_bad" in target.name:
        assert want, f"{name} marks no {rule} finding"
    else:
        assert not want, f"{name} is a good fixture but marks {rule} findings"
    result = run_scan(target, config=config)
    assert not result.errors
    assert sorted(hits(result, rule)) == want
