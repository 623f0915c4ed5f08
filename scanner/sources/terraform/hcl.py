"""Terraform HCL: python-hcl2's parse tree, kept with line numbers, and an evaluator.

python-hcl2's dictionary output loses where attributes are; its Lark parse tree keeps
the line and column of every node, so we walk the tree. The evaluator knows just
enough Terraform to bound a value: literals, locals, variables bounded by their
validation blocks, conditionals (largest branch), `min`/`max`, arithmetic, string
templates and `jsonencode`. Anything else is `Unknown` with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from costbreaker.inventory import Location, Value, as_number


class HclSyntaxError(Exception):
    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Unknown:
    """A value static analysis cannot know; `ref` is the address it refers to, if any."""

    why: str
    ref: str = ""


@dataclass(frozen=True)
class Bound:
    """A number known only by its largest possible value."""

    value: float
    why: str
    choices: tuple = ()


@dataclass
class Attr:
    name: str
    expr: Any  # lark Tree
    line: int
    column: int


@dataclass
class Block:
    type: str
    labels: list[str]
    attrs: dict[str, Attr]
    blocks: list[Block]
    line: int
    column: int
    end_line: int
    file: str = ""

    def children(self, block_type: str) -> list[Block]:
        return [b for b in self.blocks if b.type == block_type]


def parse(text: str, file: str) -> list[Block]:
    """Top-level blocks of one .tf file; HclSyntaxError with line and column on failure."""
    import hcl2
    from lark.exceptions import LarkError, UnexpectedInput

    if not text.endswith("\n"):
        text += "\n"
    try:
        tree = hcl2.parses_to_tree(text)
    except UnexpectedInput as exc:
        line = getattr(exc, "line", 0) or 0
        column = getattr(exc, "column", 0) or 0
        found = getattr(exc, "token", None)
        if found is None or str(found) == "$END":
            detail = "unexpected end of file"
        elif not str(found).strip():
            detail = "unexpected end of line"
        else:
            detail = f"unexpected {str(found)!r}"
        raise HclSyntaxError(f"HCL syntax error: {detail}", line, column) from None
    except (LarkError, RecursionError, ValueError) as exc:
        raise HclSyntaxError(f"HCL syntax error: {type(exc).__name__}: {exc}") from None
    body = _child(tree, "body")
    return _body(body, file)[1] if body is not None else []


def _child(tree: Any, name: str) -> Any:
    for child in getattr(tree, "children", []):
        if getattr(child, "data", None) == name:
            return child
    return None


def _label(node: Any) -> str:
    data = getattr(node, "data", None)
    if data in ("identifier", "keyword"):  # python-hcl2 parses `for_each` as a keyword
        return str(node.children[0])
    if data == "string":
        return "".join(
            str(part.children[0])
            for part in node.children
            if getattr(part, "data", None) == "string_part"
            and part.children
            and not hasattr(part.children[0], "data")
        )
    return str(node)


def _body(body: Any, file: str) -> tuple[dict[str, Attr], list[Block]]:
    attrs: dict[str, Attr] = {}
    blocks: list[Block] = []
    for child in body.children:
        data = getattr(child, "data", None)
        if data == "attribute":
            name = _label(child.children[0])
            attrs[name] = Attr(name, child.children[-1], child.meta.line, child.meta.column)
        elif data == "block":
            parts = child.children
            block_type = _label(parts[0])
            labels = [
                _label(p) for p in parts[1:] if getattr(p, "data", None) in ("identifier", "string")
            ]
            inner = _child(child, "body")
            inner_attrs, inner_blocks = _body(inner, file) if inner is not None else ({}, [])
            blocks.append(
                Block(
                    block_type,
                    labels,
                    inner_attrs,
                    inner_blocks,
                    child.meta.line,
                    child.meta.column,
                    child.meta.end_line,
                    file,
                )
            )
    return attrs, blocks


# ---- evaluation ----------------------------------------------------------------------

_MAX_DEPTH = 40


@dataclass
class Scope:
    """What names mean inside one module: its variables and locals."""

    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Attr] = field(default_factory=dict)
    providers: list[Block] = field(default_factory=list)  # `provider` blocks (regions)
    # `data "aws_iam_policy_document"` blocks by address, so that a document merging
    # others (source/override_policy_documents) can read them.
    documents: dict[str, Block] = field(default_factory=dict)
    _bounds: dict[str, Any] = field(default_factory=dict)

    def variable(self, name: str) -> Any:
        if name not in self._bounds:
            self._bounds[name] = variable_bound(self.variables.get(name), name, self)
        return self._bounds[name]


class Evaluator:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._locals_in_progress: set[str] = set()

    def evaluate(self, expr: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            return Unknown("expression nested too deeply")
        data = getattr(expr, "data", None)
        kids = [k for k in getattr(expr, "children", []) if not _is_noise(k)]
        if data == "expr_term":
            if len(kids) == 1:
                return self.evaluate(kids[0], depth + 1)
            inner = [k for k in kids if hasattr(k, "data")]
            return self.evaluate(inner[0], depth + 1) if inner else Unknown("empty expression")
        if data == "int_lit":
            return int(str(kids[0]).replace("_", ""), 0) if kids else 0
        if data == "float_lit":
            return float(str(kids[0]))
        if data == "literal_value":
            word = str(kids[0])
            return {"true": True, "false": False, "null": None}.get(word, word)
        if data == "string":
            return self._string(kids, depth)
        if data in ("heredoc_template", "heredoc_template_trim"):
            return _heredoc(str(kids[0]), data.endswith("trim"))
        if data == "tuple":
            return [self.evaluate(k, depth + 1) for k in kids if hasattr(k, "data")]
        if data == "object":
            return self._object(kids, depth)
        if data == "identifier":
            return Unknown(f"bare name {kids[0]}")
        if data in ("get_attr_expr_term", "index_expr_term"):
            return self._traversal(expr, depth)
        if data == "conditional":
            return self._conditional(kids, depth)
        if data == "binary_op":
            return self._binary(kids, depth)
        if data == "unary_op":
            op = str(kids[0])
            value = self.evaluate(kids[1], depth + 1)
            if op == "-" and isinstance(value, int | float) and not isinstance(value, bool):
                return -value
            if op == "!" and isinstance(value, bool):
                return not value
            return Unknown(f"{op} of an unknown value")
        if data == "function_call":
            return self._call(kids, depth)
        if data in ("for_tuple_expr", "for_object_expr"):
            return Unknown("a for expression is not evaluated")
        if data in ("attr_splat_expr_term", "full_splat_expr_term"):
            return Unknown("a splat expression is not evaluated", _ref_of(expr))
        return Unknown(f"{data} is not evaluated")

    # -- pieces --

    def _string(self, kids: list, depth: int) -> Any:
        parts: list[str] = []
        for part in kids:
            if getattr(part, "data", None) != "string_part":
                continue
            for piece in part.children:
                if hasattr(piece, "data") and piece.data == "interpolation":
                    inner = [k for k in piece.children if hasattr(k, "data")]
                    value = self.evaluate(inner[0], depth + 1) if inner else ""
                    if isinstance(value, Unknown | Bound) or isinstance(value, list | dict):
                        return Unknown(
                            f"a string template with {getattr(value, 'why', 'a value')}",
                            getattr(value, "ref", ""),
                        )
                    parts.append(_to_text(value))
                elif hasattr(piece, "data"):
                    return Unknown("a template directive is not evaluated")
                else:
                    parts.append(str(piece))
        return "".join(parts)

    def _object(self, kids: list, depth: int) -> Any:
        result: dict[Any, Any] = {}
        for elem in kids:
            if getattr(elem, "data", None) != "object_elem":
                continue
            key_node, value_node = [k for k in elem.children if hasattr(k, "data")][:2]
            key_expr = key_node.children[0] if key_node.children else key_node
            inner = [k for k in getattr(key_expr, "children", []) if hasattr(k, "data")]
            if (
                getattr(key_expr, "data", None) == "expr_term"
                and inner
                and inner[0].data == "identifier"
            ):
                key = str(inner[0].children[0])
            else:
                key = self.evaluate(key_expr, depth + 1)
                if not isinstance(key, str | int | float | bool):
                    key = f"<{getattr(key, 'why', 'unknown key')}>"
            result[key] = self.evaluate(value_node, depth + 1)
        return result

    def _traversal(self, expr: Any, depth: int) -> Any:
        path = _path_of(expr)
        if not path:
            return Unknown("an index expression is not evaluated", _ref_of(expr))
        head = path[0]
        if head == "var" and len(path) >= 2:
            value = self.scope.variable(path[1])
            return value if len(path) == 2 else Unknown(f"an attribute of variable {path[1]}")
        if head == "local" and len(path) >= 2:
            return self._local(path[1], depth) if len(path) == 2 else Unknown("a local's attribute")
        if head in ("count", "each"):
            return Unknown(f"{'.'.join(path)} depends on count/for_each")
        if head == "path":
            return Unknown("a path reference")
        ref = _ref_of(expr)
        return Unknown(f"a reference to {ref or '.'.join(path)}", ref)

    def _local(self, name: str, depth: int) -> Any:
        attr = self.scope.locals.get(name)
        if attr is None:
            return Unknown(f"local.{name} is not declared")
        if name in self._locals_in_progress:
            return Unknown(f"local.{name} refers to itself")
        self._locals_in_progress.add(name)
        try:
            return self.evaluate(attr.expr, depth + 1)
        finally:
            self._locals_in_progress.discard(name)

    def _conditional(self, kids: list, depth: int) -> Any:
        parts = [k for k in kids if hasattr(k, "data")]
        condition = self.evaluate(parts[0], depth + 1)
        if isinstance(condition, bool):
            return self.evaluate(parts[1 if condition else 2], depth + 1)
        branches = [self.evaluate(parts[1], depth + 1), self.evaluate(parts[2], depth + 1)]
        for branch in branches:
            if isinstance(branch, Unknown):
                return Unknown(f"in one branch of a conditional, {branch.why}", branch.ref)
        numbers = [_number(b) for b in branches]
        if all(n is not None for n in numbers):
            choices = tuple(c for b in branches for c in _choices(b))
            top = max(n for n in numbers if n is not None)
            if all(not isinstance(b, Bound) for b in branches) and branches[0] == branches[1]:
                return branches[0]
            return Bound(top, "largest branch of a conditional", choices)
        if branches[0] == branches[1]:
            return branches[0]
        return Bound(float("nan"), "one of the branches of a conditional", tuple(branches))

    def _binary(self, kids: list, depth: int) -> Any:
        left = self.evaluate(kids[0], depth + 1)
        term = kids[1]
        term_kids = [k for k in term.children if not _is_noise(k)]
        op = str(term_kids[0].children[0]) if hasattr(term_kids[0], "data") else str(term_kids[0])
        right = self.evaluate(term_kids[1], depth + 1)
        if op in ("&&", "||"):
            if isinstance(left, bool) and isinstance(right, bool):
                return (left and right) if op == "&&" else (left or right)
            return Unknown("a boolean of unknown values")
        if op in ("==", "!="):
            if _is_plain(left) and _is_plain(right):
                return (left == right) if op == "==" else (left != right)
            return Unknown("a comparison of unknown values")
        a, b = _number(left), _number(right)
        if op in ("<", "<=", ">", ">="):
            if _is_plain(left) and _is_plain(right) and a is not None and b is not None:
                return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
            return Unknown("a comparison of unknown values")
        if a is None or b is None:
            bad = left if a is None else right
            return Unknown(
                f"arithmetic on {getattr(bad, 'why', 'a non-number')}", getattr(bad, "ref", "")
            )
        if isinstance(right, Bound) and op in ("-", "/"):
            return Unknown("subtracting or dividing by a bounded value has no upper bound")
        result = {
            "+": lambda: a + b,
            "-": lambda: a - b,
            "*": lambda: a * b,
            "/": lambda: a / b if b else None,
            "%": lambda: a % b if b else None,
        }.get(op, lambda: None)()
        if result is None:
            return Unknown(f"operator {op} is not evaluated")
        if isinstance(left, Bound) or isinstance(right, Bound):
            if (isinstance(left, Bound) and a < 0) or (isinstance(right, Bound) and b < 0):
                return Unknown("arithmetic on a negative bound")
            why = left.why if isinstance(left, Bound) else right.why  # type: ignore[union-attr]
            return Bound(result, why)
        return int(result) if float(result).is_integer() and op != "/" else result

    def _call(self, kids: list, depth: int) -> Any:
        name = _label(kids[0])
        args_node = next((k for k in kids if getattr(k, "data", None) == "arguments"), None)
        arg_nodes = [k for k in args_node.children if hasattr(k, "data")] if args_node else []
        if name in ("file", "templatefile", "timestamp", "uuid"):
            return Unknown(f"{name}() is read at plan time")
        args = [self.evaluate(a, depth + 1) for a in arg_nodes]
        if name == "min":
            numbers = [_number(a) for a in args]
            known = [n for n in numbers if n is not None]
            if not known:
                return Unknown("min() of unknown values")
            top = min(known)
            if all(n is not None for n in numbers) and not any(isinstance(a, Bound) for a in args):
                return args[numbers.index(top)]
            return Bound(top, "min() with a known argument")
        if name == "max":
            numbers = [_number(a) for a in args]
            if any(n is None for n in numbers) or not numbers:
                bad = next((a for a, n in zip(args, numbers, strict=False) if n is None), None)
                return Unknown(f"max() of {getattr(bad, 'why', 'an unknown value')}")
            top = max(n for n in numbers if n is not None)
            if any(isinstance(a, Bound) for a in args):
                return Bound(top, "max() of bounded values")
            return args[numbers.index(top)]
        if name == "jsonencode" and len(args) == 1:
            return Encoded(args[0])
        if name in ("tonumber", "floor", "ceil", "abs") and len(args) == 1:
            n = _number(args[0])
            if n is None:
                return args[0] if isinstance(args[0], Unknown) else Unknown(f"{name}() of text")
            if isinstance(args[0], Bound):
                return args[0] if name != "abs" else Unknown("abs() of a bound")
            import math

            return {"tonumber": n, "floor": math.floor(n), "ceil": math.ceil(n), "abs": abs(n)}[
                name
            ]
        if name == "tostring" and len(args) == 1 and _is_plain(args[0]):
            return _to_text(args[0])
        if name == "coalesce":
            for arg in args:
                if isinstance(arg, Unknown):
                    return arg
                if arg not in (None, ""):
                    return arg
            return None
        if name == "lookup" and len(args) in (2, 3) and isinstance(args[0], dict):
            if isinstance(args[1], str) and args[1] in args[0]:
                return args[0][args[1]]
            return Unknown("lookup() of an unknown key")
        if name == "length" and len(args) == 1 and isinstance(args[0], list | dict | str):
            return len(args[0])
        if name == "concat" and all(isinstance(a, list) for a in args):
            return [item for a in args for item in a]
        if name == "merge" and all(isinstance(a, dict) for a in args):
            merged: dict = {}
            for arg in args:
                merged.update(arg)
            return merged
        if name == "toset" and len(args) == 1 and isinstance(args[0], list):
            return args[0]
        return Unknown(f"{name}() is not evaluated")


@dataclass(frozen=True)
class Encoded:
    """The result of `jsonencode(...)`: the structure itself, unknown parts included."""

    data: Any

    def text(self) -> str | None:
        if contains_unknown(self.data):
            return None
        return json.dumps(self.data, sort_keys=True)


def contains_unknown(data: Any) -> bool:
    if isinstance(data, Unknown | Bound):
        return True
    if isinstance(data, dict):
        return any(contains_unknown(v) for v in data.values())
    if isinstance(data, list):
        return any(contains_unknown(v) for v in data)
    return False


def to_value(result: Any, where: Location | None) -> Value:
    """An evaluation result as an inventory Value."""
    if isinstance(result, Unknown):
        return Value.unresolved(result.why, where)
    if isinstance(result, Bound):
        value = None if result.value != result.value else result.value  # NaN: no number
        return Value.bound(value, result.why, where, choices=result.choices)
    if isinstance(result, Encoded):
        text = result.text()
        if text is None:
            return Value(
                "literal", result.data, "jsonencode with unknown parts", where, (result.data,)
            )
        return Value.literal(text, where, why="jsonencode")
    if result is None:
        return Value.absent(where)
    return Value.literal(result, where)


def variable_bound(block: Block | None, name: str, scope: Scope) -> Any:
    """What a variable can be: bounded by its validation blocks, or Unknown."""
    if block is None:
        return Unknown(f"variable {name} is not declared in this module")
    bounds: list[Bound] = []
    for validation in block.children("validation"):
        condition = validation.attrs.get("condition")
        if condition is None:
            continue
        found = _bound_from_condition(condition.expr, name, Evaluator(scope))
        if found is not None:
            bounds.append(found)
    if bounds:
        best = min(bounds, key=lambda b: b.value)
        return best
    default = block.attrs.get("default")
    hint = ""
    if default is not None:
        value = Evaluator(scope).evaluate(default.expr)
        if _is_plain(value):
            hint = f" (default {value})"
    return Unknown(
        f"variable {name} has no validation that bounds it{hint}, so any value can be passed"
    )


def _bound_from_condition(expr: Any, name: str, evaluator: Evaluator) -> Bound | None:
    """An upper bound on var.<name> implied by a validation condition, if any."""
    expr = _unwrap(expr)
    data = getattr(expr, "data", None)
    if data == "binary_op":
        kids = [k for k in expr.children if not _is_noise(k)]
        term = [k for k in kids[1].children if not _is_noise(k)]
        op = str(term[0].children[0]) if hasattr(term[0], "data") else str(term[0])
        left, right = _unwrap(kids[0]), _unwrap(term[1])
        if op == "&&":
            found = [
                b
                for b in (
                    _bound_from_condition(left, name, evaluator),
                    _bound_from_condition(right, name, evaluator),
                )
                if b is not None
            ]
            return min(found, key=lambda b: b.value) if found else None
        if op == "||":
            both = [
                _bound_from_condition(left, name, evaluator),
                _bound_from_condition(right, name, evaluator),
            ]
            if all(b is not None for b in both):
                return max(both, key=lambda b: b.value)  # type: ignore[arg-type, return-value]
            return None
        if _is_var(left, name) and op in ("<", "<=", "=="):
            limit = _number(evaluator.evaluate(right))
        elif _is_var(right, name) and op in (">", ">=", "=="):
            limit = _number(evaluator.evaluate(left))
        else:
            return None
        if limit is None:
            return None
        return Bound(limit, f"validation of variable {name} allows at most {_fmt(limit)}")
    if data == "function_call":
        kids = [k for k in expr.children if not _is_noise(k)]
        if _label(kids[0]) == "contains":
            args_node = next((k for k in kids if getattr(k, "data", None) == "arguments"), None)
            args = [k for k in args_node.children if hasattr(k, "data")] if args_node else []
            if len(args) == 2 and _is_var(_unwrap(args[1]), name):
                allowed = evaluator.evaluate(args[0])
                if isinstance(allowed, list):
                    numbers = [_number(a) for a in allowed]
                    if allowed and all(n is not None for n in numbers):
                        top = max(n for n in numbers if n is not None)
                        return Bound(
                            top,
                            f"validation of variable {name} allows at most {_fmt(top)}",
                            tuple(allowed),
                        )
                    if allowed:
                        return Bound(
                            float("nan"),
                            f"validation of variable {name} allows "
                            + ", ".join(str(a) for a in allowed[:6]),
                            tuple(allowed),
                        )
    return None


def _unwrap(node: Any) -> Any:
    """Strip expr_term and parentheses around a single inner expression."""
    while getattr(node, "data", None) == "expr_term":
        inner = [k for k in node.children if hasattr(k, "data")]
        if len(inner) != 1:
            return node
        node = inner[0]
    return node


def _is_var(node: Any, name: str) -> bool:
    return _path_of(node) == ["var", name]


def _path_of(node: Any) -> list[str]:
    """['var', 'x'] for var.x; [] when the traversal has an index or is not plain."""
    node = _unwrap(node)
    data = getattr(node, "data", None)
    if data == "identifier":
        return [str(node.children[0])]
    if data == "get_attr_expr_term":
        inner = [k for k in node.children if hasattr(k, "data")]
        base = _path_of(inner[0])
        attr = [k for k in inner[1].children if hasattr(k, "data")]
        if not base or not attr:
            return []
        return [*base, _label(attr[0])]
    return []


def _ref_of(node: Any) -> str:
    """The resource address a traversal refers to (aws_x.name, data.aws_y.name, module.m)."""
    parts = _loose_path(node)
    if not parts:
        return ""
    if parts[0] == "data" and len(parts) >= 3:
        return ".".join(parts[:3])
    if parts[0] == "module" and len(parts) >= 2:
        return ".".join(parts[:2])
    if parts[0] in ("var", "local", "each", "count", "path", "self", "terraform"):
        return ""
    return ".".join(parts[:2]) if len(parts) >= 2 else ""


def _loose_path(node: Any) -> list[str]:
    """The names along a traversal, skipping indexes and splats."""
    node = _unwrap(node)
    data = getattr(node, "data", None)
    if data == "identifier":
        return [str(node.children[0])]
    if data in (
        "get_attr_expr_term",
        "index_expr_term",
        "attr_splat_expr_term",
        "full_splat_expr_term",
    ):
        inner = [k for k in node.children if hasattr(k, "data")]
        base = _loose_path(inner[0])
        if data == "get_attr_expr_term":
            attr = [k for k in inner[1].children if hasattr(k, "data")]
            return [*base, _label(attr[0])] if base and attr else base
        return base
    return []


def _is_noise(node: Any) -> bool:
    if getattr(node, "data", None) == "new_line_or_comment":
        return True
    if hasattr(node, "type") and node.type in (
        "LPAR",
        "RPAR",
        "COMMA",
        "LSQB",
        "RSQB",
        "LBRACE",
        "RBRACE",
        "EQ",
        "COLON",
        "QMARK",
        "DBLQUOTE",
    ):
        return True
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, Bound):
        return None if value.value != value.value else value.value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return as_number(value)
    return None


def _choices(value: Any) -> tuple:
    if isinstance(value, Bound):
        return value.choices or (value.value,)
    return (value,)


def _is_plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _heredoc(token: str, trim: bool) -> str:
    lines = token.rstrip("\n").split("\n")  # the token ends after the delimiter line
    body = lines[1:-1] if len(lines) > 2 else []
    if trim:
        indents = [len(line) - len(line.lstrip()) for line in body if line.strip()]
        cut = min(indents) if indents else 0
        body = [line[cut:] for line in body]
    return "\n".join(body) + ("\n" if body else "")
