"""Uniaxial compression of a periodic System: strain steps along one axis, lateral faces free, stress read
from the energy. Knows no chemistry: it takes a System and a State.

Why strain-controlled (and not an anisotropic barostat raising the z pressure)
    A stress-controlled run reads the strain as the equilibrium box length under a raised z pressure. For a
    soft gel in a small box that strain fluctuates by sqrt(kT / (V E)) (~0.2 for E ~ 4 MPa in 30 nm^3), and
    the liquid control has no equilibrium strain at all: under a deviatoric load its box flattens until the
    run fails. Holding the strain and measuring the stress works for both: the liquid simply reads zero.

Protocol (:func:`compress`)
    1. Reference: the System runs without constraints (:func:`simulation.system_prep.flexible_copy`; atom-wise
       scaling with constraints is biased) under a ``MonteCarloMembraneBarostat`` at ``pressure_bar`` (x and y
       scaled together, z free, zero surface tension, atom-wise scaling); the mean box of the second half is
       the unstrained reference (L0x, L0y, L0z) and the box is set to it (positions scaled atom-wise).
    2. For each engineering strain e_k (compressive positive, e_0 = 0): the compression axis is set to
       L0z (1 - e_k) by affine atom-wise scaling in sub-steps of at most ``max_substep_strain`` spread over
       ``ramp_ps`` (a bond stretched by a whole 5 % step would heat the system), the lateral axes scaled by
       the incompressible guess (Lz'/Lz)^-1/2 alongside; then the strain is held for ``hold_ps`` with the
       lateral axes under the barostat at ``pressure_bar`` (z fixed), and the stress is sampled every
       ``sample_interval_ps``. Strains whose compressed side would be shorter than twice the longest cutoff
       are left out (:func:`reachable_strains`) and named in the report.

Stress (:class:`StressProbe`)
    OpenMM reports no per-axis virial, so the stress is a finite difference of the potential energy under an
    affine diagonal deformation: every atom and the box scaled by (1 + a_k d) along axis k. For weights a,

        P_a V = sum_k a_k K_kk - dU/dd |_{d=0},     K_kk = sum_i m_i v_ik^2,

    with dU/dd by a central difference at d = +-``fd_strain`` (each evaluation on a separate probe Context
    with the same System, so measuring never perturbs the dynamics). a = (0, 0, 1) gives P_zz (the ideal
    gas gives N kT / V from the kinetic term alone); a = (-1/2, -1/2, 1) gives P_zz - (P_xx + P_yy) / 2,
    the uniaxial stress that is sampled here:

    - its kinetic part has mean zero by the isotropy of the velocities (sum_k a_k = 0), so it is replaced by
      that mean (``kinetic='isotropic'``), which removes a zero-mean noise of ~sqrt(N) kT / V;
    - the isotropic pressure fluctuations (density, bond vibrations) cancel between P_zz and the lateral
      mean, the largest part of the noise;
    - the lateral barostat holds <P_xx> = <P_yy> = p, up to the same O(kT/V) offset of the virial estimator
      that P_zz carries (kinetic degrees of freedom, the V^N weight of the barostat), so <P_zz - P_lat> is
      the thermodynamic stress p_zz - p with no finite-size offset: it is exactly zero at the reference
      (barostat-relaxed) box and, for a liquid, at every strain.

    Atom-wise affine scaling is the atomic virial, exact for a System without constraints (the run uses
    :func:`flexible_copy`; a molecular virial would miss the stress carried by the network's bonds).

Units: nm, ps, K, bar, kJ/mol in, bar out (names say which).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import openmm
from openmm import app, unit

from common.constants import AVOGADRO_PER_MOL, M3_PER_NM3, PA_PER_BAR
from common.errors import SimulationError
from simulation.platform import PlatformChoice
from simulation.reporters import BlowUpGuard, RunLog, interval_steps
from simulation.runner import make_simulation, ns_per_day, run_steps
from simulation.state_io import state_from_context
from simulation.system_prep import degrees_of_freedom, flexible_copy, remove_barostats

AXES = ("x", "y", "z")
BAR_PER_KJ_PER_MOL_PER_NM3 = 1e3 / AVOGADRO_PER_MOL / M3_PER_NM3 / PA_PER_BAR
"""1 kJ/mol/nm^3 in bar (16.6054)."""
UNIAXIAL_WEIGHTS = {"x": (1.0, -0.5, -0.5), "y": (-0.5, 1.0, -0.5), "z": (-0.5, -0.5, 1.0)}
"""Deformation weights whose conjugate pressure is P_axis - mean of the two lateral P (module notes)."""
DEFAULT_FD_STRAIN = 1e-3
SAMPLE_COLUMNS = ("step_index", "strain", "phase", "time_in_hold_ps", "Lx_nm", "Ly_nm", "Lz_nm",
                  "uniaxial_stress_bar", "potential_energy_kJ_per_mol")
"""Columns of the samples table (:func:`compress`): ``uniaxial_stress_bar`` is P_axis - P_lateral
(compressive positive), ``phase`` is ``hold``."""


def axis_weights(axis: str, lateral: float = -0.5) -> tuple[float, float, float]:
    """Weights of a diagonal deformation: 1 on ``axis`` and ``lateral`` on the two others."""
    if axis not in AXES:
        raise SimulationError(f"deformation axis {axis!r}; allowed: {list(AXES)}")
    return tuple(1.0 if a == axis else lateral for a in AXES)


CUTOFF_MARGIN = 1.01
"""The compressed side must stay this factor above twice the longest cutoff (OpenMM's minimum box)."""


def longest_cutoff_nm(system: openmm.System) -> float:
    """The longest cutoff of the System's periodic forces (nm); 0 when none has one."""
    cutoffs = [force.getCutoffDistance().value_in_unit(unit.nanometer) for force in system.getForces()
               if hasattr(force, "getCutoffDistance") and force.usesPeriodicBoundaryConditions()]
    return max(cutoffs, default=0.0)


def reachable_strains(strains, reference_length_nm: float, cutoff_nm: float) -> tuple[list[float], list[float]]:
    """(kept, dropped): a strain is reachable when the compressed side L0 (1 - e) stays >= 2 x cutoff x margin."""
    limit = 2.0 * cutoff_nm * CUTOFF_MARGIN
    kept = [e for e in strains if reference_length_nm * (1.0 - e) >= limit]
    return kept, [e for e in strains if e not in kept]


def _masses_amu(system: openmm.System) -> np.ndarray:
    return np.array([system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(system.getNumParticles())])


class StressProbe:
    """Pressure conjugate to an affine diagonal deformation, from a finite difference of the energy.

    A Context of its own (``system`` without barostats, a dummy integrator) on ``platform``; each call copies
    positions and box into it, so the Context being measured is never touched. ``fd_strain``: the deformation
    of the central difference (relative; 1e-5 keeps the truncation error far below the sampling noise and
    the rounding error of single-precision forces — measured in tests/test_deformation.py).
    """

    def __init__(self, system: openmm.System, platform: PlatformChoice, fd_strain: float = DEFAULT_FD_STRAIN):
        if not system.usesPeriodicBoundaryConditions():
            raise SimulationError("a stress from box deformation needs a periodic System")
        if system.getNumConstraints():
            raise SimulationError(f"the atomic virial is exact only without constraints; this System has "
                                  f"{system.getNumConstraints()} (use simulation.system_prep.flexible_copy)")
        probe_system = openmm.XmlSerializer.clone(system)
        remove_barostats(probe_system)
        self._masses = _masses_amu(probe_system)
        self.fd_strain = float(fd_strain)
        self._context = openmm.Context(probe_system, openmm.VerletIntegrator(0.001), platform.platform,
                                       platform.properties)

    def energy_kJ_per_mol(self, positions_nm: np.ndarray, box_nm: np.ndarray) -> float:
        """Potential energy of the probe System at ``positions_nm`` (N x 3) in the box ``box_nm`` (3 x 3)."""
        self._context.setPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box_nm])
        self._context.setPositions(positions_nm)
        return self._context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)

    def energy_derivative(self, positions_nm: np.ndarray, box_nm: np.ndarray, weights) -> float:
        """dU/dd (kJ/mol) at d = 0 for r_k -> r_k (1 + a_k d), L_k -> L_k (1 + a_k d); central difference."""
        a = np.asarray(weights, dtype=float)
        energies = []
        for sign in (1.0, -1.0):
            scale = 1.0 + sign * self.fd_strain * a
            energies.append(self.energy_kJ_per_mol(positions_nm * scale, box_nm * scale[:, None]))
        return (energies[0] - energies[1]) / (2.0 * self.fd_strain)

    def pressure_bar(self, state: openmm.State, weights, kinetic: str = "instantaneous") -> float:
        """P_a = (sum_k a_k K_kk - dU/dd) / V in bar, from a State with positions, box and (for the
        instantaneous kinetic term) velocities. ``kinetic``: ``instantaneous`` (K_kk = sum m v_k^2 of the
        State), ``isotropic`` (its mean over isotropic velocities, sum_k a_k <K>/3 ... = 0 when sum a_k = 0;
        only allowed then) or ``none`` (the configurational part alone)."""
        a = np.asarray(weights, dtype=float)
        box = np.asarray(state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer), dtype=float)
        if np.count_nonzero(box - np.diag(np.diag(box))):
            raise SimulationError("a diagonal deformation needs a rectangular box; this box is triclinic")
        positions = np.asarray(state.getPositions(asNumpy=True).value_in_unit(unit.nanometer), dtype=float)
        volume = float(np.prod(np.diag(box)))
        virial = -self.energy_derivative(positions, box, a)
        if kinetic == "instantaneous":
            v = np.asarray(state.getVelocities(asNumpy=True).value_in_unit(unit.nanometer / unit.picosecond))
            virial += float(np.sum(a * np.sum(self._masses[:, None] * v * v, axis=0)))
        elif kinetic == "isotropic":
            if abs(a.sum()) > 1e-12:
                raise SimulationError(f"kinetic='isotropic' needs weights that sum to zero, got {a.tolist()}")
        elif kinetic != "none":
            raise SimulationError(f"kinetic={kinetic!r}; allowed: instantaneous, isotropic, none")
        return virial / volume * BAR_PER_KJ_PER_MOL_PER_NM3


