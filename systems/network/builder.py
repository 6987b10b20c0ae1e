"""Build a crosslinked gel polymer electrolyte: electrolyte + monomer -> packed box -> bonds formed in cycles.

Steps
-----
1. Counts. The liquid electrolyte counts come from :func:`systems.composition.molecule_counts` (same
   conventions as the LE builder). Monomer molecules are added at the polymer weight fraction
   w = m_monomer / (m_monomer + m_electrolyte): n = round(w/(1-w) m_electrolyte / M_monomer), at least 1;
   the realised fraction is reported. Default w = 0.10: in-situ gel polymer electrolytes of carbonate
   electrolytes with multifunctional crosslinkers (acrylates such as TPA/ETPTA, aziridines, epoxides) are
   typically made with 3-10 wt% monomer, and 10 wt% is the upper end that still gives a free-standing,
   highly swollen gel; the PBMP paper does not state its monomer content.
2. Packing: conformers (ETKDG+MMFF, seeded), packmol in a periodic cube at ``packing_density_fraction`` of
   the ideal density, then minimisation and ``pre_md_steps`` of NPT MD.
3. Cycles (:mod:`systems.network.reactive_pairs`): pairs within the cutoff, closest first, one bond per
   group per cycle, small rings and ring-piercing refused; while a cycle would form fewer than
   ``min_bonds_fraction`` x (number of groups) bonds (at least 1) the cutoff grows by ``cutoff_step_nm`` up to
   ``max_bond_cutoff_nm`` (it never shrinks again). After each cycle the graph is edited
   (:mod:`systems.network.graph`), the System rebuilt from the residue templates, the new bonds ramped in,
   minimised and run for ``relax.md_steps`` of MD (:mod:`systems.network.relax`; NPT scaling whole molecules
   while no cluster percolates, NVT once one does). Before every relaxation each bonded cluster is made
   whole (:meth:`NetworkGraph.make_molecules_whole`): a new bond can join atoms of two periodic images, and a
   molecular barostat would otherwise stretch that bond by the box change of every volume move.
4. Stop at ``target_conversion``. When no pair is within the largest cutoff, a cycle runs MD only (4x the
   relaxation MD) in which the closest free pairs (within half the box, same ring and piercing rules; as
   many as a cycle wants) are drawn together by a flat-bottom harmonic pull (:func:`relax`), since free
   diffusion of monomer-bound groups over ~1 nm takes ~100 ps; after ``max_stall_cycles`` such cycles in a row, or when
   ``max_cycles`` cycles have run, :class:`ConversionNotReachedError` reports the conversion reached.
5. Checks: valence of every polymer atom, zero total charge, no bond longer than ``max_bond_length_nm``
   (minimum image) after relaxation, every atom typed (OpenMM matched every residue to a template).

Same seed, same network: every random choice (conformers, packmol, velocities, integrator, barostat) is
seeded from ``seed``, the pair choice is deterministic (sorted by distance, then atom index), and the CPU
and CUDA platforms run with ``DeterministicForces``. On the CPU platform that makes a *single-threaded*
build bitwise reproducible (``engine.cpu_threads: 1``); with more threads OpenMM 8's CPU NonbondedForce
still sums in thread-scheduling order (measured: forces differ by ~1e-3 kJ/mol/nm between two Contexts
on the same positions), MD amplifies that, and two builds give different, equally valid networks.
"""

from __future__ import annotations

import logging
import math
import platform as _platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import openmm
from openmm import app, unit

from common.io import atomic_path, write_json_atomic
from common.seeds import derive_seed
from forcefields.system_factory import TEMPLATE_DIR
from simulation.platform import choose_platform
from systems.composition import AVOGADRO, NM3_PER_CM3, molecule_counts
from systems.network.analysis import network_measures
from systems.network.errors import ConversionNotReachedError, NetworkBuildError
from systems.network.forcefield import network_system
from systems.network.graph import NetworkGraph, minimum_image
from systems.network.monomer import MonomerModel, build_monomer_model
from systems.network.reactive_pairs import select_bonds
from systems.network.relax import RelaxSettings, relax
from systems.network.templates import ensure_templates
from systems.packing import PackItem, pack_box
from systems.species import BUILTIN_SPECIES, Species, get_species
from systems.structures import conformer_positions

logger = logging.getLogger(__name__)

