"""IAM policy documents: parsing, action validation and what a statement really covers.

Why this exists: the breaker policies people copy from blog posts often look right and do
nothing. IAM accepts `Effect: Denies`, an action that does not exist or a Deny limited
to one region without a word, so the only way to know whether a breaker would stop a
runaway is to read it as IAM does. This module

- parses a policy document from any source (a decoded CloudFormation node, a Terraform
  `jsonencode` structure, heredoc or plan JSON text) into statements that keep the
  location of the statement and of each action, so findings point at the exact line;
- validates actions against the IAM action data cfn-lint ships
  (`cfnlint/data/AdditionalSpecs/Policies.json`), loaded lazily, once, and only when a
  policy exists in the scan; service prefixes and action names compare
  case-insensitively and a wildcard must match at least one real action;
- answers which concrete actions a statement names, honouring wildcards and
  `NotAction`, so coverage of `breaker.required_actions` and a principal's effective
  permissions can be computed.

It never opens template files or calls AWS.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from costbreaker.inventory import Location

# ---- the action data ----------------------------------------------------------------

# Real IAM actions that cfn-lint's bundled data does not list. Each entry says why it is
# here; tests/rules/test_breaker_iam.py has one test per entry. Keep it small: an entry
# that is not a real action would hide exactly the typo CB202 exists to catch.
ALLOWLIST: dict[str, str] = {
    # The AWS MCP Server (service prefix aws-mcp) lets agents call AWS APIs as MCP tools.
    # The Service Authorization Reference lists these three actions ("Actions, resources,
    # and condition keys for AWS MCP Server", list_awsmcpserver.html); cfn-lint's data
    # has no aws-mcp service at all. A breaker may deny CallReadWriteTool.
    "aws-mcp:invokemcp": "AWS MCP Server: use the MCP server (SAR, list_awsmcpserver)",
    "aws-mcp:callreadonlytool": "AWS MCP Server: call read-only tools (SAR, list_awsmcpserver)",
    "aws-mcp:callreadwritetool": (
        "AWS MCP Server: call read and write AWS APIs as tools (SAR, list_awsmcpserver)"
    ),
}

# Actions people write that do not exist (API names, not IAM actions), with what governs
# the API they meant. Each is documented on the API's reference page.
KNOWN_MISTAKES: dict[str, str] = {
    "bedrock:converse": "bedrock:InvokeModel governs the Converse API",
    "bedrock:conversestream": (
        "bedrock:InvokeModelWithResponseStream governs the ConverseStream API"
    ),
    "autoscaling:scaleout": (
        "scale-out goes through autoscaling:SetDesiredCapacity, UpdateAutoScalingGroup and "
        "ExecutePolicy"
    ),
    "ec2:launchinstances": "instances are launched by ec2:RunInstances",
    "bedrock:startasyncinvoke": "bedrock:InvokeModel governs the StartAsyncInvoke API",
    "bedrock:retrieveandgeneratestream": (
        "bedrock:RetrieveAndGenerate governs the RetrieveAndGenerateStream API"
    ),
    "lambda:invokewithresponsestream": (
        "lambda:InvokeFunction governs the InvokeWithResponseStream API"
    ),
    "bedrock:invokemodelwithbidirectionalstream": (
        "bedrock:InvokeModel governs the InvokeModelWithBidirectionalStream API"
    ),
}


class ActionData:
    """cfn-lint's IAM action data, decoded one service at a time.

    The file is ~2 MB of JSON and a scan needs a handful of its ~450 services, so the top
    level is indexed by position (it is pretty-printed: a top-level key is the only line
    that starts with one space and a quote) and a service is decoded when first asked
    for. A file in any other layout is decoded whole, as before.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.decoder = json.JSONDecoder()
        self.actions: dict[str, frozenset[str]] = {}
        self.offsets = _top_level_offsets(text)
        if not self.offsets:
            for service, spec in json.loads(text).items():
                self.actions[service.lower()] = _action_names(spec)
            self.offsets = dict.fromkeys(self.actions, -1)
        for entry in ALLOWLIST:
            self.offsets.setdefault(entry.split(":", 1)[0], -1)

    def services(self) -> list[str]:
        return list(self.offsets)

    def has(self, service: str) -> bool:
        return service in self.offsets

    def names(self, service: str) -> frozenset[str]:
        """The action names of a service (lower case), allowlisted ones included."""
        found = self.actions.get(service)
        if found is not None:
            return found
        offset = self.offsets.get(service)
        names: set[str] = set()
        if offset is not None and offset >= 0:
            spec, _ = self.decoder.raw_decode(self.text, offset)
            names = set(_action_names(spec))
        names.update(e.split(":", 1)[1] for e in ALLOWLIST if e.split(":", 1)[0] == service)
        self.actions[service] = frozenset(names)
        return self.actions[service]


