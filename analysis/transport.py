"""``python -m analysis.transport``: diffusion, conductivity and Na⁺ solvation of an OpenMM trajectory.

Usage::

    python -m analysis.transport --topology TOP.pdb --trajectory TRAJ.dcd [MORE.dcd ...] \\
        --system SYSTEM.xml --temperature "298.15 K" --out transport.json \\
        [--production-report production.json] [--frame-interval "1 ps"] \\
        [--csv transport.csv] [--plots-dir DIR] [--viscosity "2.5 mPa s" | --viscosity-report viscosity.json | --gel] \\
        [--formal-charges NA=1 PF6=-1] [--backend auto|numpy|cupy] [--blocks 5] [--discard "0 ps"] \\
        [--rdf-frames 500] [--no-solvation] [--scratch-dir DIR] [--log FILE]

Inputs: the topology (PDB/PDBx with CONECT bonds: residue names are the species), one or more trajectory
files (``--trajectory`` may be repeated), consecutive segments of one run in time order (DCD as OpenMM's
``DCDReporter``/``DCDFile`` writes it, with a unit cell; XTC etc. through mdtraj), and the serialised
OpenMM ``System`` (charges from its NonbondedForce, masses). The temperature is the thermostat's (the
trajectory does not store it).

The time between frames is never guessed: it comes from ``--frame-interval``, from the production
report (``--production-report``: ``trajectory.frame_interval_ps`` of the ``production.json`` that
``simulation.produce`` writes, whose frame count must match the trajectory), or from a DCD header that
OpenMM wrote (NSAVC × DELTA). Other programs' DCD headers hold placeholders (mdtraj: 1 AKMA = 0.0489 ps)
and are not used; without a known interval the run stops and asks for ``--frame-interval``. Every source
given must agree with the others.

Refused by name: a trajectory given twice (or a copy of one), OpenMM DCD segments that overlap, go
backwards in time or leave a gap, ``--rdf-frames`` < 1, ``--viscosity`` ≤ 0, ``--blocks`` < 2, a negative
``--discard``, ``--temperature`` ≤ 0.

Outputs: the JSON (keys carry units; layout in :func:`analyse`), and optionally a CSV summary (one row
per number: ``quantity, species, charge_convention, value, stderr, unit``) and, in ``--plots-dir``,
``msd.png``, ``einstein_helfand.png``, ``rdf.png`` with their curves as ``msd.csv`` and ``rdf.csv``.

Yeh–Hummer (J. Phys. Chem. B 108, 15873 (2004)): D_∞ = D_pbc + k_B T ξ / (6 π η L), ξ = 2.837297, L the mean
box edge (V^(1/3)), η from ``--viscosity-report`` (the ``viscosity.json`` of ``analysis.viscosity``: the simulated
viscosity, with its stderr, which is propagated into the corrected D) or ``--viscosity`` (a value, no stderr).
``species.<RES>.D_m2_per_s_yeh_hummer`` sits beside the raw ``D_m2_per_s``; the corrected D feeds the
Nernst–Einstein σ, the Haven ratio and t(Na⁺) (``D_used`` in each says which D). Einstein–Helfand σ is not
corrected: the hydrodynamic 1/L term comes from each particle dragging the periodic images of the flow it
makes; in the collective charge current of a neutral system the cations' and anions' flows cancel, so it has
no such term, and comparing raw self-D with EH would not be like with like. ``--gel``: no correction (a
crosslinked network has no bulk viscosity, and the mesh screens the long-range hydrodynamic interaction the
correction describes); corrected D null and the NE σ from the raw D, stated in ``yeh_hummer.note``. Without
any of these options the corrected D values are null and ``yeh_hummer.note`` says why;
``yeh_hummer.kBT_xi_over_6piL_N`` is given so a user can add kBTξ/(6πηL) = that / η (Pa s) themselves.

Exit status 0 on success, 1 with ``transport: error: ...`` on stderr for bad input.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from analysis import conductivity as cond
from analysis.conductivity import S_PER_M_TO_MS_PER_CM
from analysis.diffusion import (YEH_HUMMER_XI, diffusion_from_msd, is_cubic, yeh_hummer_correction,
                                yeh_hummer_numerator_N)
from analysis.msd import BACKENDS, Backend, MoleculeCentres, SpeciesMSD, resolve_backend
from analysis.solvation import Solvation, sodium_atoms
from analysis.topology import MolecularSystem, load_molecular_system, parse_formal_charges
from analysis.trajectory import ChunkAnalysis, TrajectoryReader, UnwrappedTrajectory, run_together
from common.constants import MIN_TRANSPORT_FRAMES
from common.cli import run_main
from common.errors import AnalysisError, GelmdError
from common.io import read_json, write_json_atomic, write_text_atomic
from common.units import parse_quantity

log = logging.getLogger("gelmd.analysis")

SCHEMA = "gelmd.transport/1"
PRODUCTION_REPORT_SCHEMA = "gelmd.simulation.production/1"
"""Schema of the ``production.json`` that ``simulation.produce`` writes (analysis may not import simulation/)."""
CHARGE_CONVENTIONS = ("scaled", "formal")


def parse_viscosity(text: str) -> float:
    """``"2.5 mPa s"`` → 0.0025 (Pa s), with the units the config accepts (:mod:`common.units`); must be > 0."""
    value = parse_quantity(text, "viscosity", "--viscosity")
    check_viscosity(value, text)
    return value


VISCOSITY_REPORT_SCHEMA = "gelmd.viscosity/1"
"""Schema of the ``viscosity.json`` that ``analysis.viscosity`` writes."""
GEL_NOTE = ("gel: no Yeh-Hummer correction. A crosslinked network has no bulk shear viscosity (it is a solid on "
            "long time scales) and its mesh screens the long-range hydrodynamic interaction between periodic images "
            "that the correction describes; D and the Nernst-Einstein sigma are the periodic-box values")
EH_NOT_CORRECTED = ("Einstein-Helfand sigma is not corrected: the collective charge current of a neutral system "
                    "carries no 1/L hydrodynamic term (cation and anion flows cancel), unlike self-diffusion")


@dataclass(frozen=True)
class Viscosity:
    """The shear viscosity used for Yeh–Hummer: value and stderr (Pa s) and where it came from."""

    value_Pa_s: float
    stderr_Pa_s: float | None
    source: str


def read_viscosity_report(path: str | Path) -> Viscosity:
    """η and its stderr from a ``viscosity.json`` (``viscosity_Pa_s.{value,stderr}``)."""
    report = read_json(path, "--viscosity-report file", invalid=AnalysisError)
    schema = report.get("schema") if isinstance(report, dict) else None
    if schema != VISCOSITY_REPORT_SCHEMA:
        raise AnalysisError(f"--viscosity-report {str(path)!r}: schema {schema!r} is not {VISCOSITY_REPORT_SCHEMA!r}")
    eta = report.get("viscosity_Pa_s") or {}
    value, stderr = eta.get("value"), eta.get("stderr")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnalysisError(f"--viscosity-report {str(path)!r}: viscosity_Pa_s.value is {value!r}; a number is needed")
    check_viscosity(float(value), f"{value!r} Pa s (from {path})")
    return Viscosity(float(value), None if stderr is None else float(stderr), f"simulated: {path}")


def check_viscosity(value_Pa_s: float | None, text: str | None = None) -> None:
    """Refuse a viscosity that is not > 0: a Yeh–Hummer correction with η ≤ 0 is meaningless, and
    skipping it silently would report an uncorrected D as if it were corrected."""
    if value_Pa_s is not None and not value_Pa_s > 0:
        shown = repr(text) if text is not None else f"{value_Pa_s!r} Pa s"
        raise AnalysisError(f"--viscosity: {shown} must be > 0 (e.g. '2.5 mPa s'); leave --viscosity out to "
                            "report D without the Yeh-Hummer correction")


@dataclass(frozen=True)
class ProductionReport:
    """What the transport analysis takes from a ``production.json``: the frame interval and frame count."""

    path: Path
    frame_interval_ps: float
    frames: int


def read_production_report(path: str | Path) -> ProductionReport:
    """Read ``trajectory.frame_interval_ps`` (ps) and ``trajectory.frames`` from a production report."""
    what = "--production-report"
    report = read_json(path, f"{what} file", invalid=AnalysisError)
    schema = report.get("schema") if isinstance(report, dict) else None
    if schema != PRODUCTION_REPORT_SCHEMA:
        raise AnalysisError(f"{what} {str(path)!r}: schema {schema!r} is not {PRODUCTION_REPORT_SCHEMA!r} (the "
                            "production.json that simulation.produce writes)")
    trajectory = report.get("trajectory") or {}
    interval, frames = trajectory.get("frame_interval_ps"), trajectory.get("frames")
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
        raise AnalysisError(f"{what} {str(path)!r}: trajectory.frame_interval_ps is {interval!r}; "
                            "a number of ps > 0 is needed")
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 0:
        raise AnalysisError(f"{what} {str(path)!r}: trajectory.frames is {frames!r}; a whole number >= 0 is needed")
    return ProductionReport(Path(path), float(interval), frames)


def check_options(temperature_K: float, n_blocks: int, rdf_frames: int, discard_ps: float,
                  viscosity_Pa_s: float | None) -> None:
    """Refuse option values that cannot give a meaningful number, naming the flag."""
    if not temperature_K > 0:
        raise AnalysisError(f"--temperature: {temperature_K!r} K must be > 0")
    if n_blocks < 2:
        raise AnalysisError(f"--blocks {n_blocks}: block averaging needs at least 2 blocks")
    if isinstance(rdf_frames, bool) or int(rdf_frames) != rdf_frames or rdf_frames < 1:
        raise AnalysisError(f"--rdf-frames {rdf_frames!r}: must be a whole number >= 1 (the most frames the RDFs "
                            "use); to skip the solvation analysis give --no-solvation")
    if not discard_ps >= 0:
        raise AnalysisError(f"--discard: {discard_ps!r} ps must be >= 0 (time dropped from the start)")
    check_viscosity(viscosity_Pa_s)


def load_ionic_system(topology: str | Path, system_xml: str | Path,
                      formal_charges: dict[str, int] | None) -> MolecularSystem:
    """The topology and System as molecules and species; AnalysisError when no species is an ion."""
    system = load_molecular_system(topology, system_xml, formal_charges)
    if not system.ions:
        raise AnalysisError(f"topology {str(topology)!r} / System {str(system_xml)!r} hold no ions (no residue with "
                            f"a non-zero formal charge); species: "
                            f"{ {n: round(s.charge_scaled_e, 3) for n, s in system.species.items()} } e. "
                            "Transport analysis needs ions; give --formal-charges if residue charges are scaled")
    return system


def open_trajectory(topology: str | Path, trajectories: Sequence[str | Path], system: MolecularSystem,
                    frame_interval_ps: float | None, report: ProductionReport | None,
                    discard_ps: float) -> TrajectoryReader:
    """The trajectory reader with a known frame interval, checked against the report, start discarded."""
    reader = TrajectoryReader(trajectories, system.n_atoms, topology_path=topology,
                              frame_interval_ps=frame_interval_ps,
                              report_interval_ps=None if report is None else report.frame_interval_ps)
    if report is not None and report.frames != reader.total_frames:
        raise AnalysisError(f"--production-report {str(report.path)!r} records {report.frames} frames but the "
                            f"trajectory {[str(p) for p in reader.paths]} holds {reader.total_frames}; give the "
                            "report of the run that wrote this trajectory")
    reader.discard_start(int(round(discard_ps / reader.frame_interval_ps)))
    if reader.n_frames < MIN_TRANSPORT_FRAMES:
        raise AnalysisError(f"trajectory {[str(p) for p in reader.paths]} has {reader.n_frames} frames "
                            f"(after discarding {reader.discard_frames}); transport fits need at least "
                            f"{MIN_TRANSPORT_FRAMES}")
    return reader


@dataclass
class StreamedResults:
    """What one pass over the trajectory gives: per-species MSDs, the collective (Einstein–Helfand) fits
    per charge convention, the mean box, and the solvation results (None when not run)."""

    msd: dict
    einstein_helfand: dict[str, cond.EinsteinHelfandResult]
    volume_nm3: float
    mean_box_nm: np.ndarray
    solvation: dict | None


def stream_trajectory(reader: TrajectoryReader, system: MolecularSystem, temperature_K: float, n_blocks: int,
                      backend: Backend, rdf_frames: int, solvation: bool,
                      scratch_dir: str | Path | None) -> StreamedResults:
    """One pass over the unwrapped trajectory: molecular centres (and RDFs), then the MSDs from them.

    Neutral species carry no net charge by definition, so only ion molecules enter M(t) of Einstein–Helfand.
    """
    traj = UnwrappedTrajectory(reader)
    centres = MoleculeCentres(traj, system, scratch_dir=scratch_dir)
    analyses: list[ChunkAnalysis] = [centres]
    solv = Solvation(traj, system, max_frames=rdf_frames) if solvation and sodium_atoms(system).size else None
    if solv is not None:
        analyses.append(solv)
    dt = reader.frame_interval_ps
    with centres:
        run_together(analyses)
        series = centres.results["series"]
        volume = float(np.mean(centres.results["volume_nm3"]))
        species_idx = {n: sp.molecule_indices for n, sp in system.species.items()}
        msd = SpeciesMSD(series, species_idx, dt, n_blocks=n_blocks, backend=backend).run().results
        ion_mask = np.zeros(system.n_molecules, bool)
        for sp in system.ions.values():
            ion_mask[sp.molecule_indices] = True
        charges = {"scaled": system.molecule_charge_scaled_e, "formal": system.molecule_charge_formal_e.astype(float)}
        eh = {conv: cond.einstein_helfand(series, np.where(ion_mask, charges[conv], 0.0), dt, volume, temperature_K,
                                          n_blocks, backend)
              for conv in CHARGE_CONVENTIONS}
        mean_box = centres.results["box_nm"].mean(axis=0)
    return StreamedResults(msd, eh, volume, mean_box, None if solv is None else solv.results)


def _est(value, stderr) -> dict:
    return {"value": None if value is None else float(value), "stderr": None if stderr is None else float(stderr)}


def _ms_per_cm(e: cond.Estimate) -> dict:
    return _est(None if e.value is None else e.value * S_PER_M_TO_MS_PER_CM,
                None if e.stderr is None else e.stderr * S_PER_M_TO_MS_PER_CM)


@dataclass
class DiffusionBlock:
    """Per-species results: the JSON block, D and stderr (m²/s), fit windows (ps) and fit lines for plots."""

    species: dict
    D: dict[str, float]
    stderr: dict[str, float | None]
    windows: dict[str, list[float]]
    fits: dict[str, dict]


def diffusion_block(system: MolecularSystem, msd: dict, dt_ps: float, yh_m2_per_s: float | None,
                    yh_stderr_m2_per_s: float | None = None) -> DiffusionBlock:
    """D of every species from its MSD (and the Yeh–Hummer-corrected D when a correction is known: its stderr
    combines D's and the correction's, which comes from the viscosity's). ``D``/``stderr`` of the result are
    the values that feed Nernst–Einstein and t(Na⁺): the corrected ones when a correction is applied."""
    out = DiffusionBlock({}, {}, {}, {}, {})
    for name, sp in system.species.items():
        res = diffusion_from_msd(msd["msd_nm2"][name], dt_ps, msd["block_msd_nm2"].get(name))
        f = res.fit
        corrected = None if yh_m2_per_s is None else res.D_m2_per_s + yh_m2_per_s
        corrected_se = (None if corrected is None or res.stderr_m2_per_s is None
                        else math.hypot(res.stderr_m2_per_s, yh_stderr_m2_per_s or 0.0))
        out.D[name] = res.D_m2_per_s if corrected is None else corrected
        out.stderr[name] = res.stderr_m2_per_s if corrected is None else corrected_se
        out.windows[name] = f.window_ps
        out.fits[name] = {"window_ps": f.window_ps, "slope": f.slope, "intercept": f.intercept}
        out.species[name] = {
            "n_molecules": sp.n_molecules, "mass_amu": sp.mass_amu, "charge_scaled_e": sp.charge_scaled_e,
            "charge_formal_e": sp.charge_formal_e, "formal_charge_source": system.formal_charge_source.get(name),
            "D_m2_per_s": _est(res.D_m2_per_s, res.stderr_m2_per_s),
            "D_m2_per_s_yeh_hummer": _est(corrected, corrected_se),
            "fit_window_ps": f.window_ps, "block_fit_window_ps": f.block_window_ps,
            "diffusive": f.window.diffusive, "loglog_slope": f.window.loglog_slope, "window_rule": f.window.rule,
        }
    return out


def d_used(corrected: bool) -> str:
    return ("Yeh-Hummer-corrected self-diffusion coefficients (species.<RES>.D_m2_per_s_yeh_hummer)" if corrected
            else "periodic-box self-diffusion coefficients (species.<RES>.D_m2_per_s; no Yeh-Hummer correction)")


def conductivity_block(system: MolecularSystem, convention: str, diffusion: DiffusionBlock, volume_nm3: float,
                       temperature_K: float, eh: cond.EinsteinHelfandResult, corrected: bool = False) -> dict:
    """Nernst–Einstein, Einstein–Helfand and Haven ratio with one charge convention ("scaled" or "formal")."""
    ions = system.ions
    scaled = convention == "scaled"
    q2 = {n: (sp.sum_scaled_charge_squared if scaled else sp.sum_formal_charge_squared) for n, sp in ions.items()}
    ne = cond.nernst_einstein(q2, {n: diffusion.D[n] for n in ions}, {n: diffusion.stderr[n] for n in ions},
                              volume_nm3, temperature_K)
    return {
        "charge_convention": convention,
        "charges_e": {n: (sp.charge_scaled_e if scaled else sp.charge_formal_e) for n, sp in ions.items()},
        "nernst_einstein": {"sigma_S_per_m": ne.as_dict(), "sigma_mS_per_cm": _ms_per_cm(ne),
                            "D_used": d_used(corrected)},
        "einstein_helfand": {"sigma_S_per_m": eh.sigma_S_per_m.as_dict(), "sigma_mS_per_cm": _ms_per_cm(eh.sigma_S_per_m),
                             "fit_window_ps": eh.fit.window_ps, "block_fit_window_ps": eh.fit.block_window_ps,
                             "diffusive": eh.fit.window.diffusive, "loglog_slope": eh.fit.window.loglog_slope,
                             "yeh_hummer": EH_NOT_CORRECTED},
        "haven_ratio": cond.ratio(ne, eh.sigma_S_per_m).as_dict(),
    }


def sodium_cations(system: MolecularSystem) -> list[str]:
    """Cation species (formal charge > 0) that contain Na atoms."""
    return [n for n, sp in system.ions.items() if sp.charge_formal_e > 0
            and any(system.elements[a] == "Na" for m in sp.molecule_indices for a in system.molecule_atoms[m])]


def transference_block(system: MolecularSystem, diffusion: DiffusionBlock, corrected: bool = False) -> dict:
    """Nernst–Einstein transference number of Na⁺ (formal charges), with its definition."""
    cations = sodium_cations(system)
    q2_formal = {n: sp.sum_formal_charge_squared for n, sp in system.ions.items()}
    t_na = cond.transference_number(cations, q2_formal, diffusion.D, diffusion.stderr)
    return {**t_na.as_dict(), "cation_species": cations,
            "D_used": d_used(corrected), "D_key": "D_m2_per_s_yeh_hummer" if corrected else "D_m2_per_s",
            "definition": "Nernst-Einstein: sum_Na q^2 D / sum_ions q^2 D (formal charges); "
                          "D+/(D+ + D-) for a 1:1 salt; ion correlations ignored"}


def yeh_hummer_block(temperature_K: float, viscosity: Viscosity | float | None, length_nm: float, cubic: bool,
                     gel: bool = False) -> dict:
    """The Yeh–Hummer correction k_B T ξ / (6 π η L) (m²/s; null without a viscosity or for a gel), its stderr
    (from the viscosity's: the correction scales as 1/η) and how it was made."""
    if isinstance(viscosity, (int, float)):
        viscosity = Viscosity(float(viscosity), None, "given (--viscosity)")
    if gel:
        viscosity, note = None, GEL_NOTE
    elif viscosity is None:
        note = ("no viscosity given (--viscosity-report or --viscosity): corrected D is null; add "
                "kBT_xi_over_6piL_N / eta[Pa s] to D_m2_per_s yourself")
    else:
        note = ("D_inf = D_pbc + kB T xi / (6 pi eta L); the corrected D feeds the Nernst-Einstein sigma, the Haven "
                "ratio and t(Na+); " + EH_NOT_CORRECTED + ("" if cubic else "; box not cubic: L = V^(1/3), approximate"))
    correction = None if viscosity is None else yeh_hummer_correction(temperature_K, viscosity.value_Pa_s, length_nm)
    correction_se = (None if correction is None or viscosity.stderr_Pa_s is None
                     else correction * viscosity.stderr_Pa_s / viscosity.value_Pa_s)
    return {
        "applied": correction is not None,
        "viscosity_Pa_s": None if viscosity is None else viscosity.value_Pa_s,
        "viscosity_stderr_Pa_s": None if viscosity is None else viscosity.stderr_Pa_s,
        "viscosity_source": None if viscosity is None else viscosity.source,
        "xi": YEH_HUMMER_XI, "box_length_nm": length_nm,
        "correction_m2_per_s": correction, "correction_stderr_m2_per_s": correction_se,
        "kBT_xi_over_6piL_N": yeh_hummer_numerator_N(temperature_K, length_nm),
        "approximate": not cubic,
        "note": note,
    }


def solvation_block(sr: dict) -> dict:
    """The JSON summary of the Na⁺ solvation results (RDF peaks, coordination numbers, ion pairs)."""
    def group(g: dict) -> dict:
        return {"species": g["species"], "kind": g["kind"], "n_sites": g["n_sites"],
                "first_peak_nm": float(sr["r_nm"][int(np.argmax(g["g"]))]) if np.any(g["g"] > 0) else None,
                "first_peak_g": float(np.max(g["g"])) if g["g"].size else None,
                "first_minimum_nm": g["first_minimum_nm"], "coordination_number": g["coordination_number"]}

    return {
        "n_sodium": sr["n_sodium"], "n_frames_used": sr["n_frames_used"], "frame_stride": sr["frame_stride"],
        "r_max_nm": sr["r_max_nm"], "bin_nm": sr["bin_nm"],
        "groups": {name: group(g) for name, g in sr["groups"].items()},
        "ion_pairs": sr["ion_pairs"],
        "coordination_numbers": {name: g["coordination_number"] for name, g in sr["groups"].items()},
    }


def analyse(topology: str | Path, trajectories: Sequence[str | Path], system_xml: str | Path, temperature_K: float,
            frame_interval_ps: float | None = None, viscosity_Pa_s: Viscosity | float | None = None,
            formal_charges: dict[str, int] | None = None, backend: str = "auto", n_blocks: int = 5,
            discard_ps: float = 0.0, rdf_frames: int = 500, solvation: bool = True,
            scratch_dir: str | Path | None = None,
            production_report: str | Path | None = None, gel: bool = False) -> tuple[dict, dict]:
    """Run the whole transport analysis; return (JSON-ready results, curves for plots/CSV).

    JSON layout (every unit in the key name)::

        schema, inputs{topology, trajectory[], system, production_report, frame_interval_sources[]},
        temperature_K, frame_interval_ps, n_frames, discarded_frames, run_length_ps, backend, n_blocks,
        box{mean_volume_nm3, mean_box_length_nm, cubic},
        species{RES: {n_molecules, mass_amu, charge_scaled_e, charge_formal_e,
                      D_m2_per_s{value,stderr}, D_m2_per_s_yeh_hummer{value,stderr},
                      fit_window_ps[lo,hi], block_fit_window_ps, diffusive, loglog_slope, window_rule}},
        yeh_hummer{applied, viscosity_Pa_s, viscosity_stderr_Pa_s, viscosity_source, xi, box_length_nm,
                   correction_m2_per_s, correction_stderr_m2_per_s, kBT_xi_over_6piL_N, approximate, note},
        conductivity            (scaled charges = the dynamics' charges)
        conductivity_formal_charges  (integer charges), each:
            {charge_convention, charges_e{RES: q}, nernst_einstein{sigma_S_per_m, sigma_mS_per_cm},
             einstein_helfand{sigma_S_per_m, sigma_mS_per_cm, fit_window_ps, block_fit_window_ps, diffusive,
             loglog_slope}, haven_ratio{value,stderr}},
        haven_ratio{value,stderr} (scaled charges), transference_number_Na{value,stderr,definition},
        fit_window_ps{RES: [lo,hi], einstein_helfand: [lo,hi]},
        solvation{n_sodium, n_frames_used, frame_stride, r_max_nm, bin_nm,
                  groups{"RES:KIND": {species, kind, n_sites, first_peak_nm, first_peak_g, first_minimum_nm,
                                      coordination_number}},
                  coordination_numbers{"RES:KIND": n}, ion_pairs{cutoff_nm, cutoff_rule, note, anion_species,
                  SSIP, CIP, AGG, mean_anions_per_Na}} (null without Na; see analysis.solvation).

    ``frame_interval_ps`` is the CLI's ``--frame-interval``, ``production_report`` its
    ``--production-report``; see the module docstring for how the frame interval is decided.
    """
    check_options(temperature_K, n_blocks, rdf_frames, discard_ps,
                  viscosity_Pa_s.value_Pa_s if isinstance(viscosity_Pa_s, Viscosity) else viscosity_Pa_s)
    report = None if production_report is None else read_production_report(production_report)
    system = load_ionic_system(topology, system_xml, formal_charges)
    reader = open_trajectory(topology, trajectories, system, frame_interval_ps, report, discard_ps)
    chosen = resolve_backend(backend)
    streamed = stream_trajectory(reader, system, temperature_K, n_blocks, chosen, rdf_frames, solvation, scratch_dir)

    dt = reader.frame_interval_ps
    length = streamed.volume_nm3 ** (1.0 / 3.0)
    cubic = is_cubic(streamed.mean_box_nm)
    yeh_hummer = yeh_hummer_block(temperature_K, viscosity_Pa_s, length, cubic, gel)
    corrected = yeh_hummer["applied"]
    diffusion = diffusion_block(system, streamed.msd, dt, yeh_hummer["correction_m2_per_s"],
                                yeh_hummer["correction_stderr_m2_per_s"])
    conductivity = {conv: conductivity_block(system, conv, diffusion, streamed.volume_nm3, temperature_K,
                                             streamed.einstein_helfand[conv], corrected) for conv in CHARGE_CONVENTIONS}
    inputs = {"topology": str(topology), "trajectory": [str(p) for p in trajectories], "system": str(system_xml),
              "production_report": None if production_report is None else str(production_report),
              "frame_interval_sources": reader.frame_interval_sources}
    results = {
        "schema": SCHEMA, "inputs": inputs, "temperature_K": float(temperature_K), "frame_interval_ps": dt,
        "n_frames": int(reader.n_frames), "discarded_frames": int(reader.discard_frames),
        "run_length_ps": reader.run_length_ps, "backend": chosen.name, "n_blocks": int(n_blocks),
        "box": {"mean_volume_nm3": streamed.volume_nm3, "mean_box_length_nm": length, "cubic": cubic},
        "species": diffusion.species,
        "yeh_hummer": yeh_hummer,
        "conductivity": conductivity["scaled"],
        "conductivity_formal_charges": conductivity["formal"],
        "haven_ratio": conductivity["scaled"]["haven_ratio"],
        "transference_number_Na": transference_block(system, diffusion, corrected),
        "fit_window_ps": {**diffusion.windows,
                          "einstein_helfand": conductivity["scaled"]["einstein_helfand"]["fit_window_ps"]},
        "solvation": None if streamed.solvation is None else solvation_block(streamed.solvation),
    }
    if streamed.solvation is None:
        results["solvation_note"] = ("solvation skipped (--no-solvation)" if not solvation
                                     else "no Na atoms in a cation species: no Na+ solvation analysis")
    return results, plot_curves(streamed, diffusion)


def plot_curves(streamed, diffusion) -> dict:
    """The curves behind the plots and the CSV: MSD per species with its fits, Einstein-Helfand per charge
    convention with its fit, and the Na+ RDFs when solvation was analysed."""
    eh_curves = {conv: {"msd": e.msd_e2nm2, "window_ps": e.fit.window_ps, "slope": e.fit.slope,
                        "intercept": e.fit.intercept} for conv, e in streamed.einstein_helfand.items()}
    curves = {"time_ps": streamed.msd["time_ps"], "msd_nm2": streamed.msd["msd_nm2"], "fits": diffusion.fits,
              "eh": eh_curves}
    if streamed.solvation is not None:
        curves["rdf"] = streamed.solvation
    return curves


def json_ready(obj):
    """Plain JSON types; non-finite floats (e.g. an undefined log-log slope) become null."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def csv_rows(results: dict) -> list[list]:
    """Summary rows ``quantity, species, charge_convention, value, stderr, unit``."""
    rows = [["quantity", "species", "charge_convention", "value", "stderr", "unit"]]
    for name, sp in results["species"].items():
        rows.append(["D", name, "", sp["D_m2_per_s"]["value"], sp["D_m2_per_s"]["stderr"], "m2/s"])
        rows.append(["D_yeh_hummer", name, "", sp["D_m2_per_s_yeh_hummer"]["value"],
                     sp["D_m2_per_s_yeh_hummer"]["stderr"], "m2/s"])
    for key in ("conductivity", "conductivity_formal_charges"):
        block = results[key]
        conv = block["charge_convention"]
        for method in ("nernst_einstein", "einstein_helfand"):
            v = block[method]["sigma_S_per_m"]
            rows.append([f"sigma_{method}", "", conv, v["value"], v["stderr"], "S/m"])
        rows.append(["haven_ratio", "", conv, block["haven_ratio"]["value"], block["haven_ratio"]["stderr"], "1"])
    t = results["transference_number_Na"]
    rows.append(["transference_number_Na", "NA", "formal", t["value"], t["stderr"], "1"])
    solv = results.get("solvation")
    if solv:
        for name, g in solv["groups"].items():
            rows.append(["coordination_number", name, "", g["coordination_number"], "", "1"])
            rows.append(["first_minimum", name, "", g["first_minimum_nm"], "", "nm"])
        ip = solv["ion_pairs"]
        if ip:
            for k in ("SSIP", "CIP", "AGG"):
                rows.append([f"fraction_{k}", "NA", "", ip[k], "", "1"])
            rows.append(["ion_pair_cutoff", "NA", "", ip["cutoff_nm"], "", "nm"])
    return rows


def _write_csv(path: str | Path, rows: list[list]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow(["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for v in row])
    write_text_atomic(path, buf.getvalue())


def write_plots(plots_dir: str | Path, results: dict, curves: dict) -> list[str]:
    """msd.png, einstein_helfand.png, rdf.png (+ msd.csv, rdf.csv with the curves) in ``plots_dir``."""
    from analysis import plots

    d = Path(plots_dir)
    d.mkdir(parents=True, exist_ok=True)
    t = curves["time_ps"]
    out = [plots.plot_msd(d / "msd.png", t, curves["msd_nm2"], curves["fits"]),
           plots.plot_einstein_helfand(d / "einstein_helfand.png", t, curves["eh"])]
    names = list(curves["msd_nm2"])
    rows = [["time_ps"] + [f"msd_{n}_nm2" for n in names] + [f"msd_charge_{c}_e2nm2" for c in curves["eh"]]]
    for k in range(t.size):
        rows.append([float(t[k])] + [float(curves["msd_nm2"][n][k]) for n in names]
                    + [float(curves["eh"][c]["msd"][k]) for c in curves["eh"]])
    _write_csv(d / "msd.csv", rows)
    out.append(d / "msd.csv")
    if "rdf" in curves:
        sr = curves["rdf"]
        out.append(plots.plot_rdf(d / "rdf.png", sr["r_nm"], sr["groups"]))
        gn = list(sr["groups"])
        rows = [["r_nm"] + [f"g_{n}" for n in gn] + [f"n_{n}" for n in gn]]
        for k, r in enumerate(sr["r_nm"]):
            rows.append([float(r)] + [float(sr["groups"][n]["g"][k]) for n in gn]
                        + [float(sr["groups"][n]["n"][k]) for n in gn])
        _write_csv(d / "rdf.csv", rows)
        out.append(d / "rdf.csv")
    return [str(p) for p in out]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis.transport", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--topology", required=True, help="PDB/PDBx topology with residue names and CONECT bonds")
    p.add_argument("--trajectory", required=True, nargs="+", action="extend",
                   help="trajectory file(s): consecutive segments of one run in time order (DCD, XTC, ...); "
                        "the flag may be repeated")
    p.add_argument("--system", required=True, help="serialised OpenMM System XML (charges, masses)")
    p.add_argument("--temperature", required=True, help="thermostat temperature, e.g. '298.15 K'")
    p.add_argument("--out", required=True, help="output JSON")
    p.add_argument("--csv", help="output CSV summary")
    p.add_argument("--plots-dir", help="folder for msd.png, einstein_helfand.png, rdf.png (+ curve CSVs)")
    p.add_argument("--frame-interval", help="time between frames, e.g. '1 ps' (needed unless --production-report "
                                            "is given or OpenMM wrote the DCD; must agree with both)")
    p.add_argument("--production-report", help="production.json of the run that wrote the trajectory (its "
                                               "trajectory.frame_interval_ps and frame count are used)")
    yh = p.add_mutually_exclusive_group()
    yh.add_argument("--viscosity", help="shear viscosity > 0 for Yeh-Hummer, e.g. '2.5 mPa s' "
                                        "(default: no correction)")
    yh.add_argument("--viscosity-report", help="viscosity.json of analysis.viscosity: the simulated viscosity "
                                               "(and its stderr) for Yeh-Hummer")
    yh.add_argument("--gel", action="store_true", help="the system is a gel: no Yeh-Hummer correction, stated")
    p.add_argument("--formal-charges", nargs="*", default=[], metavar="RES=Z",
                   help="integer charges per residue name, e.g. NA=1 PF6=-1 (default: rounded residue charges)")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="MSD backend (auto: CuPy when a GPU is usable)")
    p.add_argument("--blocks", type=int, default=5, help="blocks for the block-average uncertainty (default 5)")
    p.add_argument("--discard", default="0 ps", help="time dropped from the start, e.g. '1 ns' (default 0 ps)")
    p.add_argument("--rdf-frames", type=int, default=500, help="at most this many frames (>= 1) for RDFs (default 500)")
    p.add_argument("--no-solvation", action="store_true", help="skip RDFs and ion pairing")
    p.add_argument("--scratch-dir", help="folder for a memory-mapped centre-of-mass file on large runs")
    p.add_argument("--log", help="log file (default: stderr)")
    return p


def run(args: argparse.Namespace) -> None:
    """Parse the quantities, analyse, write the JSON (and CSV, plots); a GelmdError is logged, then raised."""
    try:
        temperature = parse_quantity(args.temperature, "temperature", "--temperature")
        interval = (None if args.frame_interval is None
                    else parse_quantity(args.frame_interval, "time", "--frame-interval"))
        discard = parse_quantity(args.discard, "time", "--discard")
        viscosity = (read_viscosity_report(args.viscosity_report) if args.viscosity_report
                     else None if args.viscosity is None else parse_viscosity(args.viscosity))
        results, curves = analyse(args.topology, args.trajectory, args.system, temperature, interval, viscosity,
                                  parse_formal_charges(args.formal_charges), args.backend, args.blocks, discard,
                                  args.rdf_frames, not args.no_solvation, args.scratch_dir, args.production_report,
                                  args.gel)
        if args.plots_dir:
            results["plots"] = write_plots(args.plots_dir, results, curves)
        write_json_atomic(args.out, json_ready(results))
        if args.csv:
            _write_csv(args.csv, csv_rows(results))
        log.info("transport results written to %s", args.out)
    except GelmdError as exc:
        log.error("%s: %s", type(exc).__name__, exc)   # the log file holds the reason too
        raise


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = logging.FileHandler(args.log) if args.log else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        return run_main("transport", lambda: run(args))
    finally:
        log.removeHandler(handler)
        handler.close()


if __name__ == "__main__":
    sys.exit(main())
