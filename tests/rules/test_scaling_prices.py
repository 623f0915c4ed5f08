"""The bundled price table (its shape, source and date) and the parsing of the script
that regenerates it from the AWS Pricing API, on PriceList entries shaped like the real
ones. No network."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json

import pytest

from costbreaker import prices
from tests.conftest import REPO


@pytest.fixture(scope="module")
def update_prices():
    spec = importlib.util.spec_from_file_location(
        "update_prices", REPO / "scripts" / "update_prices.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_records_its_source_date_and_region():
    meta = prices.meta()
    assert "us-east-1" in meta["what"]
    assert meta["source"] and meta["as_of"]
    dt.date.fromisoformat(meta["as_of"] + "-01" if len(meta["as_of"]) == 7 else meta["as_of"])


def test_the_table_covers_the_families_agents_and_models_run_on():
    table = prices.table()
    for instance_type in (
        "t3.large", "m5.xlarge", "m6i.2xlarge", "m7i.4xlarge", "c5.large", "c6i.xlarge",
        "c7i.2xlarge", "r5.large", "r6i.4xlarge", "g4dn.xlarge", "g5.48xlarge",
        "g6.12xlarge", "p4d.24xlarge", "p5.48xlarge", "inf2.48xlarge", "trn1.32xlarge",
    ):  # fmt: skip
        assert table["ec2"][instance_type] > 0, instance_type
    assert prices.sagemaker("ml.g5.xlarge") == 1.408
    assert all(0 < usd < 200 for usd in table["ec2"].values())
    # A bigger size of a family never costs less than a smaller one.
    for family in ("m5", "c6i", "r6i", "g5", "g6", "inf2"):
        sizes = ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "48xlarge"]
        known = [table["ec2"][f"{family}.{s}"] for s in sizes if f"{family}.{s}" in table["ec2"]]
        assert known == sorted(known), family


def test_missing_prices_are_none_never_zero():
    assert prices.ec2("x2iedn.32xlarge") is None
    assert prices.sagemaker("ml.nonexistent.xlarge") is None


@pytest.mark.parametrize(
    ("cpu", "memory", "vcpu", "gb"),
    [
        (256, 512, 0.25, 0.5),
        ("1024", "2048", 1, 2),
        ("4 vCPU", "16 GB", 4, 16),
        ("2 vcpu", "4GB", 2, 4),
    ],
)
def test_task_sizes_read_every_way_ecs_accepts(cpu, memory, vcpu, gb):
    assert prices.task_vcpu(cpu) == vcpu
    assert prices.task_memory_gb(memory) == gb


def test_fargate_price_of_a_task():
    # 1 vCPU and 2 GB: 0.04048 + 2 x 0.004445
    assert prices.fargate(1, 2) == pytest.approx(0.04937)
    assert prices.fargate(1, 2, arm=True) == pytest.approx(0.03238 + 2 * 0.00356)


def _entry(attributes: dict, dimensions: list[tuple[str, str]], service="AmazonEC2") -> str:
    """A PriceList entry as get_products returns it: a JSON string."""
    sku = "JRTCKXETXF7QH8A2"
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute Instance",
                "attributes": {"servicecode": service, **attributes},
                "sku": sku,
            },
            "serviceCode": service,
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT{i}": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": f"${usd} per On Demand Linux Instance Hour",
                                "appliesTo": [],
                                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT{i}",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                            for i, (unit, usd) in enumerate(dimensions)
                        },
                        "sku": sku,
                        "effectiveDate": "2024-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20241101000000",
            "publicationDate": "2024-11-01T00:00:00Z",
        }
    )


EC2_ATTRIBUTES = {
    "instanceType": "g5.xlarge",
    "regionCode": "us-east-1",
    "location": "US East (N. Virginia)",
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "licenseModel": "No License required",
    "usagetype": "BoxUsage:g5.xlarge",
    "operation": "RunInstances",
    "vcpu": "4",
    "memory": "16 GiB",
}


def test_parse_an_ec2_on_demand_entry(update_prices):
    entry = _entry(EC2_ATTRIBUTES, [("Hrs", "1.0060000000")])
    assert update_prices.parse_price_item("ec2", entry) == ("ec2", "g5.xlarge", 1.006)


def test_parse_skips_what_is_not_an_on_demand_linux_box(update_prices):
    dedicated = {**EC2_ATTRIBUTES, "usagetype": "DedicatedUsage:g5.xlarge"}
    assert update_prices.parse_price_item("ec2", _entry(dedicated, [("Hrs", "1.1")])) is None
    with_sql = {**EC2_ATTRIBUTES, "operation": "RunInstances:0006"}
    assert update_prices.parse_price_item("ec2", _entry(with_sql, [("Hrs", "2.0")])) is None
    free = _entry(EC2_ATTRIBUTES, [("Hrs", "0.0000000000")])
    assert update_prices.parse_price_item("ec2", free) is None


def test_parse_keeps_the_highest_hourly_tier(update_prices):
    dynamodb = _entry(
        {
            "usagetype": "WriteCapacityUnit-Hrs",
            "group": "DDB-WriteUnits",
            "regionCode": "us-east-1",
        },
        [("WriteCapacityUnit-Hrs", "0.0000000000"), ("WriteCapacityUnit-Hrs", "0.0006500000")],
        service="AmazonDynamoDB",
    )
    assert update_prices.parse_price_item("dynamodb", dynamodb) == (
        "dynamodb",
        "write_capacity_unit_hour",
        0.00065,
    )


def test_parse_sagemaker_and_fargate_entries(update_prices):
    hosting = _entry(
        {
            "instanceType": "ml.g5.xlarge",
            "component": "Hosting",
            "usagetype": "USE1-Host:ml.g5.xlarge",
        },
        [("Hrs", "1.4080000000")],
        service="AmazonSageMaker",
    )
    assert update_prices.parse_price_item("sagemaker", hosting) == (
        "sagemaker",
        "ml.g5.xlarge",
        1.408,
    )
    training = _entry(
        {
            "instanceType": "ml.g5.xlarge",
            "component": "Training",
            "usagetype": "USE1-Train:ml.g5.xlarge",
        },
        [("Hrs", "1.4080000000")],
        service="AmazonSageMaker",
    )
    assert update_prices.parse_price_item("sagemaker", training) is None
    vcpu = _entry(
        {"usagetype": "USE1-Fargate-vCPU-Hours:perCPU", "regionCode": "us-east-1"},
        [("hours", "0.0404800000")],
        service="AmazonECS",
    )
    assert update_prices.parse_price_item("fargate", vcpu) == (
        "fargate",
        "linux_x86_64.vcpu_hour",
        0.04048,
    )


def test_build_table_keeps_the_listed_families_and_records_the_run(update_prices):
    entries = [
        ("ec2", "g5.xlarge", 1.006),
        ("ec2", "x2iedn.xlarge", 0.834),
        ("sagemaker", "ml.g5.xlarge", 1.408),
        ("fargate", "linux_x86_64.vcpu_hour", 0.04048),
        ("fargate", "linux_x86_64.gb_hour", 0.004445),
        ("dynamodb", "read_capacity_unit_hour", 0.00013),
    ]
    table = update_prices.build_table(entries, {"g5"}, {"what": "x"}, dt.date(2026, 12, 4))
    assert table["ec2"] == {"g5.xlarge": 1.006}
    assert table["sagemaker"] == {"ml.g5.xlarge": 1.408}
    assert table["fargate"] == {"linux_x86_64": {"vcpu_hour": 0.04048, "gb_hour": 0.004445}}
    assert table["_meta"]["as_of"] == "2026-12-04"
    assert "pricing:GetProducts" in table["_meta"]["source"]
    assert update_prices.families_of(prices.table()) >= {"g5", "p5", "inf2", "trn1", "m7i"}
