"""benchmarks/revalidate_with_viscosity.py refuses, by path, a system without a finished production or a missing
viscosity report (validate_system itself is tested in test_validation.py)."""

from __future__ import annotations

import pytest

from benchmarks import revalidate_with_viscosity as revalidate


def test_missing_inputs_are_named(tmp_path):
    system = tmp_path / "PC"
    (system / "production").mkdir(parents=True)
    viscosity = tmp_path / "viscosity.json"
    with pytest.raises(SystemExit, match="production/production.json does not exist"):
        revalidate.main([str(system), str(viscosity), str(tmp_path / "out.json")])
    (system / "production" / "production.json").write_text("{}")
    with pytest.raises(SystemExit, match="viscosity.json does not exist"):
        revalidate.main([str(system), str(viscosity), str(tmp_path / "out.json")])
    assert not (tmp_path / "out.json").exists()
