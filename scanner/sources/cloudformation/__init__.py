"""CloudFormation source: a template (YAML or JSON, short-form intrinsics, SAM) to facts.

cfn-lint decodes the template; `template.py` resolves values; one adapter module per
rule family turns resources into facts.
"""

from __future__ import annotations

from costbreaker.inventory import InputError, Inventory, Notice
from costbreaker.sources.cloudformation import guards, scaling  # noqa: F401  (registers adapters)
from costbreaker.sources.cloudformation.registry import ADAPTERS
from costbreaker.sources.cloudformation.template import (
    CfnResource,
    CfnTemplate,
    TemplateError,
    position,
)
from costbreaker.sources.files import SourceFile

__all__ = ["load", "CfnTemplate", "CfnResource"]

NOT_A_TEMPLATE = "not a CloudFormation template (no top-level Resources)"


def decode(source: SourceFile) -> tuple[object | None, list[InputError]]:
    """Decode with cfn-lint's loader; its parse errors become InputErrors naming the file.

    The document is composed by libyaml first; the bodies of resources whose type no
    adapter reads are then cut down to their `Type` before cfn-lint's constructor builds
    the line-and-column-carrying nodes, which is where decoding spends its time. What
    cannot be composed (a syntax error, JSON with tabs) goes through cfn-lint's own
    `decode_str`, for its JSON fallback and its exact messages.
    """
    from cfnlint.decode import cfn_yaml

    try:
        loader = cfn_yaml.CfnFullLoader(source.text, source.display)
        loader.add_multi_constructor("!", cfn_yaml.multi_constructor)
        try:
            root = loader.get_single_node()
            if root is None:
                return _full_decode(source)
            _prune(root)
            tree = loader.construct_document(root)
        finally:
            loader.dispose()
        guard = getattr(cfn_yaml, "_guard_alias_expansion", None)
        if guard is not None and "&" in source.text:
            guard(tree, source.display)
    except cfn_yaml.CfnParseError as exc:
        return None, _errors(source, exc.matches)
    except RecursionError:
        return None, [InputError(source.display, "template is nested too deeply to decode")]
    except Exception:  # a syntax error: let cfn-lint decode it for the JSON fallback
        return _full_decode(source)
    return tree, []


def _prune(root: object) -> None:
    """Replace each irrelevant resource's body by a mapping holding only its Type."""
    from yaml import MappingNode, ScalarNode

    if not isinstance(root, MappingNode):
        return
    for key, value in root.value:
        if not (isinstance(key, ScalarNode) and key.value == "Resources"):
            continue
        if not isinstance(value, MappingNode):
            continue
        for index, (name, body) in enumerate(value.value):
            if not isinstance(body, MappingNode) or str(name.value).startswith("Fn::"):
                continue
            type_entry = next(
                ((k, v) for k, v in body.value if isinstance(k, ScalarNode) and k.value == "Type"),
                None,
            )
            if type_entry is None:
                continue
            type_node = type_entry[1]
            if (
                isinstance(type_node, ScalarNode)
                and type_node.tag == "tag:yaml.org,2002:str"
                and type_node.value not in ADAPTERS
            ):
                # A new node, not an edit: an alias elsewhere may share the old one.
                slim = MappingNode(body.tag, [type_entry], body.start_mark, body.end_mark)
                value.value[index] = (name, slim)


def _full_decode(source: SourceFile) -> tuple[object | None, list[InputError]]:
    from cfnlint.decode import decode_str

    try:
        tree, matches = decode_str(source.text)
    except RecursionError:
        return None, [InputError(source.display, "template is nested too deeply to decode")]
    except Exception as exc:  # cfn-lint may raise on inputs it does not expect
        return None, [InputError(source.display, f"cannot decode: {exc}")]
    errors = _errors(source, matches)
    if errors:
        return None, errors
    return tree, []


def _errors(source: SourceFile, matches: object) -> list[InputError]:
    return [
        InputError(
            source.display,
            f"cannot parse the template: {_clean(match.message)}",
            line=int(getattr(match, "linenumber", 0) or 0),
            column=int(getattr(match, "columnnumber", 0) or 0),
        )
        for match in matches or []
    ]


