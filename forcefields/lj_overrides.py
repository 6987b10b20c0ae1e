"""Lennard-Jones overrides: replace GAFF2's σ and ε of one atom type of one residue in a built System.

A force-field variant for the validation campaign (issue 14: "what else you tried — LJ of the carbonyl O"):
the NonbondedForce particles of every atom of residue ``residue`` whose template type is ``atom_type`` get the
new σ (nm) and ε (kJ/mol); their 1-4 pairs, which OpenMM's ForceField stored as exceptions with
σ_ij = (σ_i + σ_j)/2 and ε_ij = lj14scale · √(ε_i ε_j) (GAFF2: lj14scale 0.5), are recombined the same way.
Excluded pairs (1-2, 1-3: charge product and ε both zero) stay excluded. The atom types are read from the
residue-template files the System was built from (``<Atom name=... type=...>``), so an override names the
type a chemist knows (``o``: carbonyl O) rather than an atom name.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Sequence

import openmm
from openmm import app, unit
from pydantic import ValidationError

from common.config import LJOverride
from common.errors import ParameterError

GAFF2_LJ14_SCALE = 0.5


def parse_overrides(entries: Sequence[dict]) -> list[LJOverride]:
    """Overrides from their JSON form (common.config.LJOverride fields: the workflow passes ``model_dump()``)."""
    try:
        return [LJOverride.model_validate(entry) for entry in entries]
    except (ValidationError, TypeError) as exc:
        raise ParameterError(f"LJ overrides {list(entries)!r} are not valid ({exc}); each needs residue, atom_type, "
                             "sigma_nm > 0, epsilon_kJ_per_mol >= 0 and source") from exc


def template_atom_types(template_files: Sequence[Path]) -> dict[str, dict[str, str]]:
    """Residue name -> {atom name: atom type} from OpenMM ffxml residue templates."""
    types: dict[str, dict[str, str]] = {}
    for path in template_files:
        for residue in ElementTree.parse(path).getroot().iter("Residue"):
            types.setdefault(residue.get("name"), {}).update(
                {atom.get("name"): atom.get("type") for atom in residue.iter("Atom")})
    return types


def apply_lj_overrides(system: openmm.System, topology: app.Topology, template_files: Sequence[Path],
                       overrides: Sequence[LJOverride], lj14scale: float = GAFF2_LJ14_SCALE) -> list[dict]:
    """Apply ``overrides`` in place; return one record per override (atoms changed, the GAFF2 values replaced)."""
    if not overrides:
        return []
    nonbonded = next((f for f in system.getForces() if isinstance(f, openmm.NonbondedForce)), None)
    if nonbonded is None:
        raise ParameterError("LJ overrides need a NonbondedForce in the System; there is none")
    types = template_atom_types(template_files)
    atoms_of_residue: dict[str, list] = {}
    for atom in topology.atoms():
        atoms_of_residue.setdefault(atom.residue.name, []).append(atom)
    records, changed = [], set()
    for override in overrides:
        if override.sigma_nm <= 0 or override.epsilon_kJ_per_mol < 0:
            raise ParameterError(f"LJ override {override}: sigma must be > 0 nm and epsilon >= 0 kJ/mol")
        if override.residue not in atoms_of_residue:
            raise ParameterError(f"LJ override for residue {override.residue!r}: no such residue in the topology; "
                                 f"residues: {sorted(atoms_of_residue)}")
        residue_types = types.get(override.residue)
        if residue_types is None:
            raise ParameterError(f"LJ override for residue {override.residue!r}: its atom types are not in the "
                                 f"residue templates given ({[Path(t).name for t in template_files]})")
        if override.atom_type not in set(residue_types.values()):
            raise ParameterError(f"LJ override {override.residue}/{override.atom_type!r}: no atom of that type in "
                                 f"the residue; its types: {sorted(set(residue_types.values()))}")
        indices = [a.index for a in atoms_of_residue[override.residue]
                   if residue_types.get(a.name) == override.atom_type]
        charge, sigma, epsilon = nonbonded.getParticleParameters(indices[0])
        records.append({"residue": override.residue, "atom_type": override.atom_type,
                        "sigma_nm": override.sigma_nm, "epsilon_kJ_per_mol": override.epsilon_kJ_per_mol,
                        "source": override.source, "n_atoms": len(indices),
                        "replaced_sigma_nm": sigma.value_in_unit(unit.nanometer),
                        "replaced_epsilon_kJ_per_mol": epsilon.value_in_unit(unit.kilojoule_per_mole)})
        for i in indices:
            q = nonbonded.getParticleParameters(i)[0]
            nonbonded.setParticleParameters(i, q, override.sigma_nm, override.epsilon_kJ_per_mol)
            changed.add(i)
    recombined = _recombine_14(nonbonded, changed, lj14scale)
    for record in records:
        record["pairs_14_recombined_in_system"] = recombined
    return records


def _recombine_14(nonbonded: openmm.NonbondedForce, changed: set[int], lj14scale: float) -> int:
    """Recompute the LJ of 1-4 exceptions that involve a changed particle; excluded pairs are left alone."""
    count = 0
    for k in range(nonbonded.getNumExceptions()):
        i, j, charge_product, _, epsilon = nonbonded.getExceptionParameters(k)
        if i not in changed and j not in changed:
            continue
        if charge_product.value_in_unit(unit.elementary_charge ** 2) == 0 and \
                epsilon.value_in_unit(unit.kilojoule_per_mole) == 0:
            continue  # an exclusion (1-2 or 1-3), not a scaled 1-4 pair
        _, sigma_i, eps_i = nonbonded.getParticleParameters(i)
        _, sigma_j, eps_j = nonbonded.getParticleParameters(j)
        sigma_ij = 0.5 * (sigma_i.value_in_unit(unit.nanometer) + sigma_j.value_in_unit(unit.nanometer))
        eps_ij = lj14scale * math.sqrt(eps_i.value_in_unit(unit.kilojoule_per_mole)
                                       * eps_j.value_in_unit(unit.kilojoule_per_mole))
        nonbonded.setExceptionParameters(k, i, j, charge_product, sigma_ij, eps_ij)
        count += 1
    return count
