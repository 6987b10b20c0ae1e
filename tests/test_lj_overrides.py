"""LJ overrides (issue 14's force-field variants): the config block is checked by key, and in the System only
the named atom type of the named residue changes, its 1-4 pairs recombined, exclusions kept."""

from __future__ import annotations

import copy
import json
import math

import openmm
import pytest
from openmm import app, unit

from common.config import LJOverride, stage_inputs
from common.errors import ConfigError, ParameterError
from forcefields.parameterise import parameterise
from forcefields.system_factory import TEMPLATE_DIR, NonbondedSettings
from systems.build_electrolyte import build_electrolyte
from workflow.config_vocabulary import load_workflow_config as load_config

OPLS_CARBONYL_O = {"residue": "PC", "atom_type": "o", "sigma": "0.296 nm", "epsilon": "0.879 kJ/mol",
                   "source": "OPLS-AA carbonyl O, Jorgensen et al., J. Am. Chem. Soc. 118 (1996) 11225"}
RAW = {"name": "t", "seed": 5, "forcefield": {"nonbonded_cutoff": "0.9 nm"},
       "systems": {"LE": {"solvents": {"PC": 0.95, "FEC": 0.05}, "salt": {"concentration": "1 mol/L"},
                          "n_solvent": 60}}}


def with_overrides(*entries) -> dict:
    raw = copy.deepcopy(RAW)
    raw["systems"]["LE"]["lj_overrides"] = list(entries)
    return raw


def test_config_block_in_internal_units_and_only_parameterise_onwards_reruns():
    plain, varied = load_config(RAW), load_config(with_overrides(OPLS_CARBONYL_O))
    (override,) = varied.systems["LE"].lj_overrides
    assert (override.sigma_nm, override.epsilon_kJ_per_mol) == (0.296, 0.879)
    assert plain.systems["LE"].lj_overrides is None
    assert "lj_overrides" not in json.dumps(stage_inputs(plain, "parameterise", "LE"))  # old configs rerun nothing
    assert stage_inputs(plain, "parameterise", "LE") != stage_inputs(varied, "parameterise", "LE")
    assert stage_inputs(plain, "build", "LE") == stage_inputs(varied, "build", "LE")


@pytest.mark.parametrize("change, pattern", [
    ({"residue": "EC"}, r"lj_overrides\[0\].residue.*'EC'.*allowed.*'PC'"),
    ({"sigma": "-0.3 nm"}, r"lj_overrides\[0\].sigma"),
    ({"epsilon": "0.2 nm"}, r"lj_overrides\[0\].epsilon"),
    ({"source": " "}, r"lj_overrides\[0\].source.*cites its source"),
])
def test_bad_overrides_are_refused_by_key(change, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_config(with_overrides(dict(OPLS_CARBONYL_O, **change)))


def test_the_same_type_twice_is_refused():
    with pytest.raises(ConfigError, match="overridden twice"):
        load_config(with_overrides(OPLS_CARBONYL_O, OPLS_CARBONYL_O))


def with_forcefield_overrides(*entries, pc_free_system: bool = False) -> dict:
    raw = copy.deepcopy(RAW)
    raw["forcefield"]["lj_overrides"] = list(entries)
    if pc_free_system:
        raw["systems"]["FEC_only"] = {"solvents": {"FEC": 1.0}, "salt": {"concentration": "1 mol/L"}, "n_solvent": 40}
    return raw


def test_forcefield_overrides_reach_every_system_with_the_residue_and_a_system_list_replaces_them():
    inherited = load_config(with_forcefield_overrides(OPLS_CARBONYL_O, pc_free_system=True))
    (override,) = inherited.systems["LE"].lj_overrides
    assert (override.residue, override.sigma_nm, override.epsilon_kJ_per_mol) == ("PC", 0.296, 0.879)
    assert inherited.systems["FEC_only"].lj_overrides is None           # no PC: nothing to override
    per_system = load_config(with_overrides(OPLS_CARBONYL_O))
    assert stage_inputs(inherited, "parameterise", "LE") == stage_inputs(per_system, "parameterise", "LE")
    raw = with_forcefield_overrides(OPLS_CARBONYL_O)
    raw["systems"]["LE"]["lj_overrides"] = []                           # opt out: GAFF2 as shipped
    assert load_config(raw).systems["LE"].lj_overrides is None


def test_forcefield_override_of_a_residue_no_system_has_is_refused():
    with pytest.raises(ConfigError, match=r"forcefield.lj_overrides\[0\].residue.*'EC'.*any system.*allowed"):
        load_config(with_forcefield_overrides(dict(OPLS_CARBONYL_O, residue="EC")))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("lj") / "build"
    build_electrolyte(load_config(RAW), "LE", out)
    return out


def _nonbonded(folder):
    """(System, its NonbondedForce): the force is owned by the System, which must stay alive while it is read."""
    system = openmm.XmlSerializer.deserialize((folder / "system.xml").read_text())
    return system, next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))


