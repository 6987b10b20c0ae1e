"""SETTINGS.json: round trip, seeds, and the ``python -m simulation.settings`` command of the workflow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from common.config import fill_and_check_schema, read_yaml
from common.errors import ConfigError, InputFileError
from common.seeds import derive_seed
from tests.configs import write_resolved
from simulation.settings import load_settings, main, settings_from_config, settings_from_dict, write_settings
from workflow.config_vocabulary import load_workflow_config as load_config

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo.yaml"


def _resolved(tmp_path: Path, **changes) -> Path:
    """The resolved config JSON as the workflow writes it (the validated model)."""
    raw = read_yaml(DEMO)
    for key, value in changes.items():
        section, _, name = key.partition("__")
        raw.setdefault(section, {})[name] = value
    path = tmp_path / "config.resolved.json"
    write_resolved(raw, path)
    return path


def test_round_trip(tmp_path):
    raw = read_yaml(DEMO)
    cfg = load_config(raw)
    settings = settings_from_config(cfg)
    write_settings(settings, tmp_path / "s.json")
    again = load_settings(tmp_path / "s.json")
    assert again == settings
    assert json.loads((tmp_path / "s.json").read_text())["schema"] == "gelmd.simulation.settings/1"
    assert settings.protocol == cfg.protocol and settings.engine == cfg.engine
    assert settings.hydrogen_mass_amu == cfg.forcefield.hydrogen_mass_amu
    # unit conversion from the YAML strings ("4 fs" -> 0.004 ps, "298.15 K")
    fs = float(raw["protocol"]["timestep"].split()[0])
    assert raw["protocol"]["timestep"].split()[1] == "fs"
    assert settings.protocol.timestep_ps == pytest.approx(fs / 1000.0)
    assert settings.temperature_K == pytest.approx(float(raw["temperature"].split()[0]))


def test_seeds_reproducible_nonzero_and_per_purpose():
    assert derive_seed(2026, "heat") == derive_seed(2026, "heat")
    assert derive_seed(2026, "heat") != derive_seed(2026, "npt-barostat")
    assert derive_seed(2026, "heat") != derive_seed(2027, "heat")
    assert all(1 <= derive_seed(s, "x") < 2**31 - 1 for s in range(200))


def test_settings_seed_for_is_the_common_derivation():
    settings = settings_from_config(load_config(read_yaml(DEMO)))
    assert settings.seed_for("npt-barostat") == derive_seed(settings.seed, "npt-barostat")


def test_invalid_settings_name_the_key(tmp_path):
    data = json.loads(settings_from_config(load_config(read_yaml(DEMO))).to_json())
    data["temperature_K"] = -5
    with pytest.raises(ConfigError, match="temperature_K"):
        settings_from_dict(data)
    data = json.loads(settings_from_config(load_config(read_yaml(DEMO))).to_json())
    data["protocol"]["bogus"] = 1
    with pytest.raises(ConfigError, match="protocol.bogus"):
        settings_from_dict(data)
    with pytest.raises(InputFileError):
        load_settings(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_settings(tmp_path / "broken.json")


def test_cli_subprocess_matches_in_process(tmp_path):
    resolved = _resolved(tmp_path)
    out = tmp_path / "out" / "simulation_settings.json"
    run = subprocess.run([sys.executable, "-m", "simulation.settings", "--config", str(resolved), "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    expected = settings_from_config(load_config(read_yaml(DEMO)))
    assert load_settings(out) == expected
    assert not list(out.parent.glob(".*.part"))


def test_cli_config_values_reach_settings(tmp_path):
    resolved = _resolved(tmp_path, engine__platform="CPU", engine__cpu_threads=2, protocol__timestep="1 fs",
                         forcefield__hydrogen_mass="1.008 amu")
    assert main(["--config", str(resolved), "--out", str(tmp_path / "s.json")]) == 0
    settings = load_settings(tmp_path / "s.json")
    assert settings.engine.platform == "CPU" and settings.engine.cpu_threads == 2
    assert settings.protocol.timestep_ps == pytest.approx(0.001)


def test_cli_invalid_resolved_config_exits_1_naming_the_key(tmp_path, capsys):
    data = json.loads(_resolved(tmp_path).read_text())
    data["protocol"]["timestep_ps"] = "five"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "s.json"
    assert main(["--config", str(path), "--out", str(out)]) == 1
    assert "protocol.timestep_ps" in capsys.readouterr().err
    assert not out.exists()


def test_cli_refuses_a_raw_config_as_resolved(tmp_path, capsys):
    path = tmp_path / "raw.json"
    path.write_text(json.dumps(fill_and_check_schema(read_yaml(DEMO))))
    assert main(["--config", str(path), "--out", str(tmp_path / "s.json")]) == 1
    assert "gelmd.config.resolved" in capsys.readouterr().err


def test_cli_missing_or_broken_config_exits_1(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.json"), "--out", str(tmp_path / "s.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("{not json")
    assert main(["--config", str(tmp_path / "broken.json"), "--out", str(tmp_path / "s.json")]) == 1
    assert "not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()
