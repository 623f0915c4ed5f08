"""docs/rules.md is the catalogue as `costbreaker rules --format markdown` prints it, and
every rule's metadata is complete: what users read must match what the code does."""

from __future__ import annotations

import re

from costbreaker.reports import catalogue
from costbreaker.rules import all_rules
from tests.conftest import REPO, SHARED, requires_shared


def test_docs_rules_md_is_current():
    expected = catalogue.listing(all_rules(), "markdown")
    assert (REPO / "docs" / "rules.md").read_text() == expected, (
        "regenerate: costbreaker rules --format markdown > docs/rules.md"
    )


def test_every_rule_has_complete_metadata():
    for rule in all_rules():
        assert re.fullmatch(r"CB[1-5]\d\d", rule.id)
        assert rule.title and rule.description and rule.remediation and rule.help
        assert rule.help_uri.endswith("#" + rule.id.lower())


@requires_shared()
def test_rule_ids_and_severities_match_the_catalogue_contract():
    """RULES.md is the contract: ids never change meaning, severities as listed."""
    table = re.findall(
        r"^\| (CB\d{3}) \| (critical|high|medium|low) \|", (SHARED / "RULES.md").read_text(), re.M
    )
    contract = dict(table)
    ours = {r.id: r.severity for r in all_rules()}
    for rule_id, severity in ours.items():
        assert contract.get(rule_id) == severity, rule_id