def test_only_the_named_type_changes_and_its_14_pairs_recombine(built):
    settings = NonbondedSettings(cutoff_nm=0.9)
    ions = {"NA", "PF6"}
    plain = parameterise(built / "system.pdb", [], ions, 0.8, settings, built.parent / "plain", [TEMPLATE_DIR])
    override = LJOverride(residue="PC", atom_type="o", sigma_nm=0.296, epsilon_kJ_per_mol=0.879, source="OPLS-AA")
    varied = parameterise(built / "system.pdb", [], ions, 0.8, settings, built.parent / "varied", [TEMPLATE_DIR],
                          lj_overrides=[override])
    assert plain["lj_overrides"] == []
    (record,) = varied["lj_overrides"]
    topology = app.PDBFile(str(built / "system.pdb")).topology
    n_pc = sum(1 for r in topology.residues() if r.name == "PC")
    assert record["n_atoms"] == n_pc  # one carbonyl O per PC
    assert record["replaced_sigma_nm"] == pytest.approx(0.3048, abs=1e-4) and record["source"] == "OPLS-AA"
    (_, before), (_, after) = kept = _nonbonded(built.parent / "plain"), _nonbonded(built.parent / "varied")
    names = [(a.residue.name, a.name) for a in topology.atoms()]
    changed = set()
    for i in range(before.getNumParticles()):
        q0, s0, e0 = before.getParticleParameters(i)
        q1, s1, e1 = after.getParticleParameters(i)
        assert q0 == q1
        if (s0, e0) != (s1, e1):
            changed.add(i)
            assert names[i] == ("PC", "O2")  # the template's type-o atom
            assert s1.value_in_unit(unit.nanometer) == pytest.approx(0.296)
            assert e1.value_in_unit(unit.kilojoule_per_mole) == pytest.approx(0.879)
    assert len(changed) == n_pc
    recombined = 0
    for k in range(before.getNumExceptions()):
        i, j, qq0, s0, e0 = before.getExceptionParameters(k)
        _, _, qq1, s1, e1 = after.getExceptionParameters(k)
        assert qq0 == qq1
        if not ({i, j} & changed) or e0.value_in_unit(unit.kilojoule_per_mole) == 0:
            assert (s0, e0) == (s1, e1)  # other pairs, and exclusions, untouched
            continue
        sigma = [after.getParticleParameters(m)[1].value_in_unit(unit.nanometer) for m in (i, j)]
        eps = [after.getParticleParameters(m)[2].value_in_unit(unit.kilojoule_per_mole) for m in (i, j)]
        assert s1.value_in_unit(unit.nanometer) == pytest.approx(sum(sigma) / 2)
        assert e1.value_in_unit(unit.kilojoule_per_mole) == pytest.approx(0.5 * math.sqrt(eps[0] * eps[1]))
        recombined += 1
    assert recombined == record["pairs_14_recombined_in_system"] > 0
    del kept


def test_a_type_the_residue_lacks_is_named_with_those_it_has(built, tmp_path):
    with pytest.raises(ParameterError, match=r"PC/'f'.*its types: \['c', 'c3', 'h1', 'hc', 'o', 'os'\]"):
        parameterise(built / "system.pdb", [], {"NA", "PF6"}, 0.8, NonbondedSettings(cutoff_nm=0.9), tmp_path,
                     [TEMPLATE_DIR], lj_overrides=[LJOverride(residue="PC", atom_type="f", sigma_nm=0.3,
                                                                  epsilon_kJ_per_mol=0.3, source="x")])
