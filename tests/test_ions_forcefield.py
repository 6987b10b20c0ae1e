"""Na+ / PF6- parameters: octahedral PF6- in MD, charge scaling, neutrality, template errors."""

import itertools

import numpy as np
import openmm
import pytest
from openmm import app, unit

from common.errors import ParameterError
from forcefields.system_factory import create_system, template_files_for
from systems.packing import PackItem, pack_box
from systems.species import BUILTIN_SPECIES
from systems.structures import conformer_positions
from systems.topology import append_molecules

N_PAIRS = 12
BOX_NM = 2.4


@pytest.fixture(scope="module")
def salt_box():
    topology, items = app.Topology(), []
    for name in ("Na+", "PF6-"):
        species = BUILTIN_SPECIES[name]
        mol = species.mol
        append_molecules(topology, mol, species.residue, N_PAIRS)
        items.append(PackItem(name, N_PAIRS, conformer_positions(mol, 1), [a.GetSymbol() for a in mol.GetAtoms()]))
    positions = pack_box(items, BOX_NM, seed=5)
    topology.setPeriodicBoxVectors(np.eye(3) * BOX_NM * unit.nanometer)
    return topology, positions


def charges(system):
    nb = next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))
    return np.array([nb.getParticleParameters(i)[0].value_in_unit(unit.elementary_charge)
                     for i in range(system.getNumParticles())])


def pf6_angles(topology, positions):
    angles = []
    for residue in topology.residues():
        if residue.name != "PF6":
            continue
        p = next(a.index for a in residue.atoms() if a.element.symbol == "P")
        fs = [a.index for a in residue.atoms() if a.element.symbol == "F"]
        for i, j in itertools.combinations(fs, 2):
            u, v = positions[i] - positions[p], positions[j] - positions[p]
            angles.append(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))
    return np.array(angles)


def test_ion_charges_scaled_and_system_neutral(salt_box):
    topology, positions = salt_box
    system, report = create_system(topology, positions, [], {"NA", "PF6"}, 0.8)
    q = charges(system)
    assert report.residue_charges_formal_e == {"NA": 1.0, "PF6": -1.0}
    assert q[[a.index for a in topology.atoms() if a.element.symbol == "Na"]] == pytest.approx(0.8)
    assert q[[a.index for a in topology.atoms() if a.element.symbol == "P"]] == pytest.approx(1.34 * 0.8)
    assert q.sum() == pytest.approx(0.0, abs=1e-9)
    assert report.trans_angles_fixed == 3 * N_PAIRS


def test_pf6_stays_octahedral_in_md(salt_box):
    topology, positions = salt_box
    system, _ = create_system(topology, positions, [], {"NA", "PF6"}, 0.8)
    integrator = openmm.LangevinMiddleIntegrator(400 * unit.kelvin, 5 / unit.picosecond, 0.001 * unit.picosecond)
    integrator.setRandomNumberSeed(11)
    simulation = app.Simulation(topology, system, integrator, openmm.Platform.getPlatformByName("CPU"))
    simulation.context.setPositions(positions)
    simulation.minimizeEnergy(maxIterations=200)
    simulation.context.setVelocitiesToTemperature(400 * unit.kelvin, 11)
    simulation.step(3000)  # 3 ps at 400 K
    xyz = simulation.context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    angles = np.sort(pf6_angles(topology, xyz).reshape(N_PAIRS, 15), axis=1)
    cis, trans = angles[:, :12], angles[:, 12:]
    assert np.all(np.abs(cis - 90) < 20), "cis F-P-F angles left the octahedron"
    assert np.all(trans > 150), "trans F-P-F angles collapsed (the 90-degree trap)"


def test_missing_template_names_residue_and_available(tmp_path):
    with pytest.raises(ParameterError, match=r"no residue template for residue\(s\) \['XYZ'\].*available"):
        template_files_for({"XYZ", "NA"}, tmp_path)


def test_ion_charge_scale_out_of_range(salt_box):
    topology, positions = salt_box
    with pytest.raises(ParameterError, match="ion_charge_scale"):
        create_system(topology, positions, [], {"NA", "PF6"}, 1.5)
