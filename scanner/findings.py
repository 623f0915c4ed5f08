"""Findings: what a rule reports, and how suppressions and baselines mark it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from costbreaker.inventory import Location

SEVERITIES = ("critical", "high", "medium", "low")
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES), start=1)}
# SARIF security-severity per RULES.md
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


@dataclass(frozen=True)
class Suppression:
    """Why a finding is not open: the kind (inSource, external, baseline) and reason."""

    kind: str  # "inSource" | "external" | "baseline"
    reason: str
    source: str = ""  # where it was written (file:line, config path, baseline path)
    expires: str = ""


@dataclass
class Finding:
    """One rule firing on one resource, at the attribute that is wrong."""

    rule_id: str
    severity: str
    message: str
    location: Location
    resource: str  # logical id, Terraform address or ARN
    resource_type: str = ""
    fix: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    # Worst-case burn rate in USD per hour, where the rule computes one; "unbounded"
    # or "unknown" when it cannot be a number.
    burn_rate: float | str | None = None
    suppression: Suppression | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.suppression is None

    @property
    def file(self) -> str:
        return self.location.file

    def fingerprint(self) -> str:
        """Identity that survives a line move: rule, file and resource, never the line."""
        key = "\x1f".join((self.rule_id, self.location.file, self.resource))
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def sort_key(self) -> tuple:
        loc = self.location
        return (
            loc.file,
            loc.account,
            loc.region,
            loc.line,
            loc.column,
            self.rule_id,
            self.resource,
            self.message,
        )
