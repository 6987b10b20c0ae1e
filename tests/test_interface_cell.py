"""Na | electrolyte | Na cells (systems/na_slab.py, systems/na_interface.py) and the interface stage's three
entry points run end to end on a small water cell."""

import json

import numpy as np
import openmm
import pytest

import testsystems
from analysis.interface import main as analyse_main
from forcefields.eam import read_setfl_fs
from simulation.interface import main as run_main
from systems.na_interface import METAL_RESIDUE, CellSpec, MetalLJ, build_cell, main as build_main
from systems.na_slab import bcc_slab, cell_periods_angstrom

A = 4.2906
UFF = MetalLJ(0.2658, 0.1255, "UFF Na")


def _box(system):
    return np.array([system.getDefaultPeriodicBoxVectors()[k][k].value_in_unit(openmm.unit.nanometer)
                     for k in range(3)])


@pytest.mark.parametrize("orientation, spacing, per_plane", [("100", A / 2, 1), ("110", A / np.sqrt(2), 2),
                                                             ("111", A / (2 * np.sqrt(3)), 2)])
def test_bcc_slabs_have_the_lattice_geometry(orientation, spacing, per_plane):
    slab = bcc_slab(A, orientation, 2, 2, 6)
    px, py, _ = cell_periods_angstrom(orientation, A)
    assert slab.box_xy_angstrom == pytest.approx((2 * px, 2 * py))
    assert slab.plane_spacing_angstrom == pytest.approx(spacing)
    assert slab.atoms_per_plane == 4 * per_plane
    heights = np.unique(np.round(slab.positions_angstrom[:, 2], 6))
    assert np.diff(heights) == pytest.approx(spacing)
    d = slab.positions_angstrom[:, None, :] - slab.positions_angstrom[None, :, :]
    box = np.array([*slab.box_xy_angstrom, 1e6])
    d -= np.rint(d / box) * box
    r = np.linalg.norm(d, axis=-1)
    assert r[r > 0].min() == pytest.approx(A * np.sqrt(3) / 2)  # bcc nearest neighbours


def test_water_cell_keeps_molecules_density_and_puts_metal_outside():
    system, topology, positions = testsystems.water_box(300, cutoff_nm=0.8)
    box = _box(system)
    spec = CellSpec("110", 3, A / 10, 0.25, None, UFF, 0.8)
    cell = build_cell(system, topology, positions, box, read_setfl_fs("nichol_ackland_2016"), spec)
    n_water = system.getNumParticles()
    px, py, _ = cell_periods_angstrom("110", A)
    assert cell.box_nm[0] / (px / 10) == pytest.approx(round(cell.box_nm[0] / (px / 10)))
    assert cell.box_nm[1] / (py / 10) == pytest.approx(round(cell.box_nm[1] / (py / 10)))
    assert cell.info["electrolyte_thickness_nm"] * cell.info["area_nm2"] == pytest.approx(np.prod(box))
    metal = [a.index for a in cell.topology.atoms() if a.residue.name == METAL_RESIDUE]
    assert metal == list(range(n_water, cell.system.getNumParticles()))
    assert len(metal) == 2 * cell.info["atoms_per_slab"]
    assert all(cell.system.getParticleMass(i)._value == 0.0 for i in metal)  # frozen slabs
    water = cell.positions_nm[:n_water]
    top_a, bottom_b = cell.info["surface_planes_z_nm"]
    gap = spec.gap_nm - 1e-9  # molecules straddling the opened boundary are moved whole to the inside
    assert water[:, 2].min() >= top_a + gap and water[:, 2].max() <= bottom_b - gap
    oh = np.linalg.norm(water[1::3] - water[0::3], axis=1)
    assert oh == pytest.approx(0.09572, abs=2e-3)  # molecules moved rigidly, not stretched


