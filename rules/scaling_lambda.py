"""CB105: a Lambda function that can invoke models or launch compute, with no reserved
concurrency.

Why it is its own module: the rule belongs to the scaling family (a function's
concurrency is its ceiling) but is decided by IAM analysis — what the function's role may
do, resolved within the scope (scanner/guards.py). Without reserved concurrency a
function stuck in a loop can run as many copies as the account allows (1,000 by
default), each invoking models or launching instances.
"""

from __future__ import annotations

from collections.abc import Iterator

from costbreaker.config import Config
from costbreaker.findings import Finding
from costbreaker.guards import LambdaFunction, guard_index
from costbreaker.inventory import Inventory, Location, Value
from costbreaker.rules import rule


def reservation_problem(value: Value, source: str) -> tuple[str, Location | None] | None:
    """Why the function has no reserved concurrency, or None when it has one."""
    if value.is_absent:
        attribute = (
            "reserved_concurrent_executions"
            if source.startswith("terraform")
            else "ReservedConcurrentExecutions"
        )
        return f"{attribute} is not set", None
    number = value.number()
    if number is not None and number < 0:
        return f"reserved_concurrent_executions is {int(number)} (unreserved)", value.location
    if number is None and value.kind == "unresolved" and source.startswith("terraform"):
        return (
            f"reserved_concurrent_executions cannot be confirmed: {value.why} (and -1 means "
            "unreserved)",
            value.location,
        )
    return None


@rule(
    id="CB105",
    title="Lambda function that can invoke models or launch compute has no reserved concurrency",
    severity="medium",
    description=(
        "A Lambda function (plain or SAM) whose role, resolved within the scope, may invoke "
        "models or launch compute has no reserved concurrency, so it can take the whole "
        "account's concurrency."
    ),
    remediation=(
        "Set ReservedConcurrentExecutions (reserved_concurrent_executions) to the most copies "
        "the function should ever run at once."
    ),
    help="""
An agent function that calls a model or launches instances and then re-invokes itself
(directly, through a queue, or through a tool call) multiplies with every loop. Reserved
concurrency is its hard ceiling.

**Fix** (CloudFormation): `ReservedConcurrentExecutions: 10`.
**Fix** (Terraform): `reserved_concurrent_executions = 10`.
""",
    needs=(LambdaFunction,),
    remediation_template="lambda-concurrency",
    tags=("scaling",),
)
def cb105(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = guard_index(inventory, config.required_actions)
    model = {a.lower() for a in guards.model_actions}
    for function in inventory.of(LambdaFunction):
        problem = reservation_problem(function.reserved_concurrency, function.source)
        if problem is None:
            continue
        principal = guards.principal_of(function)
        if principal is None:
            continue  # the role is outside the scope: nothing to judge it by
        grants = guards.grants(principal)
        if not grants:
            continue
        invokes = [a for a in grants if a.lower() in model]
        launches = [a for a in grants if a.lower() not in model]
        can = []
        if invokes:
            can.append(f"invoke models ({', '.join(invokes[:3])})")
        if launches:
            can.append(f"launch compute ({', '.join(launches[:3])})")
        first = next(iter(grants.values()))
        via = "its SAM-generated role" if principal is function else f"role {principal.address}"
        text, where = problem
        yield cb105.hit(
            function,
            f"Lambda function {function.address} can {' and '.join(can)} through {via} "
            f"({first.source}), but {text}: a loop can run as many copies at once as the "
            "account's whole concurrency allows.",
            where,
            evidence={"actions": sorted(grants), "role": principal.address},
        )
