"""Atom-wise NPT of percolating Systems runs without constraints (flexible copy) and hands back a constrained State."""

from __future__ import annotations

import json
import warnings

import numpy as np
import openmm
import pytest
from openmm import unit
from scipy import stats

import testsystems as ts
from common.errors import ConfigError, SimulationError
from simulation.equilibrate import main as equilibrate_main
from simulation.platform import choose_platform
from simulation.protocol import (FLEXIBLE_TIMESTEP_RULE, equilibrate_npt, flexible_npt_timestep_ps, minimise,
                                 run_equilibration)
from simulation.state_io import read_state, read_system
from simulation.system_prep import (BAROSTAT_TYPES, BiasedBarostatWarning, add_barostat, box_volume_nm3,
                                    flexible_copy)

REFERENCE = choose_platform(platform="Reference")
CPU = choose_platform(platform="CPU", cpu_threads=2)


def _constraint_errors(system, state):
    """Largest relative constraint-length error and largest relative velocity along a constraint (nm/ps)."""
    x = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    v = state.getVelocities(asNumpy=True).value_in_unit(unit.nanometer / unit.picosecond)
    length, velocity = 0.0, 0.0
    for k in range(system.getNumConstraints()):
        i, j, d = system.getConstraintParameters(k)
        d = d.value_in_unit(unit.nanometer)
        r = x[j] - x[i]
        length = max(length, abs(np.linalg.norm(r) - d) / d)
        velocity = max(velocity, abs(np.dot(v[j] - v[i], r / np.linalg.norm(r))))
    return length, velocity


def _network_npt(system, topology, positions, **overrides):
    state = ts.initial_state(system, positions)
    state, _ = minimise(system, topology, state, REFERENCE, max_iterations=100)
    kwargs = dict(temperature_K=120.0, pressure_bar=50.0, barostat_interval=10, timestep_ps=0.004,
                  friction_per_ps=1.0, block_ps=0.4, max_blocks=1, density_tolerance=1.0, integrator_seed=1,
                  barostat_seed=2, report_interval_ps=0.04, velocity_seed=3, max_temperature_factor=20.0)
    kwargs.update(overrides)
    return equilibrate_npt(system, topology, state, REFERENCE, **kwargs)


# ------------------------------------------------------------------------------------------------ flexible copy
def test_flexible_copy_replaces_every_constraint_by_its_bond_term():
    system, topology, _ = ts.percolating_network(hydrogen_mass_amu=3.024)
    copy, summary = flexible_copy(system, topology)
    assert copy.getNumConstraints() == 0 and system.getNumConstraints() == 27
    assert summary["constraints_removed"] == 27
    assert summary["lightest_constrained_atom_mass_amu"] == pytest.approx(3.024)
    assert summary["constraints_removed_per_residue"] == {"BD": 27}
    bonds = [f for f in copy.getForces() if isinstance(f, openmm.HarmonicBondForce)]
    assert len(bonds) == 1 and bonds[0].getNumBonds() == 27 + 27  # X-H terms kept, ring bonds kept, none added


def test_flexible_copy_refuses_rigid_water_naming_the_residue():
    system, topology, _ = ts.water_box(10, rigid_water=True)
    with pytest.raises(SimulationError, match=r"no HarmonicBondForce term.*residue HOH"):
        flexible_copy(system, topology)


def test_flexible_copy_refuses_constraints_created_without_flexible_constraints():
    system, topology, _ = ts.water_box(10, rigid_water=False, flexible_constraints=False)
    with pytest.raises(SimulationError, match=r"20 constraint\(s\) have no HarmonicBondForce term.*flexibleConstraints"):
        flexible_copy(system, topology)
    flexible, _ = ts.water_box(10, rigid_water=False, flexible_constraints=True)[:2]
    assert flexible_copy(flexible)[0].getNumConstraints() == 0


def test_flexible_copy_refuses_a_bond_term_of_another_length():
    system, topology, _ = ts.percolating_network()
    bonds = next(f for f in system.getForces() if isinstance(f, openmm.HarmonicBondForce))
    i, j, _, k = bonds.getBondParameters(0)
    bonds.setBondParameters(0, i, j, 0.11, k)
    with pytest.raises(SimulationError, match=r"r0 differs.*atom C \(index 0\)"):
        flexible_copy(system, topology)