SALT_DENSITY_G_PER_CM3 = 2.37  # crystalline NaPF6, only to size the initial box
MONOMER_DENSITY_G_PER_CM3 = 1.10  # only to size the initial box
DEFAULT_POLYMER_WEIGHT_FRACTION = 0.10
# The bond cutoff never exceeds this fraction of the shortest box edge: longer bonds in a small box can
# close a loop through the network's own periodic image that is too short to span the box (unrelaxable).
MAX_CUTOFF_BOX_FRACTION = 0.35
# MD-only cycles pull the closest free X/Y pairs within this fraction of the box edge (minimum image) to
# PULL_TARGET_FRACTION x bond_cutoff, so the next cycle finds them in reach (free diffusion of a monomer
# over ~1 nm takes ~100 ps, far more than the relaxation MD).
PULL_RANGE_BOX_FRACTION = 0.5
PULL_TARGET_FRACTION = 0.8


@dataclass(frozen=True)
class MonomerSpec:
    """The crosslinker: a name, its SMILES, the reaction type and (optional) residue-name stem."""

    name: str
    smiles: str
    reaction_type: str
    residue: str | None = None


@dataclass(frozen=True)
class ElectrolyteSpec:
    solvent_volume_fractions: dict
    cation: str = "Na+"
    anion: str = "PF6-"
    salt_molarity_mol_per_L: float = 1.0
    n_solvent: int = 110


@dataclass(frozen=True)
class CrosslinkSettings:
    target_conversion: float = 0.85
    max_cycles: int = 40
    bond_cutoff_nm: float = 0.5
    max_bond_cutoff_nm: float = 1.2
    cutoff_step_nm: float = 0.1
    min_ring_size: int = 6
    max_bond_length_nm: float = 0.2
    min_bonds_fraction: float = 0.1  # grow the cutoff while a cycle would form fewer than this x groups bonds
    max_stall_cycles: int = 3  # MD-only cycles (4 x relax MD) allowed in a row when no pair is in reach


@dataclass(frozen=True)
class NetworkBuildSpec:
    system: str
    electrolyte: ElectrolyteSpec
    monomer: MonomerSpec
    polymer_weight_fraction: float = DEFAULT_POLYMER_WEIGHT_FRACTION
    crosslink: CrosslinkSettings = field(default_factory=CrosslinkSettings)
    relax: RelaxSettings = field(default_factory=RelaxSettings)
    seed: int = 2026
    ion_charge_scale: float = 0.8
    nonbonded_cutoff_nm: float = 1.0
    pre_md_steps: int = 1000
    packing_density_fraction: float = 0.85
    platform: str = "CPU"
    cpu_threads: int = 0
    extra_species: tuple = ()  # Species declared in the config (solvents, ions) beside the built-in ones
    config_name: str = ""


def validate_spec(spec: NetworkBuildSpec) -> None:
    c = spec.crosslink
    prefix = f"systems.{spec.system}"
    if not 0 < spec.polymer_weight_fraction < 1:
        raise NetworkBuildError(f"{prefix}.polymer_weight_fraction = {spec.polymer_weight_fraction!r} is not "
                                "allowed; it must be in (0, 1) (default 0.10)")
    if not 0 < c.target_conversion <= 1:
        raise NetworkBuildError(f"{prefix}.target_conversion = {c.target_conversion!r} is not allowed; it must be "
                                "in (0, 1]; e.g. 0.85")
    if c.max_cycles < 1:
        raise NetworkBuildError(f"{prefix}.max_cycles = {c.max_cycles!r}: must be >= 1")
    if not 0.15 <= c.bond_cutoff_nm <= c.max_bond_cutoff_nm:
        raise NetworkBuildError(f"{prefix}.bond_cutoff = {c.bond_cutoff_nm} nm, max_bond_cutoff = "
                                f"{c.max_bond_cutoff_nm} nm: need 0.15 nm <= bond_cutoff <= max_bond_cutoff")
    if c.max_bond_cutoff_nm > 1.5:
        raise NetworkBuildError(f"{prefix}.max_bond_cutoff = {c.max_bond_cutoff_nm} nm is above 1.5 nm; bonds that "
                                "long tear the structure apart when relaxed")
    if c.cutoff_step_nm <= 0:
        raise NetworkBuildError(f"{prefix}.cutoff_step = {c.cutoff_step_nm} nm: must be > 0")


def monomer_species(spec: MonomerSpec) -> Species:
    return Species(spec.name, spec.smiles, spec.residue or spec.name, "monomer")


