"""Shared test helpers: scanning fixture files and locating ../shared/ (absent in a
user's clone, where tests that need it skip with the reason)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from costbreaker.config import DEFAULTS, Config, merge_config
from costbreaker.engine import ScanResult, scan

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
REPO = TESTS.parent
SHARED = Path(os.environ.get("COSTBREAKER_SHARED", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "corpus"
SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"
TODAY = dt.date(2026, 12, 4)


def requires_shared(path: Path = SHARED) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not path.exists(),
        reason=f"{path} is not here (the shared corpus exists in CI and the team's "
        "workspace, not in a user's clone)",
    )


def make_config(**sections) -> Config:
    """A Config with some sections overridden, e.g. make_config(ceilings={"asg_max_size": 5})."""
    return Config(merge_config(DEFAULTS, sections))


def run_scan(
    *paths: Path | str, config: Config | None = None, root: Path | None = None, **kwargs
) -> ScanResult:
    """Scan paths with the whole pipeline; locations are relative to `root` (FIXTURES)."""
    return scan(
        [str(p) for p in paths],
        config=config,
        today=kwargs.pop("today", TODAY),
        root=root or FIXTURES,
        **kwargs,
    )


def hits(result: ScanResult, rule: str | None = None) -> list[tuple[str, str, str, int]]:
    """(rule, resource, file, line) of the open findings, optionally of one rule."""
    return [
        (f.rule_id, f.resource, f.location.file, f.location.line)
        for f in result.findings
        if f.is_open and (rule is None or f.rule_id == rule)
    ]
