"""RESP charges: MK grid, restrained fit algebra, pyscf ESP, and the two-stage procedure against references.

Tolerances (measured values on the development machine in brackets):
- Acetic acid at a fixed geometry against R.E.D.-III.5/GAMESS two-stage RESP charges (the reference of
  the Psi4 RESP plugin's test suite, Alenaizan, Burns & Sherrill, Int. J. Quantum Chem. 120 (2020)
  e26035): exact integrals 2e-4 e [3e-6 e]; with density fitting 1e-3 e [1.6e-4 e].
- PC: RESP ESP RRMS < 0.15 [0.084 stage 2, 0.066 stage 1, 0.063 unrestrained].
"""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from common.errors import ChargeError
from forcefields import resp
from forcefields.esp_grid import (ANGSTROM_TO_BOHR, MK_RADII_ANGSTROM, MK_SCALE_FACTORS, connolly_sphere_points,
                                  mk_grid)

# Acetic acid, R.E.D. orientation, Å; atom order C(H3) H H H C(OOH) O(H) H O(=).
ACETIC_XYZ = np.array([
    [1.45051389, -0.06628932, 0.00000000], [1.75521613, -0.62865986, -0.87500146],
    [1.75521613, -0.62865986, 0.87500146], [1.92173244, 0.90485897, 0.00000000],
    [-0.04233122, 0.09849378, 0.00000000], [-0.67064817, -1.07620915, 0.00000000],
    [-1.60837259, -0.91016601, 0.00000000], [-0.62675864, 1.13160510, 0.00000000]])
ACETIC_RESP_STAGE1 = np.array([-0.294974, 0.107114, 0.107114, 0.084795, 0.803999, -0.661279, 0.453270, -0.600039])
ACETIC_RESP_STAGE2 = np.array([-0.290893, 0.098314, 0.098314, 0.098314, 0.803999, -0.661279, 0.453270, -0.600039])


def _mol_with_hs(smiles: str) -> Chem.Mol:
    params = Chem.SmilesParserParams()
    params.removeHs = False
    return Chem.MolFromSmiles(smiles, params)


# ------------------------------------------------------------------------------------------ grid

def test_connolly_points_are_unit_vectors_and_about_n():
    # the smallest MK sphere (H at 1.4 x 1.20 Å) asks for 35 points
    for n in (35, 55, 200, 503):
        pts = connolly_sphere_points(n)
        assert np.allclose(np.linalg.norm(pts, axis=1), 1.0)
        assert 0.8 * n <= len(pts) <= n
        assert abs(pts.mean(axis=0)).max() < 0.1  # spread over the whole sphere


def test_mk_grid_single_atom_density_and_shells():
    grid = mk_grid(np.zeros((1, 3)), ["C"])
    assert grid.scale_factors == MK_SCALE_FACTORS
    for shell, scale in enumerate(MK_SCALE_FACTORS):
        pts = grid.points_angstrom[grid.shell_index == shell]
        r = scale * MK_RADII_ANGSTROM["C"]
        assert np.allclose(np.linalg.norm(pts, axis=1), r)
        area = 4 * np.pi * r ** 2
        assert 0.8 * area <= len(pts) <= area  # 1 point per Å^2 (Connolly's rings give slightly fewer)
    assert np.allclose(grid.points_bohr, grid.points_angstrom * ANGSTROM_TO_BOHR)


def test_mk_grid_points_lie_outside_every_scaled_sphere():
    elements = ["C", "H", "H", "H", "C", "O", "H", "O"]
    grid = mk_grid(ACETIC_XYZ, elements)
    radii = np.array([MK_RADII_ANGSTROM[e] for e in elements])
    d = np.linalg.norm(grid.points_angstrom[:, None, :] - ACETIC_XYZ[None], axis=2)
    scale = np.array(MK_SCALE_FACTORS)[grid.shell_index]
    assert np.all(d >= scale[:, None] * radii[None, :] - 1e-9)
    assert grid.n_points == 534  # what R.E.D./GAMESS's Connolly grid gives for this geometry
    assert "1.4/1.6/1.8/2" in grid.describe()


def test_mk_grid_unknown_element_needs_a_radius():
    with pytest.raises(ChargeError, match="Merz-Kollman radius"):
        mk_grid(np.zeros((1, 3)), ["Xe"])
    grid = mk_grid(np.zeros((1, 3)), ["Xe"], radii={"Xe": 2.0})
    assert grid.n_points > 0


# ------------------------------------------------------------------------------------------ fit algebra

