"""Suppressions (inline, configuration) and baselines: marking findings, never dropping them.

Every suppression needs a reason and may carry an expiry date after which it no longer
applies. A baseline is keyed by file, resource and rule, never by line, so it survives
edits that move code.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
from pathlib import Path

from costbreaker.config import Config
from costbreaker.findings import Finding, Suppression
from costbreaker.inventory import InlineSkip, Inventory

BASELINE_VERSION = 1


class BaselineError(Exception):
    """The baseline file cannot be used; a usage error."""


def _expired(expires: str, today: dt.date) -> bool | None:
    """True/False, or None when the date cannot be read."""
    if not expires:
        return False
    try:
        return dt.date.fromisoformat(expires) < today
    except ValueError:
        return None


def apply_inline(
    findings: list[Finding], inventory: Inventory, config: Config, today: dt.date
) -> None:
    skips_by_resource: dict[tuple[str, str], tuple[InlineSkip, ...]] = {}
    for fact in inventory.facts:
        if fact.skips:
            skips_by_resource.setdefault((fact.location.file, fact.address), fact.skips)
    if not skips_by_resource:
        return
    for finding in findings:
        skips = skips_by_resource.get((finding.location.file, finding.resource), ())
        for skip in skips:
            if skip.rule not in (finding.rule_id, "*"):
                continue
            where = str(skip.location) if skip.location else finding.location.file
            if not config.allow_inline_suppressions:
                finding.notes.append(
                    f"inline suppression at {where} ignored: allow_inline_suppressions is false"
                )
                continue
            if not skip.reason:
                finding.notes.append(f"inline suppression at {where} ignored: it gives no reason")
                continue
            expired = _expired(skip.expires, today)
            if expired is None:
                finding.notes.append(
                    f"inline suppression at {where} ignored: expiry {skip.expires!r} is "
                    "not a date (YYYY-MM-DD)"
                )
                continue
            if expired:
                finding.notes.append(f"inline suppression at {where} expired on {skip.expires}")
                continue
            finding.suppression = Suppression("inSource", skip.reason, where, skip.expires)
            break


def apply_config(findings: list[Finding], config: Config, today: dt.date) -> None:
    entries = config.suppressions
    if not entries:
        return
    for finding in findings:
        if finding.suppression is not None:
            continue
        for entry in entries:
            if entry.rule not in (finding.rule_id, "*"):
                continue
            if entry.resource and not fnmatch.fnmatchcase(finding.resource, entry.resource):
                continue
            if entry.file and not fnmatch.fnmatchcase(finding.location.file, entry.file):
                continue
            if _expired(entry.expires, today):
                finding.notes.append(
                    f"configuration suppression ({config.path}) expired on {entry.expires}"
                )
                continue
            finding.suppression = Suppression(
                "external", entry.reason, config.path or "configuration", entry.expires
            )
            break


def baseline_key(finding: Finding) -> tuple[str, str, str]:
    return (finding.location.file, finding.resource, finding.rule_id)


def load_baseline(path: str) -> set[tuple[str, str, str]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
    entries = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise BaselineError(f"{path}: not a costbreaker baseline (no 'findings' list)")
    keys = set()
    for entry in entries:
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) for k in ("file", "resource", "rule")
        ):
            raise BaselineError(f"{path}: each finding needs 'file', 'resource' and 'rule'")
        keys.add((entry["file"], entry["resource"], entry["rule"]))
    return keys


def apply_baseline(findings: list[Finding], keys: set[tuple[str, str, str]], path: str) -> None:
    for finding in findings:
        if finding.suppression is None and baseline_key(finding) in keys:
            finding.suppression = Suppression("baseline", "present in the baseline", path)


def baseline_document(findings: list[Finding]) -> str:
    """The baseline for these findings (open ones), deterministic."""
    keys = sorted({baseline_key(f) for f in findings if f.is_open})
    data = {
        "version": BASELINE_VERSION,
        "tool": "costbreaker",
        "findings": [{"file": f, "resource": r, "rule": rule} for f, r, rule in keys],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