def test_gel_network_is_cut_once_per_strand_at_the_opened_boundary():
    system, topology, positions = testsystems.percolating_network(3)  # 9 rings closed through z
    box = _box(system)
    spec = CellSpec("100", 3, A / 10, 0.25, None, UFF, min(1.0, 0.4 * box[0]))
    cell = build_cell(system, topology, positions, box, read_setfl_fs("nichol_ackland_2016"), spec)
    assert cell.info["network_bonds_cut"] == 9
    assert cell.info["cut_bond_terms_switched_off"]["bonds"] == 9
    n_bonds = sum(1 for _ in topology.bonds())
    assert sum(1 for _ in cell.topology.bonds()) == n_bonds - 9
    bonds = next(f for f in cell.system.getForces() if isinstance(f, openmm.HarmonicBondForce))
    assert sum(1 for k in range(bonds.getNumBonds()) if bonds.getBondParameters(k)[3]._value == 0.0) == 9


@pytest.mark.parametrize("xh_nm", [0.1, 0.45])
def test_a_bond_to_hydrogen_is_never_cut_and_every_constrained_pair_stays_whole(xh_nm):
    """Only bonds between heavy atoms are cut at the opened boundary: a cut C-H would leave the H on the far side of
    the electrolyte while its constraint still holds it to its carbon (seen: NaN in a demo PBMP cell's
    minimisation). Here every bead's H points along z; at 0.45 nm (longer than the 0.40 nm bead spacing: a geometric
    device, no MD) every height of the box crosses a C-H bond, so a cut by bond count alone would cut one."""
    system, topology, positions = testsystems.percolating_network(3, xh_length_nm=xh_nm, xh_axis=2)
    box = _box(system)
    spec = CellSpec("100", 3, A / 10, 0.25, None, UFF, min(1.0, 0.4 * box[0]))
    cell = build_cell(system, topology, positions, box, read_setfl_fs("nichol_ackland_2016"), spec)
    hydrogens = {a.index for a in topology.atoms() if a.element.symbol == "H"}
    assert cell.info["network_bonds_cut"] == 9 and cell.info["cut_bond_terms_switched_off"]["bonds"] == 9
    pos = np.asarray(cell.positions_nm)
    for k in range(system.getNumConstraints()):
        i, j, length = system.getConstraintParameters(k)
        assert j in hydrogens
        # rigid along z (the opened direction) up to the lateral scaling of the network
        assert abs(pos[j, 2] - pos[i, 2]) == pytest.approx(length.value_in_unit(openmm.unit.nanometer)
                                                           * cell.info["height_scale"], rel=1e-6)


def test_interface_stage_end_to_end_on_a_water_cell(tmp_path):
    system, topology, positions = testsystems.water_box(300, cutoff_nm=0.8)
    bulk = testsystems.write_inputs(tmp_path / "bulk", system, topology, positions)
    settings = tmp_path / "settings.json"
    testsystems.quick_settings(settings)
    cell_dir = tmp_path / "cell"
    assert build_main(["--system", str(bulk["system"]), "--state", str(bulk["state"]), "--topology",
                       str(bulk["topology"]), "--eam", "nichol_ackland_2016", "--orientation", "110", "--planes", "2",
                       "--lattice-constant", "0.42906 nm", "--gap", "0.25 nm", "--metal-sigma", "0.2658 nm",
                       "--metal-epsilon", "0.1255 kJ/mol", "--metal-lj-source", "UFF", "--gaussian-width", "0.0505 nm",
                       "--out-dir", str(cell_dir)]) == 0
    runs = []
    for label, bias in (("0V", "0 V"), ("bias", "2 V")):
        out = tmp_path / f"run_{label}"
        assert run_main(["--system", str(cell_dir / "system.xml"), "--state", str(cell_dir / "state.xml"),
                         "--topology", str(cell_dir / "cell.pdb"), "--settings", str(settings), "--bias", bias,
                         "--equilibration", "0.02 ps", "--production", "0.32 ps", "--frame-interval", "0.02 ps",
                         "--timestep", "2 fs", "--out-dir", str(out)]) == 0
        runs += ["--run", label, str(out)]
    assert analyse_main(["--cell", str(cell_dir / "cell.json"), "--topology", str(cell_dir / "cell.pdb"), *runs,
                         "--system-name", "water", "--homogeneity-depth", "0.8 nm", "--bins-2d", "3", "--blocks", "4",
                         "--ion-charge-scale", "1.0", "--out-dir", str(tmp_path / "interface")]) == 0
    report = json.loads((tmp_path / "interface" / "interface.json").read_text())
    assert {"first_layer", "na_homogeneity_index", "bias_V", "electrode_charge_e", "method", "runs"} <= set(report)
    assert set(report["first_layer"]) >= {"composition", "enrichment"}
    assert sum(report["first_layer"]["composition"].values()) == pytest.approx(1.0)
    assert report["na_homogeneity_index"] is None  # pure water: no Na+
    assert report["bias_V"] == 2.0
    q = report["electrode_charge_e"]
    assert q["electrode0"]["value"] < -0.1 and q["electrode1"]["value"] == pytest.approx(-q["electrode0"]["value"], abs=1e-4)
    assert report["runs"]["0V"]["electrode_charge_e"]["electrode0"]["value"] == pytest.approx(0.0, abs=0.5)
    # Poisson of the binned point charges gives the bias back to within ~10 % (the electrode charges are Gaussians
    # of 0.05 nm, binned as points; 16 frames of water dipole noise): measured 1.67-1.92 V over 11 runs of 8 frames
    # before the push-off relaxation; after it 2 of 11 runs gave 2.40 and 2.42 V
    assert abs(report["runs"]["bias"]["potential_drop_V"] - 2.0) < 0.5
    for name in ("profiles_0V.csv", "profiles_bias.csv", "profiles_bias.png", "na_map_0V.png"):
        assert (tmp_path / "interface" / name).stat().st_size > 0