def _synthetic_esp(charges: np.ndarray, xyz: np.ndarray, elements: list[str]) -> resp.EspData:
    grid = mk_grid(xyz, elements)
    esp = resp.inverse_distance_matrix(grid.points_angstrom, xyz) @ charges
    return resp.EspData(elements=tuple(elements), coordinates_angstrom=xyz, charge=int(round(charges.sum())),
                        grid=grid, esp_au=esp, scf_energy_hartree=0.0, qm_method="synthetic point charges")


def _synthetic_molecule():
    # acetic acid geometry with made-up charges (sum 0); no two atoms symmetry-related in the labels below
    q = np.array([-0.40, 0.12, 0.12, 0.10, 0.75, -0.60, 0.45, -0.54])
    return _synthetic_esp(q, ACETIC_XYZ, ["C", "H", "H", "H", "C", "O", "H", "O"]), q


def test_unrestrained_fit_recovers_point_charges_exactly():
    esp, q_true = _synthetic_molecule()
    fit_esp, fit1, fit2 = resp.fit_resp(esp, equivalence=list(range(8)), stage2_atoms=[])
    assert np.allclose(fit_esp.charges, q_true, atol=1e-6)
    assert fit_esp.rrms < 1e-6
    # stage 2 with nothing to refit is stage 1
    assert np.array_equal(fit1.charges, fit2.charges)
    # the hyperbolic restraint pulls heavy-atom charges towards zero and costs fit quality
    heavy = np.array([0, 4, 5, 7])
    assert np.abs(fit1.charges[heavy]).sum() < np.abs(fit_esp.charges[heavy]).sum()
    assert fit1.rrms > fit_esp.rrms
    assert abs(fit1.charges.sum()) < 1e-10


def test_fit_honours_total_charge_groups_and_equivalences():
    esp, _ = _synthetic_molecule()
    labels = [0, 1, 1, 1, 4, 5, 6, 7]
    cap = (0, 1, 2, 3)  # pretend the methyl group is a cap that must carry no net charge
    fit_esp, fit1, fit2 = resp.fit_resp(esp, equivalence=labels, stage2_atoms=[0, 1, 2, 3],
                                        charge_groups=[(cap, 0.0)])
    for fit in (fit_esp, fit1, fit2):
        assert abs(fit.charges.sum()) < 1e-10
        assert abs(fit.charges[list(cap)].sum()) < 1e-10
    # stage 1 leaves methyl hydrogens free; stage 2 makes them equal and keeps the other atoms fixed
    assert np.ptp(fit2.charges[1:4]) < 1e-12
    assert np.allclose(fit2.charges[4:], fit1.charges[4:], atol=0)


def test_redundant_and_inconsistent_constraints():
    esp, _ = _synthetic_molecule()
    inv_r = resp.inverse_distance_matrix(esp.grid.points_angstrom, esp.coordinates_angstrom)
    common = dict(variable=np.ones(8, bool), fixed_charges=np.zeros(8), equivalence=list(range(8)),
                  restrained=np.ones(8, bool), a=0.0005)
    total = (tuple(range(8)), 0.0)
    q, _ = resp.restrained_fit(inv_r, esp.esp_au, constraints=[total, total, ((0, 1), 0.1), ((0, 1), 0.1)],
                               **common)
    assert abs(q.sum()) < 1e-10 and abs(q[0] + q[1] - 0.1) < 1e-10
    with pytest.raises(ChargeError, match="inconsistent"):
        resp.restrained_fit(inv_r, esp.esp_au, constraints=[total, ((0, 1), 0.1), ((0, 1), 0.3)], **common)


def test_symmetry_and_stage2_selection_for_pc():
    mol = Chem.AddHs(Chem.MolFromSmiles("CC1COC(=O)O1"))
    classes = resp.symmetry_classes(mol)
    assert len({classes[i] for i in (7, 8, 9)}) == 1  # methyl H
    assert classes[11] == classes[12]  # ring CH2 H
    assert resp.stage2_atoms_of(mol) == [0, 2, 7, 8, 9, 11, 12]  # CH3 and CH2 with their H, not the CH


def test_molecule_without_explicit_hydrogens_is_refused():
    with pytest.raises(ChargeError, match="explicit hydrogen"):
        resp.resp_charges(Chem.MolFromSmiles("CC1COC(=O)O1"))


# ------------------------------------------------------------------------------------------ QM

