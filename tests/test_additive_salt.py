"""The additive salt of a system (the founding paper's LE(TEA) = LE + 0.1 M of a quaternary-ammonium nitrate):
config validation, ion counts per litre of the solution of both salts, a tiny build that parameterises."""

import json

import numpy as np
import openmm
import pytest
from openmm import app, unit

import configs
from common.config import SaltSpec, SystemSpec, read_yaml, stage_inputs
from common.constants import AVOGADRO_PER_MOL as AVOGADRO
from common.errors import ConfigError
from forcefields.parameterise import parameterise
from forcefields.system_factory import TEMPLATE_DIR, NonbondedSettings
from systems.build_electrolyte import build_electrolyte
from systems.composition import ion_pairs_for_molarities, molecule_counts
from systems.species import BUILTIN_SPECIES, registry
from workflow.config_vocabulary import load_workflow_config as load_config

DEMO = read_yaml("config/demo.yaml")


def with_additive(block, system="LE"):
    return configs.with_change(DEMO, f"systems.{system}.additive_salt", block)


# ------------------------------------------------------------------------------------------------- config


def test_empty_block_is_the_papers_le_tea_with_tetramethylammonium():
    additive = load_config(with_additive({})).systems["LE"].additive_salt
    assert additive == SaltSpec(cation="TMA+", anion="NO3-", concentration_mol_per_L=0.1)


def test_tetraethylammonium_is_selectable():
    additive = load_config(with_additive({"cation": "TEA+", "concentration": "100 mM"})).systems["LE"].additive_salt
    assert additive.cation == "TEA+" and additive.concentration_mol_per_L == pytest.approx(0.1)


def test_absent_or_zero_additive_is_none_and_leaves_stage_inputs_unchanged():
    plain = load_config(DEMO)
    zero = load_config(with_additive({"concentration": "0 mol/L"}))
    assert plain.systems["LE"].additive_salt is None and zero.systems["LE"].additive_salt is None
    assert plain.systems["LE"].salts == [plain.systems["LE"].salt]
    for stage in ("build", "parameterise", "interface", "transport"):
        assert "additive_salt" not in json.dumps(stage_inputs(plain, stage, "LE"))
    assert "additive_salt" not in plain.to_resolved_json()
    with_tma = load_config(with_additive({}))
    assert stage_inputs(with_tma, "build", "LE")["systems"]["LE"]["additive_salt"]["cation"] == "TMA+"
    assert stage_inputs(with_tma, "parameterise", "LE") != stage_inputs(plain, "parameterise", "LE")


@pytest.mark.parametrize("block, pattern", [
    ({"cation": "TBA+"}, r"systems.LE.additive_salt.cation.*'TBA\+' is not a known cation.*'TEA\+', 'TMA\+'"),
    ({"anion": "TMA+"}, r"systems.LE.additive_salt.anion.*'TMA\+' is not a known anion.*'NO3-'"),
    ({"concentration": "-0.1 mol/L"}, r"systems.LE.additive_salt.concentration.*negative"),
    ({"concentration": "5 mol/L"}, r"systems.LE.additive_salt.concentration.*above 4 mol/L"),
    ({"concentration": "0.1 kg"}, r"systems.LE.additive_salt.concentration.*0.1 kg"),
    ({"anion": "PF6-"}, r"systems.LE.additive_salt.anion.*'PF6-' is also the anion of systems.LE.salt"),
    ({"salt": "NaNO3"}, r"systems.LE.additive_salt.*unknown key.*'salt'.*allowed keys.*'anion', 'cation', "
                        r"'concentration'"),
])
def test_bad_additive_salt_is_refused_by_key(block, pattern):
    with pytest.raises(ConfigError, match=pattern):  # UnitError is a ConfigError
        load_config(with_additive(block))


def test_additive_ion_without_parameters_is_refused():
    raw = configs.with_change(with_additive({"cation": "TBA+"}), "species.TBA+",
                              {"smiles": "CCCC[N+](CCCC)(CCCC)CCCC", "residue": "TBA", "role": "cation"})
    with pytest.raises(ConfigError, match=r"additive_salt.cation.*'TBA\+' \(residue TBA\) has no ion force-field "
                                          r"parameters.*templates.*'TEA\+', 'TMA\+'"):
        load_config(raw)