def _top_level_offsets(text: str) -> dict[str, int]:
    """service → position of its value, for the pretty-printed layout ('\n "ec2": {')."""
    offsets: dict[str, int] = {}
    position = text.find('\n "')
    while position >= 0:
        start = position + 3
        end = text.find('"', start)
        if end < 0:
            break
        if text.startswith(": {", end + 1):
            offsets[text[start:end].lower()] = end + 3
        position = text.find('\n "', end)
    return offsets


def _action_names(spec: Any) -> frozenset[str]:
    actions = spec.get("Actions") if isinstance(spec, dict) else None
    return frozenset(a.lower() for a in (actions or {}))


_DATA: ActionData | None = None


def action_data() -> ActionData:
    """The IAM action data (cfn-lint's plus ALLOWLIST), read on first use only, so a scan
    without any policy never reads the file."""
    global _DATA
    if _DATA is None:
        _DATA = ActionData(_policies_text())
    return _DATA


def _policies_text() -> str:
    """cfn-lint's Policies.json, found without importing cfn-lint (which takes a third of
    a second, and a Terraform-only scan does not need it otherwise)."""
    from importlib import resources, util
    from pathlib import Path

    spec = util.find_spec("cfnlint")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "data" / "AdditionalSpecs" / "Policies.json"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return (
        resources.files("cfnlint.data.AdditionalSpecs")
        .joinpath("Policies.json")
        .read_text(encoding="utf-8")
    )