def diagonal_pressures_bar(probe: StressProbe, state: openmm.State) -> tuple[float, float, float]:
    """(P_xx, P_yy, P_zz) in bar with the instantaneous kinetic term."""
    return tuple(probe.pressure_bar(state, axis_weights(ax, 0.0)) for ax in AXES)


@dataclass(frozen=True)
class CompressionSettings:
    """What :func:`compress` does (module notes); times in ps, strains engineering and compressive positive."""

    strains: tuple[float, ...]
    hold_ps: float
    reference_ps: float
    ramp_ps: float
    sample_interval_ps: float
    timestep_ps: float
    temperature_K: float
    pressure_bar: float
    friction_per_ps: float
    barostat_interval: int
    axis: str = "z"
    max_substep_strain: float = 0.0025
    fd_strain: float = DEFAULT_FD_STRAIN
    integrator_seed: int = 1
    barostat_seed: int = 2

    def __post_init__(self):
        strains = list(self.strains)
        if not strains or strains[0] != 0.0 or any(b <= a for a, b in zip(strains, strains[1:])):
            raise SimulationError(f"compression strains {strains}: must start at 0 and increase")
        if strains[-1] >= 0.9:
            raise SimulationError(f"compression strain {strains[-1]} leaves less than 10 % of the box")
        for name in ("hold_ps", "sample_interval_ps", "timestep_ps", "temperature_K", "pressure_bar"):
            if not getattr(self, name) > 0:
                raise SimulationError(f"compression setting {name} = {getattr(self, name)} must be > 0")
        if self.sample_interval_ps > self.hold_ps:
            raise SimulationError("compression sample interval is longer than the hold")
        axis_weights(self.axis)


