"""Regenerate scanner/data/prices.json from the AWS Price List Query API.

CB107 prices every scaler from the table bundled with costbreaker, so that a scan needs
no credentials and no network. This script refreshes that table for whoever has AWS
credentials (any identity allowed `pricing:GetProducts`):

    python scripts/update_prices.py            # rewrites scanner/data/prices.json
    python scripts/update_prices.py --dry-run  # prints what would change

It asks the Pricing API (its endpoint is in us-east-1) for us-east-1 on-demand prices:
EC2 Linux instances with shared tenancy and no pre-installed software, SageMaker
real-time inference (hosting) instances, Fargate vCPU-hours and GB-hours, and DynamoDB
provisioned capacity units. Only the instance families the table already lists (plus
any named with --family) are kept, so the table stays small and reviewable. Where a
product has several hourly price dimensions (tiers), the highest is kept: the table is
for worst cases. The `_meta` block records the source and the date of the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

TABLE = Path(__file__).resolve().parent.parent / "scanner" / "data" / "prices.json"
REGION = "us-east-1"

# (service code, filters) per section of the table. TERM_MATCH filters are exact.
QUERIES: dict[str, tuple[str, dict[str, str]]] = {
    "ec2": (
        "AmazonEC2",
        {
            "regionCode": REGION,
            "operatingSystem": "Linux",
            "tenancy": "Shared",
            "preInstalledSw": "NA",
            "capacitystatus": "Used",
            "licenseModel": "No License required",
        },
    ),
    "sagemaker": ("AmazonSageMaker", {"regionCode": REGION}),
    "fargate": ("AmazonECS", {"regionCode": REGION}),
    "dynamodb": ("AmazonDynamoDB", {"regionCode": REGION}),
}


def hourly_usd(product: dict[str, Any]) -> float | None:
    """The highest on-demand USD price per hour among a product's price dimensions."""
    best: float | None = None
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            unit = str(dimension.get("unit", "")).lower()
            if "hr" not in unit and "hour" not in unit:
                continue  # per request, per GB-month, ...
            try:
                usd = float(dimension.get("pricePerUnit", {}).get("USD", ""))
            except ValueError:
                continue
            if usd > 0 and (best is None or usd > best):
                best = usd
    return best


def parse_price_item(section: str, item: str | dict[str, Any]) -> tuple[str, str, float] | None:
    """One PriceList entry (a JSON string, as get_products returns it, or its dict) as
    (section, key, USD per hour), or None when it is not a price the table keeps.

    Keys: the instance type for ec2 and sagemaker; "<arch>.vcpu_hour"/"<arch>.gb_hour"
    for fargate; "read_capacity_unit_hour"/"write_capacity_unit_hour" for dynamodb.
    """
    product = json.loads(item) if isinstance(item, str) else item
    attributes = product.get("product", {}).get("attributes", {})
    usage = str(attributes.get("usagetype", ""))
    usd = hourly_usd(product)
    if usd is None:
        return None
    if section == "ec2":
        instance_type = attributes.get("instanceType", "")
        if not instance_type or attributes.get("operation", "RunInstances") != "RunInstances":
            return None
        if "BoxUsage" not in usage:  # dedicated hosts, reservations, ...
            return None
        return section, instance_type, usd
    if section == "sagemaker":
        instance_type = str(attributes.get("instanceType", ""))
        component = str(attributes.get("component", "")).lower()
        hosting = component == "hosting" or "Host:" in usage
        if instance_type.startswith("ml.") and hosting and "Async" not in usage:
            return section, instance_type, usd
        return None
    if section == "fargate":
        arch = "linux_arm64" if "ARM" in usage.upper() else "linux_x86_64"
        if "Windows" in usage or "Spot" in usage:
            return None
        if "Fargate-vCPU-Hours" in usage:
            return section, f"{arch}.vcpu_hour", usd
        if "Fargate-GB-Hours" in usage:
            return section, f"{arch}.gb_hour", usd
        return None
    if section == "dynamodb":
        group = str(attributes.get("group", ""))
        if "IA" in usage or "Replicated" in usage or "Replicated" in group:
            return None
        if usage.endswith("ReadCapacityUnit-Hrs"):
            return section, "read_capacity_unit_hour", usd
        if usage.endswith("WriteCapacityUnit-Hrs"):
            return section, "write_capacity_unit_hour", usd
        return None
    return None


def build_table(
    entries: Iterable[tuple[str, str, float]],
    families: set[str],
    previous_meta: dict[str, Any],
    today: dt.date,
) -> dict[str, Any]:
    """The price table from parsed entries, keeping only the families asked for."""
    table: dict[str, Any] = {
        "_meta": {
            **previous_meta,
            "source": "AWS Price List Query API (pricing:GetProducts, endpoint us-east-1)",
            "as_of": today.isoformat(),
            "generated_by": "scripts/update_prices.py",
        },
        "ec2": {},
        "sagemaker": {},
        "fargate": {},
        "dynamodb": {},
    }
    for section, key, usd in entries:
        if section in ("ec2", "sagemaker"):
            family = key.removeprefix("ml.").split(".", 1)[0]
            if family not in families:
                continue
            current = table[section].get(key)
            table[section][key] = usd if current is None else max(current, usd)
        elif section == "fargate":
            arch, rate = key.split(".", 1)
            table["fargate"].setdefault(arch, {})[rate] = usd
        else:
            table[section][key] = usd
    for section in ("ec2", "sagemaker"):
        table[section] = dict(sorted(table[section].items()))
    return table


def fetch(section: str) -> Iterator[str]:  # pragma: no cover - needs AWS credentials
    """Every PriceList entry of one section, page by page."""
    import boto3

    service, filters = QUERIES[section]
    client = boto3.client("pricing", region_name="us-east-1")
    paginator = client.get_paginator("get_products")
    pages = paginator.paginate(
        ServiceCode=service,
        Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()],
        FormatVersion="aws_v1",
    )
    for page in pages:
        yield from page.get("PriceList", [])


def families_of(table: dict[str, Any]) -> set[str]:
    """The instance families an existing table lists (g5 for g5.xlarge, ml.g5.xlarge)."""
    names = [*table.get("ec2", {}), *table.get("sagemaker", {})]
    return {name.removeprefix("ml.").split(".", 1)[0] for name in names}


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - needs AWS credentials
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=TABLE)
    parser.add_argument("--family", action="append", default=[], help="also keep this family")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    current = json.loads(TABLE.read_text(encoding="utf-8")) if TABLE.exists() else {}
    families = families_of(current) | set(args.family)
    entries = []
    for section in QUERIES:
        for item in fetch(section):
            parsed = parse_price_item(section, item)
            if parsed is not None:
                entries.append(parsed)
    meta = {k: v for k, v in current.get("_meta", {}).items() if k != "caveats"}
    table = build_table(entries, families, meta, dt.date.today())
    text = json.dumps(table, indent=1) + "\n"
    if args.dry_run:
        sys.stdout.write(text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"{args.output}: {len(table['ec2'])} EC2 and {len(table['sagemaker'])} SageMaker types")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