@lru_cache(maxsize=8192)
def _glob(pattern: str) -> re.Pattern[str]:
    """An IAM wildcard (`*`, `?`) as a compiled, case-insensitive full match."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()]
    return re.compile("".join(parts), re.DOTALL)


def matches(pattern: str, action: str) -> bool:
    """Does an Action pattern (`ec2:Run*`, `*`) name this concrete action? Case-insensitive."""
    if pattern == "*":
        return True
    if "?" not in pattern:
        star = pattern.find("*")
        if star < 0:
            return pattern.lower() == action.lower()
        if star == len(pattern) - 1:  # the common `service:Prefix*`, without a regex
            return action.lower().startswith(pattern[:-1].lower())
    return _glob(pattern).fullmatch(action.lower()) is not None


@lru_cache(maxsize=4096)
def expand(pattern: str) -> frozenset[str]:
    """Every real action (lower case `service:action`) a pattern names; cached."""
    data = action_data()
    text = pattern.strip().lower()
    if text == "*":
        return frozenset(f"{s}:{a}" for s in data.services() for a in data.names(s))
    if ":" not in text:
        return frozenset()
    service, name = text.split(":", 1)
    services = (
        [s for s in data.services() if _glob(service).fullmatch(s)]
        if "*" in service or "?" in service
        else ([service] if data.has(service) else [])
    )
    found: set[str] = set()
    for svc in services:
        names = data.names(svc)
        if "*" in name or "?" in name:
            regex = _glob(name)
            found.update(f"{svc}:{a}" for a in names if regex.fullmatch(a))
        elif name in names:
            found.add(f"{svc}:{name}")
    return frozenset(found)


@lru_cache(maxsize=4096)
def action_problem(pattern: str) -> str | None:
    """Why an Action entry names no real IAM action, or None when it is valid."""
    text = pattern.strip()
    if text == "*":
        return None
    if not text or any(c.isspace() for c in pattern):
        return f"'{pattern}' has stray whitespace, so IAM matches no action with it"
    if ":" not in text:
        return f"'{text}' is not of the form service:action"
    service, name = text.split(":", 1)
    lower = text.lower()
    if lower in KNOWN_MISTAKES:
        return f"'{text}' is not an IAM action: {KNOWN_MISTAKES[lower]}"
    data = action_data()
    wild_service = "*" in service or "?" in service
    if not wild_service and not data.has(service.lower()):
        hint = _suggest(service.lower(), data.services())
        return f"'{text}': there is no IAM service prefix '{service}'{hint}"
    if not name:
        return f"'{text}' has no action name after the colon"
    if expand(text):
        return None
    if "*" in name or "?" in name or wild_service:
        return f"'{text}' matches no real IAM action"
    names = data.names(service.lower())
    hint = _suggest(name.lower(), list(names), prefix=f"{service}:", written=name)
    return f"'{text}': {service} has no action '{name}'{hint}"


def _suggest(word: str, candidates: list[str], prefix: str = "", written: str = "") -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.8)
    if not close:
        return ""
    return f" (did you mean '{prefix}{_cased(close[0], written or word)}'?)"


def _cased(suggestion: str, written: str) -> str:
    """The (lower-case) suggestion with the capitals of what the user wrote where the two
    agree: 'replicatetags' for 'ReplicationTags' becomes 'ReplicateTags'."""
    matcher = difflib.SequenceMatcher(None, written.lower(), suggestion, autojunk=False)
    out = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(written[i1:i2])
        else:
            chunk = suggestion[j1:j2]
            if i1 < len(written) and written[i1 : i1 + 1].isupper():
                chunk = chunk[:1].upper() + chunk[1:]
            out.append(chunk)
    return "".join(out)


# ---- the document model -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One Action/NotAction/Resource entry as written; text None when not static."""

    text: str | None
    location: Location
    why: str = ""  # why it is not static


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition key under one operator, e.g. StringEquals aws:RequestedRegion."""

    operator: str
    key: str
    values: tuple[str, ...]  # static values; '?' for one that is not
    location: Location

    def describe(self) -> str:
        shown = ", ".join(self.values[:5]) + (", ..." if len(self.values) > 5 else "")
        return f"{self.operator} {self.key} = [{shown}]"


@dataclass(frozen=True)
class Statement:
    """A statement with the locations a finding needs."""

    index: int
    sid: str
    effect: str | None  # as written; None when missing or not static
    effect_why: str  # "" when static, else "missing" or why it is not static
    location: Location  # the statement itself
    effect_location: Location
    actions: tuple[Entry, ...]
    not_action: bool
    action_location: Location
    resources: tuple[Entry, ...]
    not_resource: bool
    resource_location: Location
    conditions: tuple[Condition, ...] = ()
    condition_location: Location | None = None
    principals: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_deny(self) -> bool:
        return self.effect == "Deny"

    @property
    def is_allow(self) -> bool:
        return self.effect == "Allow"

    @property
    def intends_deny(self) -> bool:
        """Written as some form of deny (`Deny`, `deny`, `Denies`), valid or not."""
        return self.effect is not None and self.effect.strip().lower().startswith("den")

    def names(self, action: str) -> bool:
        """Whether the Action (or NotAction) element applies to this concrete action.

        Entries that are not static never match (and, under NotAction, make the answer
        unknowable, so they count as naming nothing)."""
        services = self._services
        if services is not None and action.split(":", 1)[0].lower() not in services:
            return False  # no Action pattern is of the action's service
        patterns = [e.text for e in self.actions if e.text is not None]
        if self.not_action:
            if len(patterns) != len(self.actions):
                return False
            return not any(matches(p, action) for p in patterns)
        return any(matches(p, action) for p in patterns)

    @cached_property
    def _services(self) -> frozenset[str] | None:
        """The services an Action list can name (None: any, e.g. `*` or NotAction)."""
        if self.not_action:
            return None
        services = set()
        for entry in self.actions:
            if entry.text is None:
                continue
            service = entry.text.split(":", 1)[0].lower() if ":" in entry.text else "*"
            if "*" in service or "?" in service:
                return None
            services.add(service)
        return frozenset(services)

    def naming_entry(self, action: str) -> Entry | None:
        """The Action entry that names the action (None under NotAction or no match)."""
        if self.not_action:
            return None
        for entry in self.actions:
            if entry.text is not None and matches(entry.text, action):
                return entry
        return None

    @property
    def all_resources(self) -> bool:
        """Resource is `*` (or an ARN whose every part after the service is a wildcard)."""
        if self.not_resource:
            return False
        return any(e.text is not None and _is_all_resources(e.text) for e in self.resources)


def _is_all_resources(text: str) -> bool:
    if text == "*":
        return True
    parts = text.split(":", 5)
    return (
        len(parts) == 6
        and parts[0] == "arn"
        and all(p in ("*", "") for p in parts[3:5])
        and (parts[5] == "*")
    )


@dataclass(frozen=True)
class Document:
    """A parsed policy document; `problems` are structural (no Statement, bad JSON)."""

    statements: tuple[Statement, ...]
    location: Location
    problems: tuple[tuple[str, Location], ...] = ()


# ---- parsing ----------------------------------------------------------------------------


class Source:
    """How to read values and locations of one kind of input (plain data by default).

    `at(node, path)` is the location of a node, `key_at(mapping, key, path)` that of a
    key; `path` is the node's position in the document (`("Statement", 0, "Action", 1)`),
    which sources without per-node marks (JSON text, HCL) use instead of the node.
    """

    def __init__(self, fallback: Location) -> None:
        self.fallback = fallback

    def at(self, node: Any, path: tuple) -> Location | None:
        return None

    def key_at(self, mapping: Any, key: str, path: tuple) -> Location | None:
        return None

    def text(self, node: Any) -> tuple[str | None, str]:
        """A static string (or number) and '' — or None and why it is not static."""
        if isinstance(node, bool):
            return ("true" if node else "false"), ""
        if isinstance(node, str | int | float):
            return str(node), ""
        why = getattr(node, "why", None)
        if isinstance(why, str):
            return None, why
        if isinstance(node, dict) and len(node) == 1:
            return None, f"{next(iter(node))} is not evaluated statically"
        return None, f"a {type(node).__name__} where a string belongs"

    def branches(self, node: Any) -> list | None:
        """The alternatives of a conditional node (CloudFormation Fn::If), or None."""
        return None


class TokenSource(Source):
    """Locations for JSON text or an HCL expression, found by walking its string tokens in
    document order alongside the parsed data (keys and string values are tokens)."""

    def __init__(self, fallback: Location, data: Any, tokens: list[tuple[str, int]]) -> None:
        super().__init__(fallback)
        self.tokens = tokens
        self.cursor = 0
        self.lines: dict[tuple, int] = {}
        self._walk(data, ())

    def _find(self, text: str) -> int:
        for index in range(self.cursor, len(self.tokens)):
            if self.tokens[index][0] == text:
                self.cursor = index + 1
                return self.tokens[index][1]
        return 0

    def _walk(self, node: Any, path: tuple) -> int:
        first = 0
        if isinstance(node, dict):
            items: Iterable[tuple[Any, Any]] = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            return 0
        for key, value in items:
            line = self._find(str(key)) if isinstance(key, str) else 0
            here = (*path, key)
            if isinstance(value, str):
                value_line = self._find(value) or line
                self.lines[here] = value_line or line
                line = line or value_line
            elif isinstance(value, dict | list):
                inner = self._walk(value, here)
                self.lines[here] = line or inner
                line = line or inner
            elif line:
                self.lines[here] = line
            if line and not first:
                first = line
        return first

    def _loc(self, path: tuple) -> Location | None:
        line = self.lines.get(path)
        return self.fallback.at(line) if line else None

    def at(self, node: Any, path: tuple) -> Location | None:
        return self._loc(path)

    def key_at(self, mapping: Any, key: str, path: tuple) -> Location | None:
        return self._loc(path)


def json_tokens(text: str, first_line: int) -> list[tuple[str, int]]:
    """The JSON strings of a text with the line each is on (first_line = line of text[0])."""
    tokens = []
    line = first_line
    position = 0
    for match in _JSON_STRING.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        try:
            tokens.append((json.loads(match.group(0)), line))
        except ValueError:
            tokens.append((match.group(0)[1:-1], line))
    return tokens


_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def parse_text(text: str, where: Location, first_line: int = 0) -> Document:
    """A document from JSON text (a heredoc, a plan value, a CFN string property)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return Document((), where, ((f"the policy is not valid JSON: {exc}", where),))
    if not isinstance(data, dict):
        # JSON text of a number or string would lead straight back here.
        return Document((), where, (("the policy document is not a JSON object", where),))
    tokens = json_tokens(text, first_line) if first_line else []
    source: Source = TokenSource(where, data, tokens) if tokens else Source(where)
    return parse_document(data, source)