def test_constrained_pairs_split_across_a_face_are_joined_before_the_cell_is_minimised():
    """OpenMM solves constraints on raw coordinates: an X-H pair of a wrapped network on opposite faces of the box
    would be pulled through it (a demo gel cell minimised to 8e8 nm). Each constrained atom goes to the minimum
    image of its partner; unconstrained atoms stay where they are."""
    from systems.na_interface import _join_constrained_pairs

    system = openmm.System()
    for _ in range(3):
        system.addParticle(12.0)
    system.addConstraint(0, 1, 0.109)
    pos = np.array([[0.05, 1.0, 1.0], [2.99, 1.02, 1.0], [2.9, 1.0, 1.0]])
    joined = _join_constrained_pairs(system, pos, np.array([3.0, 3.0, 4.0]))
    assert np.allclose(joined[1], [-0.01, 1.02, 1.0]) and np.allclose(joined[[0, 2]], pos[[0, 2]])
    assert np.linalg.norm(joined[1] - joined[0]) < 0.11


def test_a_cell_that_does_not_relax_is_refused_before_any_run():
    """The relaxation runs to OpenMM's force criterion; a cell still strained after it (here: the water cell with two
    molecules put on top of each other and one iteration allowed) is refused by name, with its energy and largest
    force, instead of handing a run a cell that blows up within its first steps (seen: a demo PBMP cell)."""
    from common.errors import SimulationError
    from systems.na_interface import MAX_RELAXED_FORCE_KJ_PER_MOL_PER_NM, relax_electrolyte

    system, topology, positions = testsystems.water_box(300, cutoff_nm=0.8)
    spec = CellSpec("110", 3, A / 10, 0.25, None, UFF, 0.8)
    tables = read_setfl_fs("nichol_ackland_2016")
    cell = build_cell(system, topology, positions, _box(system), tables, spec)
    _, report = relax_electrolyte(cell)
    assert report["max_force_after_kJ_per_mol_per_nm"] < MAX_RELAXED_FORCE_KJ_PER_MOL_PER_NM
    assert report["energy_after_kJ_per_mol"] < report["energy_before_kJ_per_mol"]
    strained = build_cell(system, topology, positions, _box(system), tables, spec)
    strained.positions_nm = np.array(strained.positions_nm, dtype=float)
    strained.positions_nm[3:6] = strained.positions_nm[0:3] + 0.01  # a water 0.017 nm from another
    with pytest.raises(SimulationError, match=r"did not relax.*largest force"):
        relax_electrolyte(strained, max_iterations=1)
    # given its iterations, the soft-sphere push-off takes the same cell apart before the full force field acts
    _, report = relax_electrolyte(strained)
    assert report["energy_before_kJ_per_mol"] > 1e8 > 0 > report["energy_after_push_off_kJ_per_mol"]
    assert report["max_force_after_kJ_per_mol_per_nm"] < MAX_RELAXED_FORCE_KJ_PER_MOL_PER_NM
