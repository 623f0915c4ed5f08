"""SARIF 2.1.0 for GitHub code scanning.

Conventions (DESIGN.md): every rule in `tool.driver.rules` with descriptions, markdown
help, `helpUri`, `security-severity` and a `security` tag; results carry `ruleIndex`,
a repository-relative URI with `uriBaseId`, the attribute's line, the resource in
`logicalLocations`, and `partialFingerprints` built from rule, file and resource (not
the line). Suppressed results stay, marked with `suppressions`. Input errors are tool
execution notifications. Deterministic: the same scan gives byte-identical output.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from costbreaker import __version__
from costbreaker.engine import ScanResult
from costbreaker.findings import SARIF_LEVEL, SECURITY_SEVERITY, Finding
from costbreaker.reports.common import burn_rate_text
from costbreaker.rules import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
BASE_ID = "%SRCROOT%"
FINGERPRINT_KEY = "costbreaker/v1"


def _artifact(file: str) -> dict:
    if file.startswith("/"):
        return {"uri": "file://" + quote(file)}
    return {"uri": quote(file), "uriBaseId": BASE_ID}


def _rule(rule: Rule) -> dict:
    help_text = f"{rule.description}\n\nFix: {rule.remediation}"
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "help": {"text": help_text, "markdown": f"{rule.help}\n\n**Fix**: {rule.remediation}"},
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "tags": ["security", "cost", *rule.tags],
            "precision": "high",
            "problem.severity": "error" if rule.severity in ("critical", "high") else "warning",
        },
    }


def _result(finding: Finding, index: dict[str, int]) -> dict:
    loc = finding.location
    message = finding.message
    rate = burn_rate_text(finding)
    if rate and finding.is_open:
        message += f" Worst-case burn rate: {rate}."
    result: dict = {
        "ruleId": finding.rule_id,
        "ruleIndex": index[finding.rule_id],
        "level": SARIF_LEVEL[finding.severity],
        "message": {"text": message},
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint()},
    }
    logical = {"name": finding.resource, "kind": "resource"}
    if finding.resource_type:
        logical["fullyQualifiedName"] = f"{finding.resource_type}/{finding.resource}"
    if loc.file:
        region = {"startLine": max(loc.line, 1)}
        if loc.column:
            region["startColumn"] = loc.column
        result["locations"] = [
            {
                "physicalLocation": {"artifactLocation": _artifact(loc.file), "region": region},
                "logicalLocations": [logical],
            }
        ]
    else:
        result["locations"] = [{"logicalLocations": [logical]}]
    properties: dict = {"resource": finding.resource}
    if finding.burn_rate is not None:
        properties["burnRateUsdPerHour"] = finding.burn_rate
    if finding.evidence:
        properties["evidence"] = finding.evidence
    if loc.account:
        properties["account"] = loc.account
    if loc.region:
        properties["region"] = loc.region
    result["properties"] = properties
    if finding.suppression is not None:
        sup = finding.suppression
        result["suppressions"] = [
            {
                "kind": "inSource" if sup.kind == "inSource" else "external",
                "status": "accepted",
                "justification": sup.reason,
            }
        ]
    return result


def render(result: ScanResult, category: str = "costbreaker") -> str:
    rules = sorted(result.rules, key=lambda r: r.id)
    # Findings may come from rules outside the selection only by mistake; list them too.
    known = {r.id for r in rules}
    from costbreaker.rules import REGISTRY

    rules += [REGISTRY[f.rule_id] for f in result.findings if f.rule_id not in known]
    rules = sorted({r.id: r for r in rules}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{error.file}: {error.message}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(error.file),
                        "region": {"startLine": max(error.line, 1)},
                    }
                }
            ],
            "descriptor": {"id": "input-error"},
        }
        for error in result.errors
    ] + [
        {
            "level": "note",
            "message": {"text": f"{notice.file}: {notice.message}"},
            "descriptor": {"id": "skipped-input"},
        }
        for notice in result.inventory.notices
    ]
    run = {
        "tool": {
            "driver": {
                "name": "costbreaker",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": "https://github.com/costbreaker/costbreaker",
                "rules": [_rule(r) for r in rules],
            }
        },
        "automationDetails": {"id": f"{category}/"},
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": not result.errors,
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": [_result(f, index) for f in result.findings],
    }
    document = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
