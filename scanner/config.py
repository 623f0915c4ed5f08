"""`.costbreaker.yml`: the configuration keys of RULES.md, validated, with defaults.

The keys are a contract with users: an unknown key or a wrong type is a usage error
that names the key, never a silent default.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_NAMES = (".costbreaker.yml", ".costbreaker.yaml")

# The breaker action set of the brief, by category. Users may replace it.
DEFAULT_REQUIRED_ACTIONS: dict[str, list[str]] = {
    "provisioning": [
        "ec2:RunInstances",
        "ec2:CreateFleet",
        "ec2:RequestSpotFleet",
        "ec2:RequestSpotInstances",
    ],
    "scale-out": [
        "autoscaling:SetDesiredCapacity",
        "autoscaling:UpdateAutoScalingGroup",
        "autoscaling:ExecutePolicy",
        "autoscaling:PutScalingPolicy",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
    ],
    "clusters": [
        "autoscaling:CreateAutoScalingGroup",
        "eks:CreateCluster",
        "eks:CreateNodegroup",
        "eks:UpdateNodegroupConfig",
        "ecs:CreateService",
        "ecs:UpdateService",
    ],
    "model-invocation": [
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:InvokeAgent",
        "bedrock:InvokeFlow",
        "sagemaker:InvokeEndpoint",
        "sagemaker:InvokeEndpointAsync",
    ],
}

DEFAULTS: dict[str, Any] = {
    "ceilings": {
        "asg_max_size": 50,
        "scalable_target_max_capacity": 100,
        "fleet_target_capacity": 100,
        "nodegroup_max_size": 50,
        "max_hourly_usd": 500,
        "tag_key": "costbreaker:max-size",
    },
    "breaker": {"required_actions": DEFAULT_REQUIRED_ACTIONS},
    "proxy": {"principals": [], "hosts": []},
    "org": {
        "sandbox_patterns": ["*sandbox*", "*experiment*", "*playground*"],
        "production_patterns": ["*prod*"],
    },
    "scope": {"guardrail_stack": False},
    "suppressions": [],
    "allow_inline_suppressions": True,
}

_NUMBER = {"type": "number", "minimum": 0}
_STRINGS = {"type": "array", "items": {"type": "string"}}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ceilings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "asg_max_size": _NUMBER,
                "scalable_target_max_capacity": _NUMBER,
                "fleet_target_capacity": _NUMBER,
                "nodegroup_max_size": _NUMBER,
                "max_hourly_usd": _NUMBER,
                "tag_key": {"type": "string", "minLength": 1},
            },
        },
        "breaker": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "required_actions": {
                    "oneOf": [
                        _STRINGS,
                        {"type": "object", "additionalProperties": _STRINGS},
                    ]
                }
            },
        },
        "proxy": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"principals": _STRINGS, "hosts": _STRINGS},
        },
        "org": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"sandbox_patterns": _STRINGS, "production_patterns": _STRINGS},
        },
        "scope": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"guardrail_stack": {"type": "boolean"}},
        },
        "suppressions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["rule", "reason"],
                "properties": {
                    "rule": {"type": "string", "pattern": "^(CB[0-9]{3}|\\*)$"},
                    "resource": {"type": "string"},
                    "file": {"type": "string"},
                    "reason": {"type": "string", "minLength": 1},
                    "expires": {"type": "string", "format": "date"},
                },
            },
        },
        "allow_inline_suppressions": {"type": "boolean"},
    },
}


class ConfigError(Exception):
    """A usage error in the configuration; the message names the file and the key."""


@dataclass(frozen=True)
class ConfigSuppression:
    rule: str
    reason: str
    resource: str = ""
    file: str = ""
    expires: str = ""


@dataclass
class Config:
    """The effective configuration (defaults merged with the user's file)."""

    data: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    path: str = ""

    def ceiling(self, key: str) -> Any:
        return self.data["ceilings"][key]

    @property
    def required_actions(self) -> dict[str, list[str]]:
        """The breaker's required actions by category (a flat list becomes 'required')."""
        actions = self.data["breaker"]["required_actions"]
        if isinstance(actions, list):
            return {"required": list(actions)}
        return {k: list(v) for k, v in actions.items()}

    @property
    def guardrail_stack(self) -> bool:
        return bool(self.data["scope"]["guardrail_stack"])

    @property
    def allow_inline_suppressions(self) -> bool:
        return bool(self.data["allow_inline_suppressions"])

    @property
    def suppressions(self) -> list[ConfigSuppression]:
        return [
            ConfigSuppression(
                rule=s["rule"],
                reason=s["reason"],
                resource=s.get("resource", ""),
                file=s.get("file", ""),
                expires=str(s.get("expires", "")),
            )
            for s in self.data["suppressions"]
        ]

    def section(self, name: str) -> dict[str, Any]:
        return self.data[name]


def merge_config(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "breaker":
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    if "breaker" in override:
        merged["breaker"] = {**base["breaker"], **override["breaker"]}
    return merged


def validate(data: Any, source: str) -> None:
    """Raise ConfigError naming the first offending key."""
    import jsonschema

    checker = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(checker.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = errors[0]
    path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        known = set(error.instance) - set(allowed) if isinstance(error.instance, dict) else set()
        name = ".".join([*map(str, error.absolute_path), *sorted(known)[:1]])
        raise ConfigError(f"{source}: unknown key '{name}' (allowed here: {', '.join(allowed)})")
    raise ConfigError(f"{source}: '{path}': {error.message}")


def load_config(path: str | None = None, search_dir: Path | None = None) -> Config:
    """Load the named file, or `.costbreaker.yml` in the working directory, or defaults."""
    candidate: Path | None = None
    if path:
        candidate = Path(path)
        if not candidate.is_file():
            raise ConfigError(f"{path}: configuration file not found")
    else:
        base = search_dir or Path.cwd()
        for name in DEFAULT_CONFIG_NAMES:
            if (base / name).is_file():
                candidate = base / name
                break
    if candidate is None:
        return Config()
    import yaml

    shown = str(candidate)
    try:
        data = yaml.safe_load(candidate.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{shown}: not valid YAML{where}: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: the configuration must be a mapping of keys")
    # YAML turns unquoted dates into date objects; the schema wants strings.
    for entry in data.get("suppressions") or []:
        if isinstance(entry, dict) and "expires" in entry and not isinstance(entry["expires"], str):
            entry["expires"] = str(entry["expires"])
    validate(data, shown)
    return Config(merge_config(DEFAULTS, data), shown)
