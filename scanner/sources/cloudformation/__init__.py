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


def decode(source: SourceFile) -> tuple[object | None, list[InputError]]:
    """Decode with cfn-lint; its parse errors become InputErrors naming the file."""
    from cfnlint.decode import decode_str

    try:
        tree, matches = decode_str(source.text)
    except RecursionError:
        return None, [InputError(source.display, "template is nested too deeply to decode")]
    except Exception as exc:  # cfn-lint may raise on inputs it does not expect
        return None, [InputError(source.display, f"cannot decode: {exc}")]
    errors = [
        InputError(
            source.display,
            f"cannot parse the template: {_clean(match.message)}",
            line=int(getattr(match, "linenumber", 0) or 0),
            column=int(getattr(match, "columnnumber", 0) or 0),
        )
        for match in matches or []
    ]
    if errors:
        return None, errors
    return tree, []


def _clean(message: str) -> str:
    return " ".join(str(message).split())


def load(source: SourceFile, inventory: Inventory) -> None:
    """Parse one template and add its facts to the inventory."""
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
        inventory.notices.append(
            Notice(source.display, "not a CloudFormation template (no top-level Resources)")
        )
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