def parse_document(data: Any, source: Source) -> Document:
    """Statements of a policy document (a mapping with Statement), as IAM reads them."""
    where = source.at(data, ()) or source.fallback
    if not isinstance(data, dict):
        if data is None:
            return Document((), where, (("the policy document is empty", where),))
        text, why = source.text(data)
        if text is not None:
            return parse_text(text, where)
        return Document((), where)  # not static: nothing to say about it
    statement_key = next((k for k in data if k == "Statement"), None)
    if statement_key is None:
        return Document((), where, (("the policy has no Statement", where),))
    raw = data[statement_key]
    items: list[tuple[int, Any]] = []
    if isinstance(raw, list):
        items = list(enumerate(raw))
    elif isinstance(raw, dict):
        branches = source.branches(raw)
        items = [(0, b) for b in branches] if branches is not None else [(0, raw)]
    statements: list[Statement] = []
    for index, node in items:
        branches = source.branches(node)
        for choice in branches if branches is not None else [node]:
            if isinstance(choice, dict):
                path = ("Statement", index) if isinstance(raw, list) else ("Statement",)
                statements.append(_statement(len(statements), choice, path, source))
    return Document(tuple(statements), where)


def _statement(index: int, node: dict, path: tuple, source: Source) -> Statement:
    here = source.at(node, path) or source.fallback

    def key_loc(name: str) -> Location:
        return source.key_at(node, name, (*path, name)) or here

    effect_node = node.get("Effect")
    if effect_node is None:
        effect, effect_why = None, "missing"
    else:
        effect, effect_why = source.text(effect_node)
    action_key = "NotAction" if "NotAction" in node and "Action" not in node else "Action"
    resource_key = "NotResource" if "NotResource" in node and "Resource" not in node else "Resource"
    sid, _ = source.text(node.get("Sid")) if node.get("Sid") is not None else ("", "")
    conditions, condition_location = _conditions(node, path, source, here)
    return Statement(
        index=index,
        sid=sid or "",
        effect=effect,
        effect_why=effect_why,
        location=here,
        effect_location=key_loc("Effect"),
        actions=_entries(node.get(action_key), (*path, action_key), source, key_loc(action_key)),
        not_action=action_key == "NotAction",
        action_location=key_loc(action_key),
        resources=_entries(
            node.get(resource_key), (*path, resource_key), source, key_loc(resource_key)
        ),
        not_resource=resource_key == "NotResource",
        resource_location=key_loc(resource_key),
        conditions=conditions,
        condition_location=condition_location,
        principals=_principals(node.get("Principal"), source),
    )


