"""What every report shows the same way: counts, burn rates, error lines."""

from __future__ import annotations

from collections import Counter

from costbreaker.engine import ScanResult
from costbreaker.findings import SEVERITIES, Finding


def burn_rate_text(finding: Finding) -> str:
    rate = finding.burn_rate
    if rate is None:
        return ""
    if isinstance(rate, str):
        return rate
    return f"${rate:,.2f}/h"


def summary(result: ScanResult) -> dict:
    open_findings = result.open_findings
    counts = Counter(f.severity for f in open_findings)
    return {
        "files_scanned": len(result.inventory.files_scanned),
        "findings": len(open_findings),
        "suppressed": len(result.findings) - len(open_findings),
        "errors": len(result.errors),
        "by_severity": {s: counts.get(s, 0) for s in SEVERITIES},
    }