@pytest.mark.qm
def test_vectorised_esp_equals_point_by_point_rinv_integrals():
    from pyscf import gto, scf

    pmol = gto.M(atom="O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692", basis="6-31G*", cart=True,
                 verbose=0)
    mf = scf.RHF(pmol).run()
    dm = mf.make_rdm1()
    points = np.array([[0.0, 0.0, 4.0], [3.0, 1.0, -1.0], [-2.5, -2.5, 2.5]])  # Bohr
    v = resp.electrostatic_potential(pmol, dm, points, batch_bytes=8 * pmol.nao_nr() ** 2)  # 1 point/batch
    for p, vi in zip(points, v):
        with pmol.with_rinv_origin(p):
            v_el = np.einsum("ij,ij->", pmol.intor("int1e_rinv"), dm)
        v_nuc = sum(z / np.linalg.norm(p - r) for z, r in zip(pmol.atom_charges(), pmol.atom_coords()))
        assert vi == pytest.approx(v_nuc - v_el, abs=1e-10)
    # on the oxygen side of the molecular axis (first point) the potential is negative
    assert v[0] < 0


@pytest.mark.qm
@pytest.mark.parametrize("density_fit,tol", [(False, 2e-4), (True, 1e-3)])
def test_acetic_acid_reproduces_red_reference_charges(density_fit, tol):
    mol = _mol_with_hs("C([H])([H])([H])C(O[H])=O")
    result = resp.resp_charges(mol, coordinates_angstrom=ACETIC_XYZ, density_fit=density_fit)
    assert result.n_grid_points == 534
    assert np.abs(result.charges_stage1 - ACETIC_RESP_STAGE1).max() < tol
    assert np.abs(result.charges - ACETIC_RESP_STAGE2).max() < tol
    assert result.stage2_atoms == (0, 1, 2, 3)


@pytest.fixture(scope="module")
def pc_esp():
    mol = Chem.AddHs(Chem.MolFromSmiles("CC1COC(=O)O1"))
    xyz, _ = resp.embed_conformer(mol, seed=42)
    esp = resp.compute_esp([a.GetSymbol() for a in mol.GetAtoms()], xyz, 0)
    return mol, esp


@pytest.mark.qm
def test_pc_resp_reproduces_qm_esp(pc_esp):
    mol, esp = pc_esp
    fit_esp, fit1, fit2 = resp.fit_resp(esp, equivalence=resp.symmetry_classes(mol),
                                        stage2_atoms=resp.stage2_atoms_of(mol))
    assert fit2.rrms < 0.15 and fit1.rrms < 0.15
    assert fit_esp.rrms <= fit1.rrms <= fit2.rrms  # every restraint/equivalence costs a little fit
    q = fit2.charges
    assert abs(q.sum()) < 1e-10
    assert np.ptp(q[[7, 8, 9]]) < 1e-10 and abs(q[11] - q[12]) < 1e-10
    # buried sp3 carbons (methyl C0 and the ring CH C1) are pulled towards zero by the restraint
    for i in (0, 1):
        assert abs(q[i]) < abs(fit_esp.charges[i])
    # chemistry: carbonate carbon strongly positive, carbonyl O negative, ring O negative
    assert q[4] > 0.7 and q[5] < -0.4 and q[3] < -0.3 and q[6] < -0.3


@pytest.mark.qm
def test_pc_capping_group_constraint(pc_esp):
    mol, esp = pc_esp
    methyl = (0, 7, 8, 9)
    _, _, fit2 = resp.fit_resp(esp, equivalence=resp.symmetry_classes(mol), stage2_atoms=resp.stage2_atoms_of(mol),
                               charge_groups=[(methyl, 0.0)])
    assert abs(fit2.charges[list(methyl)].sum()) < 1e-8
    rest = [i for i in range(13) if i not in methyl]
    assert abs(fit2.charges[rest].sum()) < 1e-8  # the remaining "unit" carries the integer charge


@pytest.mark.qm
def test_resp_charges_end_to_end_result_fields():
    mol = Chem.AddHs(Chem.MolFromSmiles("CO"))
    result = resp.resp_charges(mol)
    assert result.total_charge == 0 and abs(result.charges.sum()) < 1e-10
    assert np.ptp(result.charges[[2, 3, 4]]) < 1e-10  # methyl H equal
    assert result.n_grid_points > 100 and 0 < result.rrms < 0.3
    prov = result.provenance()
    assert "RHF/6-31G*" in prov["qm_method"] and "def2-universal-jkfit" in prov["qm_method"]
    assert "seed 42" in prov["conformer"]
    with pytest.raises(ChargeError, match="formal charges"):
        resp.resp_charges(mol, total_charge=1)
