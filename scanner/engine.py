"""The scan: sources build the inventory, rules read it, suppressions mark findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from costbreaker import suppressions
from costbreaker.config import Config
from costbreaker.findings import Finding
from costbreaker.inventory import InputError, Inventory
from costbreaker.rules import Rule, all_rules
from costbreaker.sources import files as source_files


@dataclass
class ScanResult:
    findings: list[Finding]
    inventory: Inventory
    rules: list[Rule]
    root: Path = field(default_factory=Path.cwd)

    @property
    def errors(self) -> list[InputError]:
        return self.inventory.errors

    @property
    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.is_open]


def build_inventory(paths: Iterable[str], root: Path | None = None) -> Inventory:
    """Walk the paths and turn every template, module and plan into facts."""
    walker = source_files.FileWalker(root)
    found = walker.walk(list(paths))
    inventory = Inventory()
    inventory.errors.extend(walker.errors)
    inventory.notices.extend(walker.notices)
    by_kind: dict[str, list[source_files.SourceFile]] = {}
    for source in found:
        by_kind.setdefault(source.kind, []).append(source)
    if by_kind.get(source_files.CLOUDFORMATION):
        from costbreaker.sources import cloudformation

        for source in by_kind[source_files.CLOUDFORMATION]:
            cloudformation.load(source, inventory)
    if by_kind.get(source_files.TERRAFORM) or by_kind.get(source_files.TERRAFORM_PLAN):
        from costbreaker.sources import terraform

        terraform.load_modules(by_kind.get(source_files.TERRAFORM, []), inventory)
        for source in by_kind.get(source_files.TERRAFORM_PLAN, []):
            terraform.load_plan(source, inventory)
    return inventory


def select_rules(only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Rule]:
    """The rules to run: all, or those named (ids or families such as CB1xx)."""
    only = [o.upper() for o in only]
    skip = [s.upper() for s in skip]

    def matches(rule: Rule, patterns: list[str]) -> bool:
        return any(p == rule.id or p == rule.family.upper() for p in patterns)

    return [r for r in all_rules() if (not only or matches(r, only)) and not matches(r, skip)]


def run_rules(inventory: Inventory, config: Config, rules: list[Rule]) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        if rule.applies(inventory):
            findings.extend(rule.check(inventory, config))
    return findings


def scan(
    paths: Iterable[str],
    config: Config | None = None,
    rules: list[Rule] | None = None,
    baseline: str | None = None,
    today: dt.date | None = None,
    root: Path | None = None,
) -> ScanResult:
    """Scan files and folders; the whole pipeline, without any output."""
    config = config or Config()
    rules = rules if rules is not None else select_rules()
    baseline_keys = suppressions.load_baseline(baseline) if baseline else None
    inventory = build_inventory(paths, root)
    return evaluate(inventory, config, rules, baseline, baseline_keys, today, root)


def evaluate(
    inventory: Inventory,
    config: Config,
    rules: list[Rule],
    baseline: str | None = None,
    baseline_keys: set | None = None,
    today: dt.date | None = None,
    root: Path | None = None,
) -> ScanResult:
    """Run the rules on an inventory and mark suppressed findings."""
    today = today or dt.date.today()
    findings = run_rules(inventory, config, rules)
    suppressions.apply_inline(findings, inventory, config, today)
    suppressions.apply_config(findings, config, today)
    if baseline_keys is not None and baseline:
        suppressions.apply_baseline(findings, baseline_keys, baseline)
    findings.sort(key=Finding.sort_key)
    inventory.errors.sort(key=lambda e: (e.file, e.line, e.column, e.message))
    return ScanResult(findings, inventory, rules, (root or Path.cwd()).resolve())
