"""Damaged input never crashes the scan: every fixture template and plan, with values
swapped at random for wrong types (None, lists, maps, huge numbers, dangling Refs,
conditions that remove a value), either scans or yields a clear input error. An
adapter that raises ("could not be analysed") or a rule that throws fails this test.

Deterministic: a fixed seed, so a failure reproduces."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml

from costbreaker.engine import scan
from tests.conftest import FIXTURES

WRONG = [
    None,
    0,
    -1,
    10**12,
    1.5,
    "",
    "x",
    [],
    {},
    ["a", 1],
    {"Ref": "Nope"},
    {"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]},
    {"Fn::GetAtt": ["X", "Y"]},
    {"Fn::Sub": "${AWS::Region}"},
    {"Fn::FindInMap": [["a"], {"b": 1}, None]},
    True,
    [{"Ref": "X"}],
    {"a": {"b": None}},
]
INTERNAL = ("could not be analysed", "cannot decode:")


class _Loader(yaml.SafeLoader):
    """Reads short-form intrinsics as their long form, so the mutated copy is JSON."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _intrinsic)


def _mutate(node: object, rate: float, rng: random.Random) -> object:
    if isinstance(node, dict):
        return {
            k: rng.choice(WRONG) if rng.random() < rate else _mutate(v, rate, rng)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [rng.choice(WRONG) if rng.random() < rate else _mutate(v, rate, rng) for v in node]
    return node


def _documents() -> list[Path]:
    found = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        except yaml.YAMLError:
            continue
        if isinstance(doc, dict) and ("Resources" in doc or "planned_values" in doc):
            found.append(path)
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_fixtures_never_crash_the_scan(tmp_path: Path, seed: int):
    rng = random.Random(seed)
    documents = _documents()
    assert len(documents) > 40
    for index, path in enumerate(documents):
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        for copy in range(4):
            mutated = _mutate(doc, rng.choice([0.05, 0.15, 0.3]), rng)
            target = tmp_path / f"{index}-{copy}-{path.stem}.json"
            target.write_text(json.dumps(mutated, default=str), encoding="utf-8")
            result = scan([str(target)], root=tmp_path)
            internal = [e for e in result.errors if any(m in e.message for m in INTERNAL)]
            assert not internal, f"{path.name} (seed {seed}, copy {copy}): {internal[0]}"
            target.unlink()
