"""JSON for machines: every finding with its location, evidence and suppression.

Deterministic: keys sorted, findings sorted, no timestamps, so the same input gives
byte-identical output.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from costbreaker import __version__
from costbreaker.engine import ScanResult
from costbreaker.findings import Finding
from costbreaker.reports.common import summary

SCHEMA_VERSION = 1


def finding_dict(finding: Finding) -> dict:
    loc = finding.location
    data = {
        "rule": finding.rule_id,
        "severity": finding.severity,
        "message": finding.message,
        "resource": finding.resource,
        "resource_type": finding.resource_type,
        "location": {k: v for k, v in asdict(loc).items() if v not in ("", 0)},
        "fix": finding.fix,
        "evidence": finding.evidence,
        "fingerprint": finding.fingerprint(),
        "status": "open" if finding.is_open else "suppressed",
    }
    if finding.burn_rate is not None:
        data["burn_rate_usd_per_hour"] = finding.burn_rate
    if finding.suppression is not None:
        data["suppression"] = {
            k: v for k, v in asdict(finding.suppression).items() if v not in ("", None)
        }
    if finding.notes:
        data["notes"] = list(finding.notes)
    return data


def render(result: ScanResult) -> str:
    document = {
        "tool": {"name": "costbreaker", "version": __version__},
        "schema_version": SCHEMA_VERSION,
        "summary": summary(result),
        "findings": [finding_dict(f) for f in result.findings],
        "errors": [{k: v for k, v in asdict(e).items() if v not in ("", 0)} for e in result.errors],
        "notices": [asdict(n) for n in result.inventory.notices],
    }
    return json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"
