"""The rule registry: every rule's id, metadata and check function, in one place.

A rule is a pure function of the inventory and the configuration: it never opens a
file or calls AWS. Each family module (scaling, breaker, billing, ...) registers its
rules with `@rule(...)`; the engine runs only the rules whose facts are present.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from costbreaker.config import Config
from costbreaker.findings import SEVERITIES, Finding
from costbreaker.inventory import Inventory, Location, Resource

Check = Callable[[Inventory, Config], Iterable[Finding]]

HELP_BASE = "https://github.com/costbreaker/costbreaker/blob/main/docs/rules.md"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    description: str
    remediation: str  # one line: what to do
    help: str  # markdown: why it matters and how to fix, with an example
    check: Check
    needs: tuple[type, ...] = ()  # the rule runs only when one of these facts exists
    sources: tuple[str, ...] = ("cloudformation", "terraform", "account")
    remediation_template: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        """CamelCase name for SARIF's `rules[].name`."""
        return "".join(word.capitalize() for word in self.title.replace("-", " ").split()[:8])

    @property
    def help_uri(self) -> str:
        return f"{HELP_BASE}#{self.id.lower()}"

    @property
    def family(self) -> str:
        return self.id[:3] + "xx"

    def applies(self, inventory: Inventory) -> bool:
        return not self.needs or any(inventory.has(kind) for kind in self.needs)

    def hit(
        self,
        fact: Resource,
        message: str,
        location: Location | None = None,
        **extra,
    ) -> Finding:
        """A finding of this rule on a fact, at `location` (default: the fact's own)."""
        return Finding(
            rule_id=self.id,
            severity=self.severity,
            message=message,
            location=location if location is not None and location.line else fact.location,
            resource=fact.address,
            resource_type=fact.type,
            fix=self.remediation,
            **extra,
        )


def scope_word(source: str, account: str = "account") -> str:
    """What a scope is called in messages: template, module, plan or account. IAM is
    account-wide, spend is per region, so rules choose the account's word."""
    return {
        "cloudformation": "template",
        "terraform": "module",
        "terraform-plan": "plan",
        "account": account,
    }.get(source, "scope")


REGISTRY: dict[str, Rule] = {}


def rule(
    id: str,
    title: str,
    severity: str,
    description: str,
    remediation: str,
    help: str,
    needs: tuple[type, ...] = (),
    **kwargs,
) -> Callable[[Check], Rule]:
    """Register a check function as a rule with its metadata beside it."""
    if severity not in SEVERITIES:
        raise ValueError(f"{id}: unknown severity {severity}")

    def register(func: Check) -> Rule:
        if id in REGISTRY:
            raise ValueError(f"rule {id} registered twice")
        entry = Rule(
            id=id,
            title=title,
            severity=severity,
            description=description,
            remediation=remediation,
            help=help.strip(),
            check=func,
            needs=needs,
            **kwargs,
        )
        REGISTRY[id] = entry
        return entry

    return register


def all_rules() -> list[Rule]:
    """Every registered rule, sorted by id (importing the family modules once)."""
    from costbreaker.rules import billing, breaker, scaling, scaling_lambda  # noqa: F401

    return [REGISTRY[key] for key in sorted(REGISTRY)]


def get_rule(rule_id: str) -> Rule | None:
    all_rules()
    return REGISTRY.get(rule_id.upper())
