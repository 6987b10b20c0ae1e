"""Config helpers shared by the tests: the demo config, one-key changes, and the resolved config file."""

from __future__ import annotations

import copy
from pathlib import Path

from common.config import GelmdConfig, read_yaml
from workflow.config_vocabulary import load_workflow_config

ROOT = Path(__file__).resolve().parent.parent
DEMO_PATH = ROOT / "config" / "demo.yaml"


def demo_raw() -> dict:
    """The demo config as parsed YAML (a fresh copy)."""
    return read_yaml(DEMO_PATH)


def with_change(raw: dict, path: str, value) -> dict:
    """A copy of ``raw`` with the dotted key ``path`` set to ``value`` (missing parents created)."""
    changed = copy.deepcopy(raw)
    *parents, last = path.split(".")
    node = changed
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return changed


def write_resolved(raw: dict, path: Path) -> GelmdConfig:
    """Validate ``raw`` and write it as the workflow's config.resolved.json; returns the model."""
    config = load_workflow_config(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config.to_resolved_json())
    return config
