"""One molecule in vacuum with the liquid's own force field: its mean potential energy for ΔHvap.

    python -m simulation.gas_phase --system results/validation/PC_resp2/parameterise/system.xml \\
        --state results/validation/PC_resp2/parameterise/state.xml \\
        --topology results/validation/PC_resp2/build/system.pdb --residue PC --temperature "298.15 K" \\
        --duration "1 ns" --out results/validation/PC_resp2/gas_phase/gas_phase.json

The vacuum System is cut out of the liquid's System (so charges, Lennard-Jones, exceptions, bonded terms,
masses and constraints are exactly those of the liquid): the particles of the first residue named
``--residue``, every bonded term and constraint among them, and a NonbondedForce without cutoff (no PME,
no dispersion correction) holding their charges, LJ parameters and intramolecular exceptions. The molecule
is made whole by the minimum image from its first atom. It is simulated with a Langevin integrator
(friction 5/ps, so that one molecule samples its canonical distribution) for ``--duration`` after a
``--warmup``; the potential energy is sampled every ``--sample-interval``. Reported: the mean potential
energy with its standard error from the statistical inefficiency (common.statistics), in kJ/mol.

This is the gas-phase half of the heat of vaporisation (analysis.validation): classical, ideal gas, no
self-polarisation correction.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import openmm
from openmm import app, unit

from common.cli import run_main
from common.errors import InputFileError, SimulationError
from common.io import write_json_atomic
from common.statistics import statistical_inefficiency
from common.units import parse_quantity

GAS_FRICTION_PER_PS = 5.0


def molecule_atoms(topology: app.Topology, residue: str) -> list[int]:
    """Atom indices of the first residue named ``residue``."""
    for res in topology.residues():
        if res.name == residue:
            return [a.index for a in res.atoms()]
    names = sorted({r.name for r in topology.residues()})
    raise InputFileError(f"the topology has no residue {residue!r}; residues: {names}")


def vacuum_system(system: openmm.System, atoms: Sequence[int]) -> openmm.System:
    """The molecule ``atoms`` of ``system`` alone, in vacuum (module docstring)."""
    index = {int(a): k for k, a in enumerate(atoms)}
    out = openmm.System()
    for a in atoms:
        out.addParticle(system.getParticleMass(int(a)))
    for c in range(system.getNumConstraints()):
        i, j, d = system.getConstraintParameters(c)
        if i in index and j in index:
            out.addConstraint(index[i], index[j], d)
    for force in system.getForces():
        if isinstance(force, openmm.HarmonicBondForce):
            new = openmm.HarmonicBondForce()
            for b in range(force.getNumBonds()):
                i, j, r0, k = force.getBondParameters(b)
                if i in index and j in index:
                    new.addBond(index[i], index[j], r0, k)
        elif isinstance(force, openmm.HarmonicAngleForce):
            new = openmm.HarmonicAngleForce()
            for b in range(force.getNumAngles()):
                i, j, l, th, k = force.getAngleParameters(b)
                if i in index and j in index and l in index:
                    new.addAngle(index[i], index[j], index[l], th, k)
        elif isinstance(force, openmm.PeriodicTorsionForce):
            new = openmm.PeriodicTorsionForce()
            for b in range(force.getNumTorsions()):
                i, j, k, l, n, ph, kk = force.getTorsionParameters(b)
                if all(x in index for x in (i, j, k, l)):
                    new.addTorsion(index[i], index[j], index[k], index[l], n, ph, kk)
        elif isinstance(force, openmm.NonbondedForce):
            new = openmm.NonbondedForce()
            new.setNonbondedMethod(openmm.NonbondedForce.NoCutoff)
            for a in atoms:
                new.addParticle(*force.getParticleParameters(int(a)))
            for e in range(force.getNumExceptions()):
                i, j, qq, sig, eps = force.getExceptionParameters(e)
                if i in index and j in index:
                    new.addException(index[i], index[j], qq, sig, eps)
        elif isinstance(force, (openmm.CMMotionRemover, openmm.MonteCarloBarostat)):
            continue
        else:
            raise SimulationError(f"vacuum_system: {type(force).__name__} is not supported (bonded, nonbonded and "
                                  "constraint terms of GAFF2 systems are)")
        out.addForce(new)
    return out


def whole_positions(positions_nm: np.ndarray, box_nm: np.ndarray | None) -> np.ndarray:
    """Positions made whole by the minimum image of every atom from the first one (orthorhombic box)."""
    x = np.asarray(positions_nm, dtype=float)
    if box_nm is None:
        return x
    lengths = np.diag(np.asarray(box_nm, dtype=float))
    d = x - x[0]
    return x[0] + d - lengths * np.round(d / lengths)


def run_gas_phase(system: openmm.System, positions_nm: np.ndarray, temperature_K: float, duration_ps: float,
                  warmup_ps: float = 20.0, timestep_ps: float = 0.002, sample_interval_ps: float = 0.2,
                  seed: int = 2026, platform: str = "CPU") -> dict:
    """Langevin MD of a vacuum System; the potential-energy samples and their mean with stderr (kJ/mol)."""
    if duration_ps <= 0 or timestep_ps <= 0 or sample_interval_ps < timestep_ps:
        raise SimulationError(f"gas phase: duration {duration_ps} ps, time step {timestep_ps} ps and sample interval "
                              f"{sample_interval_ps} ps must be positive, the interval at least one step")
    integrator = openmm.LangevinMiddleIntegrator(temperature_K, GAS_FRICTION_PER_PS, timestep_ps)
    integrator.setRandomNumberSeed(int(seed))
    props = {"Threads": "1"} if platform == "CPU" else {}
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName(platform), props)
    context.setPositions(positions_nm)
    openmm.LocalEnergyMinimizer.minimize(context, 1.0, 500)
    context.setVelocitiesToTemperature(temperature_K, int(seed))
    steps_per_sample = max(1, int(round(sample_interval_ps / timestep_ps)))
    integrator.step(int(round(warmup_ps / timestep_ps)))
    n = int(duration_ps / (steps_per_sample * timestep_ps))
    energies = np.empty(n)
    t0 = time.perf_counter()
    for k in range(n):
        integrator.step(steps_per_sample)
        energies[k] = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    if not np.all(np.isfinite(energies)):
        raise SimulationError("gas phase: a non-finite potential energy was sampled")
    g = statistical_inefficiency(energies)
    return {"potential_energy_kJ_per_mol": {"value": float(energies.mean()),
                                            "stderr": float(energies.std(ddof=1) * math.sqrt(g / n))},
            "n_samples": n, "statistical_inefficiency": g, "duration_ps": n * steps_per_sample * timestep_ps,
            "warmup_ps": warmup_ps, "timestep_ps": timestep_ps, "sample_interval_ps": steps_per_sample * timestep_ps,
            "friction_per_ps": GAS_FRICTION_PER_PS, "temperature_K": temperature_K, "seed": int(seed),
            "platform": platform, "wall_time_s": time.perf_counter() - t0,
            "ensemble": "NVT, one molecule in vacuum (no cutoff, no periodic images), Langevin"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulation.gas_phase", description=__doc__.splitlines()[0])
    parser.add_argument("--system", required=True, type=Path, help="the liquid's System XML")
    parser.add_argument("--state", required=True, type=Path, help="a State XML of the liquid (positions, box)")
    parser.add_argument("--topology", required=True, type=Path, help="the liquid's PDB (residue names)")
    parser.add_argument("--residue", required=True, help="residue name of the molecule")
    parser.add_argument("--temperature", required=True)
    parser.add_argument("--duration", default="1 ns")
    parser.add_argument("--warmup", default="20 ps")
    parser.add_argument("--timestep", default="2 fs")
    parser.add_argument("--sample-interval", default="0.2 ps")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)

    def body() -> int:
        for p in (args.system, args.state, args.topology):
            if not p.is_file():
                raise InputFileError(f"{p} does not exist")
        system = openmm.XmlSerializer.deserialize(args.system.read_text())
        state = openmm.XmlSerializer.deserialize(args.state.read_text())
        topology = app.PDBFile(str(args.topology)).topology
        atoms = molecule_atoms(topology, args.residue)
        pos = np.array(state.getPositions(asNumpy=True).value_in_unit(unit.nanometer))[atoms]
        box = np.array(state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer))
        result = run_gas_phase(vacuum_system(system, atoms), whole_positions(pos, box),
                               parse_quantity(args.temperature, "temperature", "--temperature"),
                               parse_quantity(args.duration, "time", "--duration"),
                               warmup_ps=parse_quantity(args.warmup, "time", "--warmup"),
                               timestep_ps=parse_quantity(args.timestep, "time", "--timestep"),
                               sample_interval_ps=parse_quantity(args.sample_interval, "time", "--sample-interval"),
                               seed=args.seed)
        result.update({"schema": "gelmd.gas_phase/1", "residue": args.residue, "n_atoms": len(atoms),
                       "inputs": {"system": str(args.system), "state": str(args.state), "topology": str(args.topology)}})
        write_json_atomic(args.out, result)
        print(f"{args.residue}: <U_gas> = {result['potential_energy_kJ_per_mol']['value']:.2f} +- "
              f"{result['potential_energy_kJ_per_mol']['stderr']:.2f} kJ/mol")
        return 0

    return run_main("simulation.gas_phase", body)


if __name__ == "__main__":
    raise SystemExit(main())
