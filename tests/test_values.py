"""Value resolution: what static analysis may conclude about a configured number."""

from __future__ import annotations

from costbreaker.inventory import AutoScalingGroup
from costbreaker.sources.terraform.hcl import Evaluator, Scope, parse, to_value
from tests.conftest import FIXTURES, run_scan


def _groups(path) -> dict[str, AutoScalingGroup]:
    result = run_scan(path)
    return {g.address: g for g in result.inventory.of(AutoScalingGroup)}


def test_cloudformation_values_are_literal_bound_or_unresolved():
    groups = _groups(FIXTURES / "core" / "cfn" / "asg_bad.yaml")
    assert groups["LiteralTooHigh"].max_size.kind == "literal"
    assert groups["LiteralTooHigh"].max_size.number() == 500
    assert groups["FromBoundTooHigh"].max_size.kind == "bound"
    assert groups["FromBoundTooHigh"].max_size.number() == 80
    assert groups["FromParameter"].max_size.kind == "unresolved"
    assert groups["FromMapping"].max_size.number() == 120
    assert groups["BranchUnbounded"].max_size.kind == "unresolved"
    good = _groups(FIXTURES / "core" / "cfn" / "asg_good.json")
    assert good["FromAllowed"].max_size.number() == 8
    assert good["FromAllowed"].max_size.choices == (2, 4, 8)
    assert good["FromBranches"].max_size.number() == 30


def _eval(source: str, expr_name: str = "x"):
    blocks = parse(source, "t.tf")
    scope = Scope()
    for block in blocks:
        if block.type == "variable":
            scope.variables[block.labels[0]] = block
        if block.type == "locals":
            scope.locals.update(block.attrs)
    target = next(b for b in blocks if b.type == "output").attrs["value"]
    return to_value(Evaluator(scope).evaluate(target.expr), None)


def test_hcl_evaluator_bounds():
    variable = (
        'variable "n" {\n  validation {\n    condition = var.n > 0 && var.n <= 7\n'
        '    error_message = "x"\n  }\n}\n'
    )
    assert _eval(variable + 'output "o" { value = var.n }\n').number() == 7
    assert _eval(variable + 'output "o" { value = var.n * 2 + 1 }\n').number() == 15
    assert _eval(variable + 'output "o" { value = max(var.n, 9) }\n').number() == 9
    assert _eval('output "o" { value = min(var.free, 3) }\n').number() == 3
    assert _eval('output "o" { value = max(var.free, 3) }\n').kind == "unresolved"
    assert _eval('locals { a = 2 }\noutput "o" { value = local.a > 1 ? 5 : 50 }\n').value == 5
    assert _eval('output "o" { value = var.p ? 5 : 50 }\n').number() == 50  # largest branch
    assert _eval('output "o" { value = "a-${1 + 1}" }\n').value == "a-2"
    assert _eval('output "o" { value = -(3) }\n').value == -3
    encoded = _eval('output "o" { value = jsonencode({ A = ["x", 1] }) }\n')
    assert encoded.value == '{"A": ["x", 1]}'
    unbounded = _eval('variable "m" {\n  default = 3\n}\noutput "o" { value = var.m }\n')
    assert unbounded.kind == "unresolved" and "(default 3)" in unbounded.why