def test_main_salt_still_needs_the_ion_force_field():
    with pytest.raises(ConfigError, match=r"systems.LE.salt.cation.*'TMA\+'.*no ion force-field parameters "
                                          r"\(forcefields/data/ions.xml\)"):
        load_config(configs.with_change(DEMO, "systems.LE.salt.cation", "TMA+"))


def test_additive_salt_is_for_liquids_only():
    gel = next(n for n, s in DEMO["systems"].items() if s.get("kind") == "gpe")
    with pytest.raises(ConfigError, match=rf"systems.{gel}.additive_salt.*only for kind 'electrolyte'"):
        load_config(with_additive({}, system=gel))


def test_paper_config_has_le_tea_with_the_texts_cation():
    paper = load_config(read_yaml("config/config.yaml"))
    le, le_tea = paper.systems["LE"], paper.systems["LE_TEA"]
    assert le_tea.additive_salt == SaltSpec(cation="TMA+", anion="NO3-", concentration_mol_per_L=0.1)
    assert (le_tea.salt, le_tea.solvent_volume_fractions, le_tea.n_solvent) == (
        le.salt, le.solvent_volume_fractions, le.n_solvent)
    assert "LE_TEA" not in DEMO["systems"]


# ------------------------------------------------------------------------------------------------- counts


def test_two_salts_share_one_solution_volume_by_hand():
    # 100 nm3 of solvent = 1e-22 L; 1 M with 63.35 cm3/mol and 0.1 M with 57.45 cm3/mol occupy
    # 0.06335 + 0.005745 = 0.069095 of each litre: n = c * 60.2214076 / 0.930905
    n_main, n_additive = ion_pairs_for_molarities([1.0, 0.1], 100.0, [63.35, 57.45])
    assert n_main == pytest.approx(64.6913, abs=1e-4)
    assert n_additive == pytest.approx(6.46913, abs=1e-5)
    with pytest.raises(ConfigError, match=r"no room for solvent.*sum of c x volume < 1"):
        ion_pairs_for_molarities([4.0, 4.0], 100.0, [63.35, 200.0])


def _le_tea(cation="TMA+", n_solvent=1000, additive=0.1):
    return SystemSpec(name="X", kind="electrolyte", solvent_volume_fractions={"PC": 0.95, "FEC": 0.05},
                      salt=SaltSpec(cation="Na+", anion="PF6-", concentration_mol_per_L=1.0),
                      additive_salt=SaltSpec(cation=cation, anion="NO3-", concentration_mol_per_L=additive),
                      n_solvent=n_solvent, reference_density="", reference_conductivity="", viscosity_Pa_s=None)


def test_le_plus_0p1M_tma_nitrate_counts_by_hand():
    composition = molecule_counts(_le_tea(), BUILTIN_SPECIES)
    # By hand (test_composition: 942 PC + 58 FEC = 139.58 nm3, i.e. 84.057 pairs per litre of solvent at 1 M).
    # TMA NO3: M = 74.147 + 62.005 = 136.152 g/mol, no solution density known -> 136.152 / 2.37 = 57.45 cm3/mol.
    # Occupied: 1 * 0.06335 + 0.1 * 0.05745 = 0.069095 -> Na 84.057 / 0.930905 = 90.30 -> 90,
    # TMA 8.4057 / 0.930905 = 9.03 -> 9.  V_sol = 139.58 + (90 * 63.35 + 9 * 57.45) / 602.214 = 149.906 nm3:
    # NaPF6 90 / (0.602214 * 149.906) = 0.9970 M, TMA NO3 9 / 90.276 = 0.09970 M.
    assert composition.counts == {"PC": 942, "FEC": 58, "Na+": 90, "PF6-": 90, "TMA+": 9, "NO3-": 9}
    additive = composition.additive
    assert additive["apparent_molar_volume_cm3_per_mol"] == pytest.approx(57.45, abs=0.01)
    assert additive["apparent_molar_volume_source"].startswith("fallback")
    assert composition.solution_volume_nm3 == pytest.approx(149.906, abs=0.002)
    assert composition.realised_salt_molarity_mol_per_L == pytest.approx(0.9970, abs=1e-4)
    assert additive["realised_molarity_mol_per_L"] == pytest.approx(0.09970, abs=1e-5)
    assert additive["realised_molarity_mol_per_L"] == pytest.approx(
        9 / (AVOGADRO * composition.solution_volume_nm3 * 1e-24))
    assert (additive["cation"], additive["anion"], additive["n_pairs"]) == ("TMA+", "NO3-", 9)