def test_add_barostat_warns_on_atomwise_scaling_with_constraints():
    system, _, _ = ts.percolating_network()
    with pytest.warns(BiasedBarostatWarning, match="flexible_copy"):
        add_barostat(system, 1.0, 300.0, 25, seed=1, scale_molecules_as_rigid=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        add_barostat(system, 1.0, 300.0, 25, seed=1, scale_molecules_as_rigid=False,
                     allow_constraints_with_atomwise_scaling=True)
        add_barostat(flexible_copy(system)[0], 1.0, 300.0, 25, seed=1, scale_molecules_as_rigid=False)
    assert sum(isinstance(f, BAROSTAT_TYPES) for f in system.getForces()) == 1


def test_flexible_timestep_rule():
    assert flexible_npt_timestep_ps(0.004, 1.008) == pytest.approx(0.001)
    assert flexible_npt_timestep_ps(0.004, 3.024) == pytest.approx(0.002)
    assert flexible_npt_timestep_ps(0.002, 2.0) == pytest.approx(0.002)
    assert flexible_npt_timestep_ps(0.0005, 3.024) == pytest.approx(0.0005)
    assert flexible_npt_timestep_ps(0.004, None) == pytest.approx(0.004)


# -------------------------------------------------------------------------------------- percolating network NPT
def test_percolating_network_npt_drops_constraints_and_hands_back_a_constrained_state():
    system, topology, positions = ts.percolating_network()
    before = openmm.XmlSerializer.serialize(system)
    state, result = _network_npt(system, topology, positions)
    assert openmm.XmlSerializer.serialize(system) == before, "the System passed in must not change"
    barostat = result["barostat"]
    assert barostat["mode"] == "atomwise" and barostat["percolating_molecules"] == 9
    assert barostat["constraints_dropped_for_npt"] and barostat["constraints_dropped"] == 27
    assert result["constraints_dropped_for_npt"] is True
    assert result["timestep_ps"] == pytest.approx(0.001) and result["protocol_timestep_ps"] == pytest.approx(0.004)
    assert result["timestep_rule"] == FLEXIBLE_TIMESTEP_RULE
    # the barostat interval keeps its length in ps, the block its length in ps
    assert barostat["interval_steps"] == 40 and barostat["interval_ps"] == pytest.approx(0.04)
    assert result["steps"] == 400 and len(result["series"]["density_g_per_cm3"]) == 10
    assert "without constraints" in barostat["rationale"]
    assert len(set(np.round(result["series"]["volume_nm3"], 9))) > 1, "the barostat never moved"
    hand_over = result["constraint_hand_over"]
    assert hand_over["max_relative_constraint_deviation_before"] > 1e-3  # the flexible run stretched X-H bonds
    assert hand_over["max_relative_constraint_deviation_after"] < 1e-5
    assert hand_over["kinetic_energy_after_kJ_per_mol"] < hand_over["kinetic_energy_before_kJ_per_mol"]
    length, velocity = _constraint_errors(system, state)
    assert length < 1e-5 and velocity < 1e-4
    assert state.getStepCount() == 400


def test_percolating_network_with_hmr_uses_2_fs():
    system, topology, positions = ts.percolating_network(hydrogen_mass_amu=3.024)
    _, result = _network_npt(system, topology, positions)
    assert result["timestep_ps"] == pytest.approx(0.002)
    assert result["barostat"]["interval_steps"] == 20 and result["steps"] == 200


def test_percolating_network_with_a_rigid_group_is_refused():
    system, topology, positions = ts.percolating_network()
    system.addConstraint(1, 3, 0.4)  # an H-H constraint with no bond term, as in rigid water
    state = ts.initial_state(system, positions)
    with pytest.raises(SimulationError, match=r"1 constraint\(s\) have no HarmonicBondForce term.*atom H \(index 1\) "
                                              r"of residue BD"):
        equilibrate_npt(system, topology, state, REFERENCE, temperature_K=120.0, pressure_bar=50.0,
                        barostat_interval=10, timestep_ps=0.004, friction_per_ps=1.0, block_ps=0.4, max_blocks=1,
                        density_tolerance=1.0, integrator_seed=1, barostat_seed=2, report_interval_ps=0.04)


def test_molecular_scaling_is_refused_for_a_percolating_system_and_bad_choices_named():
    system, topology, positions = ts.percolating_network()
    with pytest.raises(SimulationError, match="percolate"):
        _network_npt(system, topology, positions, barostat_scaling="molecular")
    with pytest.raises(ConfigError, match="barostat_scaling"):
        _network_npt(system, topology, positions, barostat_scaling="rigid")


def test_non_percolating_constrained_system_keeps_constraints_and_timestep():
    system, topology, positions = ts.diatomic_liquid(3, density_g_per_cm3=0.7)
    state = ts.initial_state(system, positions)
    _, result = equilibrate_npt(system, topology, state, REFERENCE, temperature_K=77.0, pressure_bar=1.0,
                                barostat_interval=10, timestep_ps=0.004, friction_per_ps=1.0, block_ps=0.4,
                                max_blocks=1, density_tolerance=1.0, integrator_seed=1, barostat_seed=2,
                                report_interval_ps=0.04, velocity_seed=3)
    assert result["barostat"]["mode"] == "molecular" and not result["constraints_dropped_for_npt"]
    assert result["timestep_ps"] == pytest.approx(0.004) and result["constraint_hand_over"] is None
    assert result["barostat"]["interval_steps"] == 10


def test_run_equilibration_of_a_network_ends_constrained_at_the_mean_volume():
    system, topology, positions = ts.percolating_network()
    settings = ts.quick_settings(platform="Reference", temperature_K=120.0, pressure_bar=1.0, timestep_ps=0.002,
                                 heating_duration_ps=0.2, equilibration_duration_ps=0.4, equilibration_max_blocks=1,
                                 density_tolerance=1.0, energy_interval_ps=0.04, barostat_interval=10)
    final, stages = run_equilibration(system, topology, ts.initial_state(system, positions), settings, REFERENCE)
    assert stages["npt"]["constraints_dropped_for_npt"]
    assert box_volume_nm3(final.getPeriodicBoxVectors()) == pytest.approx(stages["npt"]["volume_mean_nm3"], rel=1e-9)
    length, velocity = _constraint_errors(system, final)
    assert length < 1e-5 and velocity < 1e-4
    assert stages["volume_scaling"]["max_relative_constraint_deviation"] < 1e-5


# ----------------------------------------------------------------------------------------------- report fields
def test_equilibrate_cli_reports_barostat_mode_dropped_constraints_and_timestep(tmp_path):
    system, topology, positions = ts.percolating_network()
    paths = ts.write_inputs(tmp_path / "in", system, topology, positions)
    ts.quick_settings(tmp_path / "settings.json", platform="Reference", temperature_K=120.0, pressure_bar=50.0,
                      timestep_ps=0.004, heating_duration_ps=0.2, equilibration_duration_ps=0.4,
                      equilibration_max_blocks=1, density_tolerance=1.0, energy_interval_ps=0.04,
                      barostat_interval=10)
    out = tmp_path / "out"
    args = ["--system", str(paths["system"]), "--state", str(paths["state"]), "--topology", str(paths["topology"]),
            "--settings", str(tmp_path / "settings.json"), "--out-state", str(out / "state.xml"),
            "--out-system", str(out / "system.xml"), "--report", str(out / "equilibration.json"),
            "--log", str(out / "equilibrate.log")]
    assert equilibrate_main(args) == 0
    report = json.loads((out / "equilibration.json").read_text())
    barostat = report["barostat"]
    assert barostat["mode"] == "atomwise"
    assert barostat["constraints_dropped_for_npt"] is True and barostat["constraints_dropped"] == 27
    assert barostat["npt_timestep_ps"] == pytest.approx(0.001)
    assert barostat["protocol_timestep_ps"] == pytest.approx(0.004)
    assert barostat["timestep_rule"] == FLEXIBLE_TIMESTEP_RULE
    assert "biased" in barostat["rationale"] and "harmonic bond term" in barostat["rationale"]
    assert report["npt"]["constraint_hand_over"]["max_relative_constraint_deviation_after"] < 1e-5
    out_system = read_system(out / "system.xml")
    assert out_system.getNumConstraints() == 27  # production gets the constrained System
    length, velocity = _constraint_errors(out_system, read_state(out / "state.xml"))
    assert length < 1e-5 and velocity < 1e-4
    assert "constraints replaced by their harmonic bond terms" in (out / "equilibrate.log").read_text()


# ------------------------------------------------------------------------------------------------- bias check
def _density_window(result, skip_ps, block_ps=2.5):
    t = np.asarray(result["series"]["time_ps"])
    d = np.asarray(result["series"]["density_g_per_cm3"])[t >= t[0] + skip_ps]
    per_block = int(round(block_ps / (t[1] - t[0])))
    blocks = d[:len(d) // per_block * per_block].reshape(-1, per_block).mean(axis=1)
    return float(d.mean()), float(blocks.std(ddof=1) / np.sqrt(len(blocks)))


def test_atomwise_npt_of_the_flexible_copy_matches_molecular_npt_density():
    """Liquid N2 (two-centre LJ, 125 molecules, 77 K, 1 bar): the unbiased reference is molecular scaling of
    the constrained System; atom-wise scaling of its flexible copy must give the same density."""
    system, topology, positions = ts.diatomic_liquid(5, cutoff_nm=0.7)
    state = ts.initial_state(system, positions)
    state, _ = minimise(system, topology, state, CPU, max_iterations=200)
    densities = {}
    for mode in ("molecular", "atomwise"):
        _, result = equilibrate_npt(system, topology, state, CPU, temperature_K=77.0, pressure_bar=1.0,
                                    barostat_interval=5, timestep_ps=0.004, friction_per_ps=1.0, block_ps=30.0,
                                    max_blocks=1, density_tolerance=10.0, integrator_seed=11, barostat_seed=12,
                                    report_interval_ps=0.1, velocity_seed=13, barostat_scaling=mode)
        assert result["constraints_dropped_for_npt"] is (mode == "atomwise")
        densities[mode] = _density_window(result, skip_ps=5.0)
    (rho_m, se_m), (rho_a, se_a) = densities["molecular"], densities["atomwise"]
    print(f"N2 density: molecular {rho_m:.4f} +- {se_m:.4f}, atom-wise flexible {rho_a:.4f} +- {se_a:.4f} g/cm^3")
    error = np.hypot(se_m, se_a)
    assert 0.7 < rho_m < 0.9  # liquid N2 at 77 K is 0.807 g/cm^3
    # each error comes from 10 block means: Student's t with 18 degrees of freedom at a two-sided false-failure
    # rate of 5e-4 (4.2 standard errors)
    assert abs(rho_a - rho_m) < max(stats.t.ppf(1 - 2.5e-4, 18) * error, 0.005), densities
    assert abs(rho_a - rho_m) < 0.025, densities
