"""The bundled price table: what one instance, task or capacity unit costs per hour.

CB107 multiplies each scaler's maximum by the price of one of its units. The prices live
in `data/prices.json` (on-demand, us-east-1, with their source and date in `_meta`;
`scripts/update_prices.py` regenerates it from the AWS Pricing API). The table is read
the first time a price is asked for, and once per process: a scan without scalers never
opens it.

A missing price is `None`, never 0: callers must say that a price is unknown.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

# ECS task sizes: CPU in units (1024 = 1 vCPU) or "1 vCPU"; memory in MiB or "2 GB".
_CPU_TEXT = re.compile(r"^\s*([0-9.]+)\s*vcpu\s*$", re.IGNORECASE)
_MEMORY_TEXT = re.compile(r"^\s*([0-9.]+)\s*(gb|mb|mib|gib)\s*$", re.IGNORECASE)


@cache
def table() -> dict[str, Any]:
    """The whole price table (read once)."""
    from importlib import resources  # only when a price is needed: it costs ~6 ms

    text = resources.files("costbreaker").joinpath("data/prices.json").read_text("utf-8")
    return json.loads(text)


def meta() -> dict[str, Any]:
    """Where the prices come from, their region and date."""
    return table().get("_meta", {})


def ec2(instance_type: str) -> float | None:
    """On-demand USD/hour of one EC2 instance of this type, or None when not in the table."""
    return table()["ec2"].get(instance_type.strip())


def sagemaker(instance_type: str) -> float | None:
    """USD/hour of one SageMaker hosting instance (ml.*), or None when not in the table."""
    return table()["sagemaker"].get(instance_type.strip())


def fargate(vcpu: float, memory_gb: float, arm: bool = False) -> float:
    """USD/hour of one Fargate task of this size (Linux; Spot priced as on-demand)."""
    rates = table()["fargate"]["linux_arm64" if arm else "linux_x86_64"]
    # Rounded past the table's own precision, so 4 vCPU and 16 GB is 0.23304, not
    # 0.23304000000000002.
    return round(vcpu * rates["vcpu_hour"] + memory_gb * rates["gb_hour"], 9)


def dynamodb_capacity_unit(write: bool) -> float:
    """USD/hour of one provisioned DynamoDB read or write capacity unit."""
    rates = table()["dynamodb"]
    return rates["write_capacity_unit_hour" if write else "read_capacity_unit_hour"]


def task_vcpu(value: Any) -> float | None:
    """vCPUs of an ECS task's `cpu`: 1024 units, "1024" or "1 vCPU" are all 1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) / 1024
    if isinstance(value, str):
        text = value.strip()
        match = _CPU_TEXT.match(text)
        if match:
            return float(match.group(1))
        try:
            return float(text) / 1024
        except ValueError:
            return None
    return None


def task_memory_gb(value: Any) -> float | None:
    """GB of an ECS task's `memory`: 2048 MiB, "2048" or "2 GB" are all 2."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) / 1024
    if isinstance(value, str):
        text = value.strip()
        match = _MEMORY_TEXT.match(text)
        if match:
            number = float(match.group(1))
            return number if match.group(2).lower() in ("gb", "gib") else number / 1024
        try:
            return float(text) / 1024
        except ValueError:
            return None
    return None
