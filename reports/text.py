"""Plain text for terminals and CI logs: one finding per block, file:line first."""

from __future__ import annotations

import os
import sys

from costbreaker.engine import ScanResult
from costbreaker.reports.common import burn_rate_text, summary

_COLOURS = {"critical": "\033[1;31m", "high": "\033[31m", "medium": "\033[33m", "low": "\033[36m"}
_RESET = "\033[0m"


def use_colour(stream) -> bool:
    return (
        hasattr(stream, "isatty")
        and stream.isatty()
        and "NO_COLOR" not in os.environ
        and os.environ.get("TERM") != "dumb"
    )


def render(result: ScanResult, colour: bool | None = None) -> str:
    colour = use_colour(sys.stdout) if colour is None else colour
    lines: list[str] = []
    for error in result.errors:
        where = f"{error.file}:{error.line}" if error.line else error.file
        lines.append(f"{where}: error: {error.message}")
    for notice in result.inventory.notices:
        lines.append(f"{notice.file}: note: {notice.message}")
    if lines:
        lines.append("")
    for finding in result.findings:
        loc = finding.location
        where = str(loc) if loc.file else (loc.address or "")
        severity = finding.severity
        tag = "[suppressed]" if finding.suppression else f"[{severity}]"
        if colour and not finding.suppression:
            tag = f"{_COLOURS.get(severity, '')}{tag}{_RESET}"
        lines.append(f"{where}: {finding.rule_id} {tag} {finding.message}")
        if finding.suppression:
            sup = finding.suppression
            lines.append(f"    suppressed ({sup.kind}): {sup.reason}")
        else:
            rate = burn_rate_text(finding)
            if rate:
                lines.append(f"    worst-case burn rate: {rate}")
            if finding.fix:
                lines.append(f"    fix: {finding.fix}")
        for note in finding.notes:
            lines.append(f"    note: {note}")
    counts = summary(result)
    by_sev = ", ".join(f"{n} {s}" for s, n in counts["by_severity"].items() if n)
    tail = f"{counts['findings']} finding{'s' if counts['findings'] != 1 else ''}"
    if by_sev:
        tail += f" ({by_sev})"
    tail += f" in {counts['files_scanned']} file{'s' if counts['files_scanned'] != 1 else ''}"
    if counts["suppressed"]:
        tail += f"; {counts['suppressed']} suppressed"
    if counts["errors"]:
        tail += f"; {counts['errors']} input error{'s' if counts['errors'] != 1 else ''}"
    if lines and lines[-1] != "":
        lines.append("")
    lines.append(tail)
    return "\n".join(lines) + "\n"