def _clean(message: str) -> str:
    return " ".join(str(message).split())


# Text that makes a template worth decoding into facts: a resource type some adapter
# handles, or a construct that can hide one (Fn::ForEach, a Rain module).
_EXPANDERS = ("Fn::ForEach", "Rain::")


def _worth_decoding(text: str) -> bool:
    return any(marker in text for marker in ADAPTERS) or any(m in text for m in _EXPANDERS)


def _top_level_keys(text: str) -> set[str] | None:
    """The document's top-level keys, from libyaml's event stream without building the
    document; None when it is not well-formed YAML (or JSON)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    keys: set[str] = set()
    depth = 0
    expect_key = False
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if depth == 1 and expect_key:
                    expect_key = False
                depth += 1
                if depth == 1:
                    expect_key = isinstance(event, yaml.MappingStartEvent)
                continue
            if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
                if depth == 1:
                    expect_key = True
                continue
            if depth == 1 and isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                if expect_key and isinstance(event, yaml.ScalarEvent):
                    keys.add(event.value)
                expect_key = not expect_key
    except yaml.YAMLError:
        return None
    return keys


def load(source: SourceFile, inventory: Inventory) -> None:
    """Parse one template and add its facts to the inventory.

    A template that names no resource type any rule reads yields no facts, so it is
    only checked for well-formedness (by libyaml, several times faster than decoding
    it); anything that fails that check is decoded by cfn-lint for its exact error.
    """
    if not _worth_decoding(source.text):
        keys = _top_level_keys(source.text)
        if keys is not None:
            if "Resources" in keys or "AWSTemplateFormatVersion" in keys:
                inventory.files_scanned.append(source.display)
            else:
                inventory.notices.append(Notice(source.display, NOT_A_TEMPLATE))
            return
    tree, errors = decode(source)
    if errors:
        inventory.errors.extend(errors)
        return
    if (
        isinstance(tree, dict)
        and "Resources" not in tree
        and "AWSTemplateFormatVersion" not in tree
    ):
        # Mentions CloudFormation but is not a template (an event, a fragment, a manifest).
        inventory.notices.append(Notice(source.display, NOT_A_TEMPLATE))
        return
    try:
        template = CfnTemplate(source.display, tree)
    except TemplateError as exc:
        inventory.errors.append(InputError(source.display, str(exc), exc.line, exc.column))
        return
    inventory.files_scanned.append(source.display)
    for key, logical_id, body in template.iter_resources():
        where = template.location(key, logical_id)
        if isinstance(body, dict) and isinstance(body.get("Type"), dict):
            # A pre-processor directive such as `!Rain::Module`: packaged before deploy.
            directive = next(iter(body["Type"]), "a directive")
            inventory.notices.append(
                Notice(
                    source.display,
                    f"resource {logical_id} (line {where.line}): Type is {directive}, a "
                    "pre-processor directive; scan the packaged template to cover it",
                )
            )
            continue
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            inventory.errors.append(
                InputError(
                    source.display,
                    f"resource {logical_id} has no Type (each resource needs a Type string)",
                    where.line,
                    where.column,
                )
            )
            continue
        resource_type = str(body["Type"])
        handlers = ADAPTERS.get(resource_type)
        skips, problems = template.skips(body, logical_id)
        for problem in problems:
            inventory.errors.append(InputError(source.display, problem, where.line))
        if not handlers:
            continue
        resource = CfnResource(template, logical_id, resource_type, body, where, skips)
        for handler in handlers:
            try:
                inventory.extend(list(handler(resource)))
            except Exception as exc:  # one odd resource must not stop the scan
                line, column = position(key)
                inventory.errors.append(
                    InputError(
                        source.display,
                        f"resource {logical_id} ({resource_type}) could not be analysed: "
                        f"{type(exc).__name__}: {exc}",
                        line,
                        column,
                    )
                )