def _entries(node: Any, path: tuple, source: Source, where: Location) -> tuple[Entry, ...]:
    if node is None:
        return ()
    branches = source.branches(node)
    if branches is not None:
        found: list[Entry] = []
        for branch in branches:
            found.extend(_entries(branch, path, source, where))
        return tuple(found)
    if isinstance(node, list):
        entries: list[Entry] = []
        for i, item in enumerate(node):
            inner = source.branches(item)
            if inner is not None:
                for branch in inner:
                    entries.extend(_entries(branch, (*path, i), source, where))
                continue
            text, why = source.text(item)
            entries.append(Entry(text, source.at(item, (*path, i)) or where, why))
        return tuple(entries)
    text, why = source.text(node)
    return (Entry(text, source.at(node, path) or where, why),)


def _conditions(
    node: dict, path: tuple, source: Source, here: Location
) -> tuple[tuple[Condition, ...], Location | None]:
    block = node.get("Condition")
    if block is None:
        return (), None
    block_loc = source.key_at(node, "Condition", (*path, "Condition")) or here
    if not isinstance(block, dict) or source.branches(block) is not None:
        return (Condition("?", "?", ("?",), block_loc),), block_loc
    found: list[Condition] = []
    for operator, keys in block.items():
        op_path = (*path, "Condition", operator)
        op_loc = source.key_at(block, str(operator), op_path) or block_loc
        if not isinstance(keys, dict):
            found.append(Condition(str(operator), "?", ("?",), op_loc))
            continue
        for key, values in keys.items():
            key_loc = source.key_at(keys, str(key), (*op_path, key)) or op_loc
            items = values if isinstance(values, list) else [values]
            texts = tuple((source.text(v)[0] or "?") for v in items)
            found.append(Condition(str(operator), str(key), texts, key_loc))
    return tuple(found), block_loc


def _principals(node: Any, source: Source) -> dict[str, tuple[str, ...]]:
    if node is None:
        return {}
    text, _ = source.text(node)
    if text is not None:
        return {"*": (text,)}
    if not isinstance(node, dict):
        return {"?": ("?",)}
    found: dict[str, tuple[str, ...]] = {}
    for kind, values in node.items():
        items = values if isinstance(values, list) else [values]
        found[str(kind)] = tuple((source.text(v)[0] or "?") for v in items)
    return found


# ---- what a set of statements allows or denies ------------------------------------------


def expand_required(required: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each configured action (as written) → the concrete actions it stands for."""
    result: dict[str, frozenset[str]] = {}
    for entry in required:
        concrete = expand(entry) if ("*" in entry or "?" in entry) else frozenset()
        result[entry] = concrete or frozenset({entry.lower()})
    return result


def denying(statements: Iterable[Statement], action: str) -> list[Statement]:
    """The valid Deny statements that name an action (whatever their scope)."""
    return [s for s in statements if s.is_deny and s.names(action)]


def allowing(statements: Iterable[Statement], action: str) -> list[Statement]:
    return [s for s in statements if s.is_allow and s.names(action)]


def denies_outright(statement: Statement, action: str) -> bool:
    """A Deny that stops this action for every resource and under every condition."""
    return (
        statement.is_deny
        and not statement.conditions
        and statement.all_resources
        and statement.names(action)
    )