@dataclass
class CompressionRun:
    """What :func:`compress` returns: the samples (rows of :data:`SAMPLE_COLUMNS`), the reference box, the
    final State (of the flexible System) and a JSON-ready report."""

    samples: list[dict] = field(default_factory=list)
    reference_box_nm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    final_state: openmm.State | None = None
    report: dict = field(default_factory=dict)


def _lateral_barostat(settings: CompressionSettings, scale_axis: bool) -> openmm.MonteCarloMembraneBarostat:
    """Barostat at ``pressure_bar`` on the lateral faces (x and y scaled together, zero surface tension) and,
    when ``scale_axis``, on the compression axis z too; atom-wise scaling (a network spans the box; the System
    has no constraints). x and y move together so that the lateral shape of a liquid, which has no restoring
    force, cannot random-walk to a side shorter than twice the cutoff (an isotropic material expands both
    sides equally anyway)."""
    if settings.axis != "z":
        raise SimulationError(f"compression axis {settings.axis!r}: only z is supported (the membrane barostat's axis)")
    barostat = openmm.MonteCarloMembraneBarostat(
        settings.pressure_bar * unit.bar, 0.0 * unit.bar * unit.nanometer, settings.temperature_K * unit.kelvin,
        openmm.MonteCarloMembraneBarostat.XYIsotropic,
        openmm.MonteCarloMembraneBarostat.ZFree if scale_axis else openmm.MonteCarloMembraneBarostat.ZFixed,
        int(settings.barostat_interval))
    barostat.setScaleMoleculesAsRigid(False)
    barostat.setRandomNumberSeed(int(settings.barostat_seed))
    return barostat