@dataclass(frozen=True)
class _SaltInput:
    cation: str
    anion: str
    concentration_mol_per_L: float


@dataclass(frozen=True)
class _CompositionInput:
    """The fields :func:`systems.composition.molecule_counts` reads (plain data, not the config model)."""

    name: str
    solvent_volume_fractions: dict
    salt: _SaltInput
    n_solvent: int


def _counts(spec: NetworkBuildSpec, species: dict[str, Species], model: MonomerModel) -> tuple[dict, dict]:
    e = spec.electrolyte
    sys_spec = _CompositionInput(spec.system, dict(e.solvent_volume_fractions),
                                 _SaltInput(e.cation, e.anion, e.salt_molarity_mol_per_L), e.n_solvent)
    composition = molecule_counts(sys_spec, species)
    counts = dict(composition.counts)
    m_el = sum(n * get_species(k, species).molar_mass_g_per_mol for k, n in counts.items())
    mono = species[spec.monomer.name]
    w = spec.polymer_weight_fraction
    n_mono = max(1, round(w / (1 - w) * m_el / mono.molar_mass_g_per_mol))
    m_mono = n_mono * mono.molar_mass_g_per_mol
    counts[spec.monomer.name] = n_mono
    info = {"electrolyte": composition.as_dict(), "n_monomers": n_mono,
            "target_polymer_weight_fraction": w, "realised_polymer_weight_fraction": m_mono / (m_mono + m_el),
            "monomer_molar_mass_g_per_mol": mono.molar_mass_g_per_mol,
            "weight_fraction_convention": "w = monomer mass / (monomer + electrolyte mass), before curing; "
                                          "n = round(w/(1-w) m_el / M_monomer), at least 1"}
    return counts, info


def _pack(spec: NetworkBuildSpec, species: dict[str, Species], model: MonomerModel, counts: dict,
          workdir: Path) -> NetworkGraph:
    items, mols, volume = [], [], 0.0
    for name, count in counts.items():
        s = species[name]
        mol = model.mol if name == spec.monomer.name else s.mol
        xyz = conformer_positions(mol, spec.seed, name)
        items.append(PackItem(name, count, xyz, [a.GetSymbol() for a in mol.GetAtoms()]))
        mols.append((name, s, mol, xyz))
        density = s.density_g_per_cm3 or (SALT_DENSITY_G_PER_CM3 if s.role in ("cation", "anion")
                                          else MONOMER_DENSITY_G_PER_CM3)
        volume += count * s.molar_mass_g_per_mol / (density * AVOGADRO) * NM3_PER_CM3
    edge = (volume / spec.packing_density_fraction) ** (1 / 3)
    if edge < 2 * spec.nonbonded_cutoff_nm + 0.1:
        raise NetworkBuildError(f"systems.{spec.system}: the box ({edge:.2f} nm) would be smaller than twice the "
                                f"nonbonded cutoff ({spec.nonbonded_cutoff_nm:g} nm); raise n_solvent")
    positions = pack_box(items, edge, spec.seed, workdir=workdir)
    graph = NetworkGraph(np.array([edge] * 3))
    k = 0
    for (name, s, mol, _), item in zip(mols, items):
        n = mol.GetNumAtoms()
        for _ in range(item.count):
            xyz = positions[k:k + n]
            k += n
            if name == spec.monomer.name:
                graph.add_monomer(model, xyz, s.molar_mass_g_per_mol)
            else:
                graph.add_molecule(mol, s.residue, name, xyz)
    return graph


def _bond_lengths(graph: NetworkGraph) -> np.ndarray:
    pos = graph.positions_array()
    pairs = np.array([k for k in graph.bonds if graph.present[k[0]] and graph.present[k[1]]])
    return np.linalg.norm(minimum_image(pos[pairs[:, 1]] - pos[pairs[:, 0]], graph.box), axis=1)


@dataclass
class BuildResult:
    graph: NetworkGraph
    system: openmm.System
    topology: app.Topology
    positions_nm: np.ndarray
    record: dict