def test_additive_that_rounds_to_no_ion_pair_is_an_error():
    with pytest.raises(ConfigError, match=r"additive_salt 0.1 mol/L.*rounds to 0 ion pairs.*additive_salt.concentration"):
        molecule_counts(_le_tea(n_solvent=40), BUILTIN_SPECIES)


# ------------------------------------------------------------------------------------------- build + force field


@pytest.fixture(scope="module", params=["TMA+", "TEA+"])
def tiny_le_tea(request, tmp_path_factory):
    cation = request.param
    if not (TEMPLATE_DIR / f"{BUILTIN_SPECIES[cation].residue}.xml").is_file():
        pytest.fail(f"no shipped residue template for {cation}")
    raw = {"name": "t", "seed": 5, "forcefield": {"nonbonded_cutoff": "0.9 nm"},
           "systems": {"LE_TEA": {"solvents": {"PC": 0.95, "FEC": 0.05}, "salt": {"concentration": "1 mol/L"},
                                  "additive_salt": {"cation": cation}, "n_solvent": 120}}}
    config = load_config(raw)
    out = tmp_path_factory.mktemp("le_tea") / "build"
    manifest = build_electrolyte(config, "LE_TEA", out)
    residues = [BUILTIN_SPECIES[n].residue for n in ("Na+", "PF6-", cation, "NO3-")]
    report = parameterise(out / "system.pdb", [], set(residues), 0.8, NonbondedSettings(cutoff_nm=0.9),
                          out.parent / "parameterise", [TEMPLATE_DIR])
    return cation, config, manifest, report, out.parent


def test_tiny_le_tea_build_records_the_additive_and_its_molarity(tiny_le_tea):
    cation, _, manifest, _, _ = tiny_le_tea
    counts = manifest["composition"]["counts"]
    assert counts[cation] == counts["NO3-"] == manifest["additive_salt"]["n_pairs"] >= 1
    assert manifest["additive_salt"]["cation"] == cation
    assert "tetramethylammonium" in manifest["additive_salt"]["cation_choice"]
    molarity = manifest["additive_salt"]["realised_molarity_mol_per_L"]
    assert molarity["target"] == pytest.approx(0.1)
    assert molarity["value"] == pytest.approx(counts[cation] / (AVOGADRO * molarity["volume_nm3"] * 1e-24))
    assert molarity["volume_nm3"] == manifest["realised_molarity_mol_per_L"]["volume_nm3"]


def test_tiny_le_tea_parameterises_neutral_with_scaled_additive_charges(tiny_le_tea):
    cation, _, manifest, report, folder = tiny_le_tea
    residue = BUILTIN_SPECIES[cation].residue
    assert abs(report["total_charge_e"]) < 1e-4
    assert report["residue_charges_formal_e"] == {"PC": 0.0, "FEC": 0.0, "NA": 1.0, "PF6": -1.0,
                                                  residue: 1.0, "NO3": -1.0}
    system = openmm.XmlSerializer.deserialize((folder / "parameterise" / "system.xml").read_text())
    nonbonded = next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))
    pdb = app.PDBFile(str(folder / "build" / "system.pdb"))
    totals = {}
    for r in pdb.topology.residues():
        q = sum(nonbonded.getParticleParameters(a.index)[0].value_in_unit(unit.elementary_charge) for a in r.atoms())
        totals.setdefault(r.name, set()).add(round(q, 6))
    # Every ion, the additive's included, carries ion_charge_scale x its formal charge (0.8 e).
    assert totals[residue] == {0.8} and totals["NO3"] == {-0.8} and totals["NA"] == {0.8} and totals["PF6"] == {-0.8}
    assert totals["PC"] == {0.0}
    assert report["template_provenance"][residue]["file"].endswith(f"templates/{residue}.xml")