def _simulation(system: openmm.System, state: openmm.State, settings: CompressionSettings,
                platform: PlatformChoice, scale_axis: bool, seed_offset: int) -> app.Simulation:
    run_system = openmm.XmlSerializer.clone(system)
    remove_barostats(run_system)
    run_system.addForce(_lateral_barostat(settings, scale_axis))
    integrator = openmm.LangevinMiddleIntegrator(settings.temperature_K * unit.kelvin,
                                                 settings.friction_per_ps / unit.picosecond,
                                                 settings.timestep_ps * unit.picosecond)
    integrator.setRandomNumberSeed(int(settings.integrator_seed) + seed_offset)
    return make_simulation(None, run_system, integrator, platform, state)


def _box_lengths(state: openmm.State) -> np.ndarray:
    return np.diag(np.asarray(state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer), dtype=float))


def scale_box(context: openmm.Context, factors) -> None:
    """Scale the box and every atom (atom-wise, about the origin) by ``factors`` along x, y, z; velocities kept."""
    state = context.getState(getPositions=True)
    f = np.asarray(factors, dtype=float)
    box = np.asarray(state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer), dtype=float)
    positions = np.asarray(state.getPositions(asNumpy=True).value_in_unit(unit.nanometer), dtype=float)
    context.setPeriodicBoxVectors(*[openmm.Vec3(*row) for row in box * f[:, None]])
    context.setPositions(positions * f)