def build_network(spec: NetworkBuildSpec, out_dir: Path | None = None, template_dir: Path = TEMPLATE_DIR) -> BuildResult:
    """Build the network of ``spec``; write system.pdb, system.xml, state.xml, network.json into ``out_dir``."""
    t_start = time.perf_counter()
    validate_spec(spec)
    c = spec.crosslink
    model = build_monomer_model(spec.monomer.name, spec.monomer.smiles, spec.monomer.reaction_type,
                                spec.monomer.residue or spec.monomer.name)
    species = {k: v for k, v in BUILTIN_SPECIES.items() if v.role != "monomer"}
    species.update({s.name: s for s in spec.extra_species if s.role != "monomer"})
    species[spec.monomer.name] = monomer_species(spec.monomer)
    clash = model.residue_names() & {s.residue for s in species.values()}
    if clash:
        raise NetworkBuildError(f"monomer {spec.monomer.name!r}: residue names {sorted(clash)} clash with species "
                                "residues; give the monomer another residue name")
    counts, count_info = _counts(spec, species, model)
    n_groups = counts[spec.monomer.name] * model.n_groups
    if n_groups < 2:
        raise ConversionNotReachedError(
            f"systems.{spec.system}: target conversion {c.target_conversion:.0%} is unreachable: the box holds "
            f"{n_groups} reactive group(s) and a group cannot bond to itself; conversion reached 0%",
            conversion=0.0, cycles=0)
    templates = ensure_templates(model, template_dir)
    platform = choose_platform(platform=spec.platform, cpu_threads=spec.cpu_threads, precision="auto",
                               allow_opencl=False)
    if platform.name in ("CPU", "CUDA"):  # reproducible force sums (module notes)
        platform = replace(platform, properties={**platform.properties, "DeterministicForces": "true"})
    work = Path(out_dir) if out_dir is not None else None
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    graph = _pack(spec, species, model, counts, work)
    logger.info("packed %d atoms, %d monomers (%d groups), box %.3f nm", sum(graph.present), counts[spec.monomer.name],
                n_groups, graph.box[0])
    template_paths = sorted(set(templates.values()))

    def rebuild():
        system, topology, order, report = network_system(graph, template_paths, spec.ion_charge_scale,
                                                         spec.nonbonded_cutoff_nm)
        return system, topology, order, report

    def run_relax(system, order, new_bonds, seed_purpose, **kwargs):
        # whole molecules first: a new bond may join atoms of two periodic images (see make_molecules_whole)
        percolating = graph.make_molecules_whole()
        return relax(system, graph.positions_array()[order], graph.box, new_bonds, kwargs.pop("settings", spec.relax),
                     platform, derive_seed(spec.seed, seed_purpose), npt=percolating == 0,
                     **kwargs)

    system, topology, order, report = rebuild()
    pos, box, pre = run_relax(system, order, [], "pre", md_steps=spec.pre_md_steps, stage="pre-equilibration")
    graph.set_positions(order, pos, box)
    history = [{"cycle": 0, "conversion": 0.0, "new_bonds": 0, "cutoff_nm": c.bond_cutoff_nm,
                "box_nm": box.tolist(), "wall_time_s": time.perf_counter() - t_start}]
    cutoff = c.bond_cutoff_nm
    cycle = 0
    stalled = 0
    failure = None
    while graph.conversion() < c.target_conversion:
        if cycle >= c.max_cycles:
            failure = f"the cycle limit max_cycles = {c.max_cycles} was reached"
            break
        cycle += 1
        max_cutoff = min(c.max_bond_cutoff_nm, MAX_CUTOFF_BOX_FRACTION * float(graph.box.min()))
        cutoff = min(cutoff, max_cutoff)
        chosen, sel = select_bonds(graph, cutoff, c.min_ring_size)
        wanted = max(1, round(c.min_bonds_fraction * n_groups))
        while len(chosen) < wanted and cutoff < max_cutoff - 1e-9:
            cutoff = min(max_cutoff, cutoff + c.cutoff_step_nm)
            chosen, sel = select_bonds(graph, cutoff, c.min_ring_size)
        if not chosen:
            stalled += 1
            if stalled > c.max_stall_cycles:
                failure = (f"no reactive pair came within the largest cutoff {max_cutoff:.2f} nm "
                           f"(max_bond_cutoff = {c.max_bond_cutoff_nm} nm, capped at {MAX_CUTOFF_BOX_FRACTION} x "
                           f"the box edge) passing the ring and geometry checks, in {c.max_stall_cycles} MD-only "
                           "cycles with the closest out-of-reach pairs pulled together")
                break
            system, topology, order, report = rebuild()
            # the closest pairs out of reach (ring and piercing rules applied) are pulled together in the MD
            far, _ = select_bonds(graph, PULL_RANGE_BOX_FRACTION * float(graph.box.min()), c.min_ring_size)
            far = far[:wanted]
            index = {a: k for k, a in enumerate(order)}
            pulls = [(index[graph.sites[f.site_x].x], index[graph.sites[f.site_y].y]) for f in far]
            pos, box, info = run_relax(system, order, [], f"cycle-{cycle}", md_steps=4 * spec.relax.md_steps,
                                       stage=f"MD-only cycle {cycle}", pull_pairs=pulls,
                                       pull_to_nm=PULL_TARGET_FRACTION * c.bond_cutoff_nm)
            graph.set_positions(order, pos, box)
            history.append({"cycle": cycle, "cutoff_nm": cutoff, "new_bonds": 0, "md_only": True,
                            "pulled_pairs": len(pulls), "pulled_pair_distances_nm": [round(f.distance_nm, 4) for f in far],
                            "conversion": graph.conversion(), "box_nm": box.tolist(),
                            "wall_time_s": time.perf_counter() - t_start})
            logger.info("cycle %d: no pair within %.2f nm, MD only, %d pair(s) pulled together", cycle, cutoff,
                        len(pulls))
            continue
        stalled = 0
        for cand in chosen:
            graph.form_bond(cand.site_x, cand.site_y)
        system, topology, order, report = rebuild()
        index = {a: k for k, a in enumerate(order)}
        new = [(index[graph.sites[cand.site_x].x], index[graph.sites[cand.site_y].y]) for cand in chosen]
        pos, box, info = run_relax(system, order, new, f"cycle-{cycle}", stage=f"crosslink cycle {cycle}")
        graph.set_positions(order, pos, box)
        entry = {"cycle": cycle, "cutoff_nm": cutoff, "new_bonds": len(chosen),
                 "new_bond_distances_nm": [round(x.distance_nm, 4) for x in chosen],
                 "conversion": graph.conversion(),
                 "conversion_by_group": {graph.monomer_models[0].reaction.group_name: graph.conversion()},
                 "selection": asdict(sel), "potential_energy_kJ_per_mol": info["potential_energy_kJ_per_mol"],
                 "max_bond_length_nm": float(_bond_lengths(graph).max()), "ensemble": info["ensemble"],
                 "box_nm": box.tolist(), "wall_time_s": time.perf_counter() - t_start}
        history.append(entry)
        logger.info("cycle %d: %d new bonds (cutoff %.2f nm), conversion %.1f%%, longest bond %.3f nm, %s, %.0f s",
                    cycle, len(chosen), cutoff, 100 * graph.conversion(), entry["max_bond_length_nm"],
                    info["ensemble"], entry["wall_time_s"])
    if failure is not None:
        message = (f"systems.{spec.system}: target conversion {c.target_conversion:.1%} not reached: {failure}; "
                   f"conversion reached {graph.conversion():.1%} after {cycle} cycle(s) "
                   f"({len(graph.network_bonds)} bonds, {graph.conversion() * n_groups:.0f} of {n_groups} groups). "
                   "Raise max_cycles or max_bond_cutoff, or lower target_conversion")
        if work is not None:
            write_json_atomic(work / "network.partial.json", {"error": message, "history": history,
                                                              "seed": spec.seed})
        raise ConversionNotReachedError(message, conversion=graph.conversion(), cycles=cycle, history=history)

    # final relaxation: more minimisation + MD until every bond is within the limit (at most 5 rounds)
    final_rounds = 0
    while _bond_lengths(graph).max() > c.max_bond_length_nm and final_rounds < 5:
        final_rounds += 1
        system, topology, order, report = rebuild()
        pos, box, _ = run_relax(system, order, [], f"final-{final_rounds}",
                                settings=replace(spec.relax, final_min_iterations=1000),
                                stage=f"final relaxation {final_rounds}")
        graph.set_positions(order, pos, box)
    # checks after the last relaxation
    problems = graph.valence_problems()
    if problems:
        raise NetworkBuildError("valence check failed after building:\n  " + "\n  ".join(problems[:20]))
    lengths = _bond_lengths(graph)
    if lengths.max() > c.max_bond_length_nm:
        pairs = [k for k in graph.bonds if graph.present[k[0]] and graph.present[k[1]]]
        a, b = pairs[int(np.argmax(lengths))]
        owner = {x: r.name for r in graph.residues for x in r.atoms}
        network = {tuple(sorted((graph.sites[i].x, graph.sites[j].y))) for i, j in graph.network_bonds}
        raise NetworkBuildError(f"after relaxation the longest bond is {lengths.max():.3f} nm, above the limit "
                                f"max_bond_length = {c.max_bond_length_nm} nm: {owner[a]}:{graph.names[a]} - "
                                f"{owner[b]}:{graph.names[b]} ({'network' if (a, b) in network else 'residue'} bond)")
    if abs(report.total_charge_e) > 1e-4:
        raise NetworkBuildError(f"the built system carries {report.total_charge_e:.6f} e; it must be neutral")
    volume = float(np.prod(graph.box))
    measures = network_measures(graph, volume)
    wall = time.perf_counter() - t_start
    positions = graph.positions_array()[order]
    record = {
        "system": spec.system,
        "seed": spec.seed,
        "monomer": {"name": spec.monomer.name, "smiles": spec.monomer.smiles, "reaction_type": model.reaction.name,
                    "reaction": model.reaction.description, "groups_per_monomer": model.n_groups,
                    "residues": {k: t.residue_names for k, t in model.piece_types.items()}},
        "composition": {**count_info, "counts": counts},
        "n_atoms": topology.getNumAtoms(),
        "n_residues": topology.getNumResidues(),
        "species": {name: {"smiles": species[name].smiles, "residue": species[name].residue, "count": n,
                           **({"residues": sorted(model.residue_names())} if name == spec.monomer.name else {})}
                    for name, n in counts.items()},
        "box_nm": graph.box.tolist(),
        "target_conversion": c.target_conversion,
        "cycles": cycle,
        "final_relaxation_rounds": final_rounds,
        "history": history,
        **measures,
        "max_bond_length_nm": float(lengths.max()),
        "max_bond_length_limit_nm": c.max_bond_length_nm,
        "total_charge_e": report.total_charge_e,
        "settings": {"crosslink": asdict(c), "relax": asdict(spec.relax),
                     "polymer_weight_fraction": spec.polymer_weight_fraction,
                     "nonbonded_cutoff_nm": spec.nonbonded_cutoff_nm, "ion_charge_scale": spec.ion_charge_scale,
                     "pre_md_steps": spec.pre_md_steps, "packing_density_fraction": spec.packing_density_fraction},
        "chain_ends": model.reaction.description,
        "templates": {name: str(p) for name, p in sorted(templates.items())},
        "periodic_bonded_forces": True,
        "density_g_per_cm3": _density(system, volume),
        "platform": platform.description.get("name"),
        "platform_properties": dict(platform.properties),
        "determinism": "bitwise the same network for the same seed on the CPU platform with cpu_threads 1 "
                       "(DeterministicForces); with more CPU threads OpenMM's nonbonded force sums depend on "
                       "thread scheduling and builds differ",
        "software": {"openmm": openmm.__version__, "python": _platform.python_version()},
        "wall_time_s": wall,
        "conversion_per_minute": measures["conversion"] / (wall / 60.0),
    }
    if work is not None:
        _write_outputs(work, topology, positions, system, graph, record)
    return BuildResult(graph=graph, system=system, topology=topology, positions_nm=positions, record=record)


