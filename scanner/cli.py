"""The `costbreaker` command.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 a usage or
input error (a file that could not be read fails the run, but never stops the scan of
the others). --soft-fail always exits 0 once the scan has run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from costbreaker import __version__
from costbreaker.findings import SEVERITIES, SEVERITY_RANK

FORMATS = ("text", "json", "sarif")
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="costbreaker",
        description="Find missing or broken cost-runaway guardrails in AWS infrastructure.",
    )
    parser.add_argument("--version", action="version", version=f"costbreaker {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser(
        "scan",
        help="scan CloudFormation templates and Terraform (HCL and plan JSON)",
        description="Scan CloudFormation templates and Terraform modules and plans.",
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="files and folders to scan")
    scan.add_argument(
        "-f",
        "--format",
        action="append",
        default=[],
        metavar="FORMAT[=FILE]",
        help="text, json or sarif; repeat for several, each optionally to its own file "
        "(e.g. --format text --format sarif=results.sarif). Default: text",
    )
    scan.add_argument(
        "-o", "--output", metavar="FILE", help="write the (single) format without =FILE here"
    )
    scan.add_argument("-c", "--config", metavar="FILE", help="configuration (.costbreaker.yml)")
    scan.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default="low",
        help="lowest severity that fails the run (default: low, i.e. any open finding)",
    )
    scan.add_argument(
        "--soft-fail", action="store_true", help="always exit 0 after scanning, still report"
    )
    scan.add_argument("--baseline", metavar="FILE", help="mark findings in this baseline")
    scan.add_argument(
        "--create-baseline", metavar="FILE", help="write the open findings to a baseline file"
    )
    scan.add_argument(
        "--rules", metavar="IDS", default="", help="only these rules, e.g. CB101,CB1xx"
    )
    scan.add_argument("--skip-rules", metavar="IDS", default="", help="skip these rules")
    scan.add_argument(
        "--sarif-category",
        default="costbreaker-iac",
        help="SARIF automationDetails category (one per upload)",
    )

    rules = sub.add_parser("rules", help="list the rules, or explain one")
    rules.add_argument("rule", nargs="?", metavar="RULE_ID")
    rules.add_argument("--format", choices=("text", "json", "markdown"), default="text")

    sub.add_parser(
        "simulate",
        help="replay simulated agent traffic through the runtime detector",
        add_help=False,
    )
    return parser


def _split_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _outputs(formats: list[str], output: str | None) -> list[tuple[str, str | None]]:
    chosen: list[tuple[str, str | None]] = []
    for spec in formats or ["text"]:
        name, _, path = spec.partition("=")
        name = name.strip().lower()
        if name not in FORMATS:
            raise UsageError(f"unknown format {name!r} (choose from {', '.join(FORMATS)})")
        chosen.append((name, path or None))
    bare = [i for i, (_, path) in enumerate(chosen) if path is None]
    if output:
        if len(bare) != 1:
            raise UsageError("--output needs exactly one --format without =FILE")
        chosen[bare[0]] = (chosen[bare[0]][0], output)
    elif len(bare) > 1:
        raise UsageError("several formats to standard output: give each but one a =FILE")
    return chosen


def _validate_rule_ids(ids: list[str]) -> None:
    from costbreaker.rules import all_rules

    known = {r.id for r in all_rules()} | {r.family.upper() for r in all_rules()}
    unknown = [i for i in ids if i.upper() not in known]
    if unknown:
        raise UsageError(f"unknown rule id(s): {', '.join(unknown)} (see 'costbreaker rules')")


def cmd_scan(args: argparse.Namespace) -> int:
    from costbreaker import engine, suppressions
    from costbreaker.config import ConfigError, load_config

    try:
        outputs = _outputs(args.format, args.output)
        only, skip = _split_ids(args.rules), _split_ids(args.skip_rules)
        _validate_rule_ids(only + skip)
        config = load_config(args.config)
        baseline_keys = suppressions.load_baseline(args.baseline) if args.baseline else None
    except (UsageError, ConfigError, suppressions.BaselineError) as exc:
        print(f"costbreaker: error: {exc}", file=sys.stderr)
        return EXIT_ERROR

    rules = engine.select_rules(only, skip)
    inventory = engine.build_inventory(args.paths)
    result = engine.evaluate(inventory, config, rules, args.baseline, baseline_keys)

    for name, path in outputs:
        text = _render(name, result, args, to_file=path is not None)
        if path is None:
            sys.stdout.write(text)
        else:
            try:
                Path(path).write_text(text, encoding="utf-8")
            except OSError as exc:
                print(f"costbreaker: error: cannot write {path}: {exc.strerror}", file=sys.stderr)
                return EXIT_ERROR
    if args.create_baseline:
        try:
            Path(args.create_baseline).write_text(
                suppressions.baseline_document(result.findings), encoding="utf-8"
            )
        except OSError as exc:
            print(
                f"costbreaker: error: cannot write {args.create_baseline}: {exc}", file=sys.stderr
            )
            return EXIT_ERROR
    sys.stdout.flush()
    if args.soft_fail:
        return EXIT_OK
    if result.errors:
        return EXIT_ERROR
    threshold = SEVERITY_RANK[args.fail_on]
    failing = [f for f in result.open_findings if SEVERITY_RANK[f.severity] >= threshold]
    return EXIT_FINDINGS if failing else EXIT_OK


def _render(name: str, result, args: argparse.Namespace, to_file: bool) -> str:
    if name == "json":
        from costbreaker.reports import json_report

        return json_report.render(result)
    if name == "sarif":
        from costbreaker.reports import sarif

        return sarif.render(result, args.sarif_category)
    from costbreaker.reports import text

    return text.render(result, colour=False if to_file else None)


def cmd_rules(args: argparse.Namespace) -> int:
    from costbreaker.reports import catalogue
    from costbreaker.rules import all_rules, get_rule

    if args.rule:
        found = get_rule(args.rule)
        if found is None:
            print(f"costbreaker: error: no rule {args.rule!r}", file=sys.stderr)
            return EXIT_ERROR
        sys.stdout.write(catalogue.explain(found, args.format))
        return EXIT_OK
    sys.stdout.write(catalogue.listing(all_rules(), args.format))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "simulate":
        from costbreaker.runtime import simulate

        return simulate.main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "scan":
            return cmd_scan(args)
        if args.command == "rules":
            return cmd_rules(args)
    except KeyboardInterrupt:
        print("costbreaker: interrupted", file=sys.stderr)
        return 130
    parser.print_help()
    return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