def _run_reference(system, state, settings, platform, guard_args, log) -> tuple[openmm.State, np.ndarray, dict]:
    """All axes under the barostat; returns the State set to the mean box of the second half, and that box."""
    simulation = _simulation(system, state, settings, platform, scale_axis=True, seed_offset=0)
    n_steps = int(round(settings.reference_ps / settings.timestep_ps))
    every = interval_steps(settings.sample_interval_ps, settings.timestep_ps)
    guard = BlowUpGuard(every, "compress-reference", *guard_args)
    guard.set_reference(simulation.context)
    boxes = []
    wall = 0.0
    for _ in range(max(1, n_steps // every)):
        wall += run_steps(simulation, every, "compress-reference")
        current = simulation.context.getState(getEnergy=True, getPositions=True)
        guard.check(simulation.currentStep, current.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole),
                    current.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole), None)
        boxes.append(_box_lengths(current))
    boxes = np.asarray(boxes)
    reference = boxes[len(boxes) // 2:].mean(axis=0)
    scale_box(simulation.context, reference / _box_lengths(simulation.context.getState()))
    result = {"duration_ps": n_steps * settings.timestep_ps, "box_nm_second_half_mean": reference.tolist(),
              "box_nm_second_half_std": boxes[len(boxes) // 2:].std(axis=0, ddof=1).tolist() if len(boxes) > 3 else None,
              "box_nm_start": boxes[0].tolist(), "wall_time_s": wall}
    if log is not None:
        log.message(f"compress: reference box {np.round(reference, 4).tolist()} nm (all axes at "
                    f"{settings.pressure_bar:g} bar, {result['duration_ps']:g} ps)")
    return state_from_context(simulation.context), reference, result


def _ramp(simulation: app.Simulation, settings: CompressionSettings, target_length_nm: float, axis: int) -> int:
    """Bring the compression axis to ``target_length_nm`` in sub-steps; lateral axes by the incompressible
    guess. Returns the number of sub-steps."""
    current = _box_lengths(simulation.context.getState())[axis]
    total = target_length_nm / current
    n_sub = max(1, int(math.ceil(abs(math.log(total)) / math.log1p(settings.max_substep_strain) - 1e-9)))
    ramp_steps = int(round(settings.ramp_ps / settings.timestep_ps))
    per_sub = ramp_steps // n_sub
    factor = total ** (1.0 / n_sub)
    lateral = factor ** -0.5
    factors = [factor if k == axis else lateral for k in range(3)]
    for _ in range(n_sub):
        scale_box(simulation.context, factors)
        if per_sub:
            run_steps(simulation, per_sub, "compress-ramp")
    # land exactly on the target (rounding of the repeated product)
    fix = target_length_nm / _box_lengths(simulation.context.getState())[axis]
    scale_box(simulation.context, [fix if k == axis else 1.0 for k in range(3)])
    if ramp_steps - per_sub * n_sub > 0:
        run_steps(simulation, ramp_steps - per_sub * n_sub, "compress-ramp")
    return n_sub


def compress(system: openmm.System, state: openmm.State, settings: CompressionSettings, platform: PlatformChoice,
             log: RunLog | None = None, topology: app.Topology | None = None,
             max_potential_rise_kJ_per_mol_per_atom: float = 100.0, max_temperature_factor: float = 3.0
             ) -> CompressionRun:
    """Uniaxial compression in strain steps with the lateral faces free (module notes).

    ``system`` may carry constraints: the run uses its :func:`flexible_copy` (a SimulationError names the
    constraints that have no bond term). ``settings.timestep_ps`` must suit a System without constraints
    (the caller applies :func:`simulation.protocol.flexible_npt_timestep_ps`). Returns the samples of every
    hold, the reference box and a report (timings, ramp rates, seeds, flexible-copy summary).
    """
    start = time.perf_counter()
    flexible, flexible_summary = flexible_copy(system, topology)
    remove_barostats(flexible)
    axis = AXES.index(settings.axis)
    dof = degrees_of_freedom(flexible)
    guard_args = (flexible.getNumParticles(), dof, max_potential_rise_kJ_per_mol_per_atom,
                  max_temperature_factor * settings.temperature_K)
    ref_state, reference, ref_result = _run_reference(flexible, state, settings, platform, guard_args, log)
    simulation = _simulation(flexible, ref_state, settings, platform, scale_axis=False, seed_offset=1)
    probe = StressProbe(flexible, platform, settings.fd_strain)
    weights = axis_weights(settings.axis)
    every = interval_steps(settings.sample_interval_ps, settings.timestep_ps)
    hold_steps = int(round(settings.hold_ps / settings.timestep_ps))
    n_samples = hold_steps // every
    guard = BlowUpGuard(every, "compress", *guard_args)
    guard.set_reference(simulation.context)
    run = CompressionRun(reference_box_nm=tuple(float(x) for x in reference))
    cutoff = longest_cutoff_nm(flexible)
    strains, dropped = reachable_strains(settings.strains, reference[axis], cutoff)
    if dropped and log is not None:
        log.message(f"compress: strains {dropped} left out: the compressed side would be shorter than twice the "
                    f"{cutoff:g} nm cutoff (reference {reference[axis]:.4g} nm); a larger box reaches them")
    if len(strains) < 2:
        raise SimulationError(f"compression: the reference box side {reference[axis]:.4g} nm allows no strain step "
                              f"with a {cutoff:g} nm cutoff (strains {list(settings.strains)})")
    steps_report = []
    md_steps = 0
    md_wall = 0.0
    for k, strain in enumerate(strains):
        t0 = time.perf_counter()
        n_sub = _ramp(simulation, settings, reference[axis] * (1.0 - strain), axis) if k else 0
        md_steps += int(round(settings.ramp_ps / settings.timestep_ps)) if k else 0
        values, lengths = _hold(simulation, probe, guard, weights, every, n_samples, settings, k, strain, run)
        md_steps += n_samples * every
        wall = time.perf_counter() - t0
        md_wall += wall
        previous = strains[k - 1] if k else 0.0
        steps_report.append({"step_index": k, "strain": float(strain), "substeps": n_sub,
                             "ramp_rate_per_s": ((strain - previous) / (settings.ramp_ps * 1e-12)
                                                 if k and settings.ramp_ps > 0 else None),
                             "hold_ps": n_samples * every * settings.timestep_ps, "samples": n_samples,
                             "wall_time_s": wall})
        if log is not None:
            half = values[len(values) // 2:]
            log.message(f"compress: strain {strain:.3f}: uniaxial stress {np.mean(values):.4g} bar over the hold "
                        f"({np.mean(half):.4g} bar second half), box {np.round(lengths, 4).tolist()} nm, "
                        f"{wall:.1f} s")
    run.final_state = state_from_context(simulation.context)
    run.report = {
        "method": "strain-controlled step-and-hold uniaxial compression",
        "settings": asdict(settings),
        "reference": ref_result,
        "reference_box_nm": list(run.reference_box_nm),
        "steps": steps_report,
        **_strain_record(strains, dropped, cutoff),
        "flexible_copy": flexible_summary,
        "stress_estimator": STRESS_ESTIMATOR,
        "n_particles": flexible.getNumParticles(),
        "degrees_of_freedom": dof,
        "ns_per_day": ns_per_day(md_steps, settings.timestep_ps, md_wall),
        "wall_time_s": time.perf_counter() - start,
    }
    return run


STRESS_ESTIMATOR = ("P_axis - (P_lateral1 + P_lateral2) / 2 from a central finite difference of the energy under "
                    "affine atom-wise deformation (weights -1/2, -1/2, 1), kinetic part replaced by its isotropic "
                    "mean (zero)")


def _strain_record(strains, dropped, cutoff: float) -> dict:
    return {"strains_run": strains, "strains_left_out": dropped,
            "strains_left_out_reason": (f"compressed side below 2 x {cutoff:g} nm cutoff x {CUTOFF_MARGIN}"
                                        if dropped else None),
            "cutoff_nm": cutoff}


def _hold(simulation: app.Simulation, probe: StressProbe, guard: BlowUpGuard, weights, every: int, n_samples: int,
          settings: CompressionSettings, k: int, strain: float, run: CompressionRun) -> tuple[list[float], list]:
    """Hold strain ``strain`` (step ``k``): ``n_samples`` samples of the uniaxial stress (bar), each after
    ``every`` steps, appended to ``run.samples``; returns the stresses and the last box lengths (nm)."""
    values, lengths = [], None
    for s in range(n_samples):
        run_steps(simulation, every, "compress")
        current = simulation.context.getState(getPositions=True, getEnergy=True)
        potential = current.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        guard.check(simulation.currentStep, potential,
                    current.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole), None)
        stress = probe.pressure_bar(current, weights, kinetic="isotropic")
        lengths = _box_lengths(current)
        values.append(stress)
        run.samples.append({"step_index": k, "strain": float(strain), "phase": "hold",
                            "time_in_hold_ps": (s + 1) * every * settings.timestep_ps,
                            "Lx_nm": lengths[0], "Ly_nm": lengths[1], "Lz_nm": lengths[2],
                            "uniaxial_stress_bar": stress, "potential_energy_kJ_per_mol": potential})
    return values, lengths