def test_transport_topology_sees_the_additive_ions_as_species(tiny_le_tea):
    from analysis.topology import load_molecular_system

    cation, config, manifest, _, folder = tiny_le_tea
    residues = {s.residue for s in registry(config).values() if s.name in manifest["composition"]["counts"]}
    # As the workflow's formal_charges(system): the system's ion residues only.
    formal = {s.residue: s.formal_charge for s in registry(config).values()
              if s.role in ("cation", "anion") and s.residue in residues}
    system = load_molecular_system(folder / "build" / "system.pdb", folder / "parameterise" / "system.xml", formal)
    residue = BUILTIN_SPECIES[cation].residue
    assert set(system.species) == {"PC", "FEC", "NA", "PF6", residue, "NO3"}
    assert system.species[residue].charge_formal_e == 1 and system.species["NO3"].charge_formal_e == -1
    assert system.species[residue].charge_scaled_e == pytest.approx(0.8, abs=1e-6)
    assert system.species[residue].n_molecules == manifest["composition"]["counts"][cation]
    assert np.isclose(sum(s.charge_scaled_e * s.n_molecules for s in system.species.values()), 0.0, atol=1e-4)


def test_interface_analysis_classes_the_additive_atoms(tiny_le_tea):
    from analysis.interface import PROFILE_CLASSES, read_cell_topology

    cation, _, manifest, _, folder = tiny_le_tea
    classes, residues, _, elements = read_cell_topology(folder / "build" / "system.pdb")
    residue = BUILTIN_SPECIES[cation].residue
    counts = manifest["composition"]["counts"]
    assert set(classes[(residues == residue) & (elements == "N")]) == {"ammonium N"}
    assert set(classes[(residues == "NO3") & (elements == "N")]) == {"nitrate N"}
    assert set(classes[(residues == "NO3") & (elements == "O")]) == {"nitrate O"}
    assert int(np.sum(classes == "ammonium N")) == counts[cation]  # no other N+ with four carbons in LE_TEA
    assert {"ammonium N", "nitrate N"} <= set(PROFILE_CLASSES)


def test_density_report_gives_the_additive_molarity_at_the_equilibrated_volume():
    from analysis.density import density_report

    # 16.60539 nm3 holds 10.000 L/mol x N_A^-1: 10 Na+ -> 1 mol/L, 1 TMA+ -> 0.1 mol/L.
    n = 40
    series = {"time_ps": list(np.linspace(1, 20, n)), "density_g_per_cm3": [1.26] * n,
              "volume_nm3": [16.60539] * n}
    eq = {"npt": {"converged": True, "blocks_used": 1, "block_ps": 20.0, "temperature_K": 298.15, "pressure_bar": 1.0,
                  "timestep_ps": 0.002, "steps": 10000, "checks": [{"n_samples": n // 2}],
                  "barostat": {"mode": "molecular"}, "series": series}}
    manifest = {"composition": {"counts": {"PC": 100, "Na+": 10, "PF6-": 10, "TMA+": 1, "NO3-": 1}, "cation": "Na+",
                                "target_salt_molarity_mol_per_L": 1.0},
                "additive_salt": {"cation": "TMA+", "anion": "NO3-", "n_pairs": 1,
                                  "realised_molarity_mol_per_L": {"value": 0.097, "target": 0.1}}}
    forcefield = {"charges": "RESP", "ion_charge_scale": 0.8, "force_field": "GAFF2"}
    report = density_report(eq, forcefield, "LE_TEA", "", manifest)
    assert report["realised_molarity_mol_per_L"]["value"] == pytest.approx(1.0, abs=1e-5)
    additive = report["additive_realised_molarity_mol_per_L"]
    assert additive["value"] == pytest.approx(0.1, abs=1e-6) and additive["stderr"] == pytest.approx(0.0, abs=1e-12)
    assert (additive["target"], additive["at_build"], additive["counted_species"]) == (0.1, 0.097, "TMA+")
    del manifest["additive_salt"]
    assert "additive_realised_molarity_mol_per_L" not in density_report(eq, forcefield, "LE", "", manifest)