def _density(system: openmm.System, volume_nm3: float) -> float:
    mass = sum(system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(system.getNumParticles()))
    return mass / AVOGADRO / (volume_nm3 / NM3_PER_CM3)


def _write_outputs(out: Path, topology, positions, system, graph, record) -> None:
    topology.setPeriodicBoxVectors(np.diag(graph.box) * unit.nanometer)
    with atomic_path(out / "system.pdb") as tmp, open(tmp, "w") as handle:
        app.PDBFile.writeFile(topology, positions * unit.nanometer, handle, keepIds=False)
    with atomic_path(out / "system.cif") as tmp, open(tmp, "w") as handle:
        app.PDBxFile.writeFile(topology, positions * unit.nanometer, handle, keepIds=False)
    with atomic_path(out / "system.xml") as tmp:
        tmp.write_text(openmm.XmlSerializer.serialize(system))
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPeriodicBoxVectors(*(openmm.Vec3(*(np.eye(3)[k] * graph.box[k])) for k in range(3)))
    context.setPositions(positions * unit.nanometer)
    with atomic_path(out / "state.xml") as tmp:
        tmp.write_text(openmm.XmlSerializer.serialize(context.getState(getPositions=True)))
    del context
    record["files"] = {"topology": "system.pdb", "topology_cif": "system.cif", "system": "system.xml",
                       "state": "state.xml", "network": "network.json"}
    write_json_atomic(out / "network.json", record)
