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
   the ideal density, then minimisation and ``pre_md_steps`` of NPT MD. The initiator of the recipe sets
   the number of kinetic chains (:func:`systems.network.growth.initiator_chains`); PF5 costs the box one
   Na+/PF6- pair per chain (NaPF6 -> NaF + PF5).
3. Cycles of chain growth (:mod:`systems.network.growth`): initiators start chains, living ends add the Y
   of unreacted groups within the cutoff, closest first or, with ``partner_choice: random``, in a seeded random
   order (every group in reach equally likely; :func:`systems.network.growth.shuffled`)
   (:mod:`systems.network.reactive_pairs`: one bond per
   group per round, small rings, ring piercing, short loops and stretched self-image loops refused;
   :mod:`systems.network.loops`); up to ``propagation_rounds`` rounds per cycle, the cutoff growing by
   ``cutoff_step_nm`` up to ``max_bond_cutoff_nm`` (<= 0.8 nm; it never shrinks) while a round finds no
   pair. The graph is edited (:mod:`systems.network.graph`), the System rebuilt from the residue templates
   (:func:`forcefields.parameterise.system_from_templates`, the one System factory), the new bonds ramped in,
   minimised and run for ``relax.md_steps`` of MD (:mod:`systems.network.relax`; NPT scaling whole molecules
   while no cluster percolates, NVT once one does; hydrogen mass repartitioning and 4 fs when the config
   asks for HMR). During that MD every living end is drawn towards its next eligible partner by a
   flat-bottom pull that acts beyond ``PULL_TARGET_FRACTION`` x the cycle's cutoff (free diffusion of a
   network-bound group over ~1 nm takes ~100 ps, ten times the relaxation MD; the pull shortens the wait,
   the capture rule stays the cutoff). A new bond that the relaxation leaves longer than
   ``max_bond_length_nm`` is broken again and counted (``undone_bonds``), never fatal. Before every
   relaxation each bonded cluster is made whole (:meth:`NetworkGraph.make_molecules_whole`): a new bond can
   join atoms of two periodic images, and a molecular barostat would otherwise stretch that bond by the box
   change of every volume move.
4. Stop at ``target_conversion``. When no pair is within the largest cutoff, a cycle runs MD only (4x the
   relaxation MD) with the pulls; after ``max_stall_cycles`` such cycles in a row, when no living end and
   no initiator is left, or when ``max_cycles`` cycles have run, :class:`ConversionNotReachedError` reports
   the conversion reached. Living ends are terminated as they are (module notes of
   :mod:`systems.network.growth`).
5. Checks: valence of every polymer atom, zero total charge, no bond longer than ``max_bond_length_nm``
   (minimum image) after the final relaxation (a network bond still longer is broken and counted), every
   atom typed (OpenMM matched every residue to a template).

Platform. ``platform`` is ``engine.platform``: ``auto`` takes the best available platform (CUDA, then CPU;
:func:`simulation.platform.choose_platform`), as every other stage does, or a platform by name. CPU and
CUDA run with ``DeterministicForces``. ``deterministic: true`` asks for exact reproducibility, which only the
CPU platform with one thread gives (below): it forces that setting and refuses a GPU platform named
explicitly. network.json records the platform asked for, the one used, its properties and what
reproducibility that gives.

Same seed, same network: every random choice (conformers, packmol, velocities, integrator, barostat) is
seeded from ``seed``, the pair choice is deterministic (sorted by distance, then atom index, or permuted by a
generator seeded from ``seed``). On the CPU
platform with one thread (``deterministic``, or ``engine.cpu_threads: 1``) a build is bitwise reproducible;
with more threads OpenMM 8's CPU NonbondedForce still sums in thread-scheduling order (measured: forces
differ by ~1e-3 kJ/mol/nm between two Contexts on the same positions), MD amplifies that, and two builds
give different, equally valid networks; the same holds across GPUs and drivers.

Outputs (``out_dir``): system.pdb, system.cif, system.xml, state.xml, network.json and ``templates/``, the
residue templates of every residue in the topology except the ions (network units in every state, solvent
molecules), each with its provenance. Network unit templates are copied from the shipped, reviewed cache
(``forcefields/data/templates``, read-only) when it holds them with the right key, and generated (RESP)
into ``templates/`` otherwise (:mod:`systems.network.templates`); nothing is written into the source tree.
``python -m forcefields.parameterise --template-dir <out_dir>/templates --periodic-bonds ...`` rebuilds the
System from them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import platform as _platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import openmm
from openmm import app, unit

from common.constants import AVOGADRO_PER_MOL, NM3_PER_CM3
from common.io import atomic_path, write_json_atomic
from common.errors import SimulationError
from common.seeds import derive_seed
from forcefields.system_factory import TEMPLATE_DIR, template_files_for
from common.config import HYDROGEN_MASS_AMU
from simulation.platform import PlatformChoice, choose_platform
from simulation.system_prep import repartition_hydrogen_mass
from systems.composition import molecule_counts
from systems.network.analysis import network_measures
from systems.network.checkpoint import (CHECKPOINT_NAME, BuildCheckpoint, CrosslinkProgress, load_checkpoint,
                                        save_checkpoint, spec_key)
from systems.network.errors import ConversionNotReachedError, NetworkBuildError
from systems.network.forcefield import network_system
from systems.network.graph import NetworkGraph
from systems.network.growth import (INITIATOR_OF_REACTION, INITIATORS, Candidate, ChainGrowth, InitiatorRecipe,
                                    initiator_chains)
from systems.network.monomer import MonomerModel, build_monomer_model
from systems.network.reactive_pairs import select_bonds
from common.periodic import minimum_image
from systems.network.relax import RelaxSettings, relax
from systems.network.templates import ensure_templates
from systems.packing import SALT_DENSITY_G_PER_CM3, PackItem, pack_box
from systems.species import BUILTIN_SPECIES, Species, get_species
from systems.structures import conformer_positions

logger = logging.getLogger(__name__)

MONOMER_DENSITY_G_PER_CM3 = 1.10  # only to size the initial box
DEFAULT_POLYMER_WEIGHT_FRACTION = 0.10
# The bond cutoff never exceeds this fraction of the shortest box edge: longer bonds in a small box can
# close a loop through the network's own periodic image that is too short to span the box (unrelaxable).
MAX_CUTOFF_BOX_FRACTION = 0.35
# The MD of every cycle pulls each living end and its next eligible partner (within this fraction of the box
# edge, minimum image) to PULL_TARGET_FRACTION x the cycle's cutoff, so the next cycle finds them in reach
# (free diffusion of a monomer over ~1 nm takes ~100 ps).
PULL_RANGE_BOX_FRACTION = 0.5
PULL_TARGET_FRACTION = 0.8
TEMPLATES_SUBDIR = "templates"  # residue templates of a build, inside its output folder


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


PARTNER_CHOICES = ("nearest", "random")


@dataclass(frozen=True)
class CrosslinkSettings:
    target_conversion: float = 0.85
    max_cycles: int = 40
    bond_cutoff_nm: float = 0.5
    max_bond_cutoff_nm: float = 1.2
    cutoff_step_nm: float = 0.1
    min_ring_size: int = 6
    max_bond_length_nm: float = 0.2
    min_loop_units: int = 2  # no loop of fewer monomer units (1 would allow intramolecular cyclisation)
    propagation_rounds: int = 3  # propagation steps an active end may take per cycle (one relaxation)
    max_stall_cycles: int = 3  # MD-only cycles (4 x relax MD) allowed in a row when no pair is in reach
    # which group in reach a living end adds: "nearest" (closest first) or "random" (every group within the
    # cutoff equally likely, seeded; systems.network.growth.shuffled)
    partner_choice: str = "nearest"


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
    # 0.95: packmol still packs quickly, and the network forms near the liquid's density: a gel cannot be
    # compressed by molecular scaling once it percolates, and at 0.85 the demo PBMP left the builder at
    # 1.15 g/cm^3, which cost its atom-wise NPT (2 fs, ~18 ns/day on 2 cores) several 50 ps blocks
    packing_density_fraction: float = 0.95
    platform: str = "auto"  # engine.platform: auto (CUDA, then CPU) or a platform name
    cpu_threads: int = 0
    deterministic: bool = False  # bitwise-reproducible build: CPU platform, one thread (module notes)
    extra_species: tuple = ()  # Species declared in the config (solvents, ions) beside the built-in ones
    config_name: str = ""
    initiator: InitiatorRecipe | None = None  # None: the reaction's initiator at 1 wt% of the monomer
    hydrogen_mass_amu: float = 1.008  # above 1.008: hydrogen mass repartitioning and 4 fs relaxation MD


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
    if c.partner_choice not in PARTNER_CHOICES:
        raise NetworkBuildError(f"{prefix}.partner_choice = {c.partner_choice!r} is not allowed; it must be one of "
                                f"{', '.join(PARTNER_CHOICES)}")


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
    additive_salt: None = None  # gels carry one salt (the config refuses an additive salt on a gel)


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
        volume += count * s.molar_mass_g_per_mol / (density * AVOGADRO_PER_MOL) * NM3_PER_CM3
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
    templates: dict = field(default_factory=dict)  # residue -> template file used (gone if out_dir was None)


def choose_build_platform(spec: NetworkBuildSpec) -> tuple[PlatformChoice, dict]:
    """The platform of the build and what to record about it (module notes, "Platform").

    ``spec.platform`` is chosen as every stage chooses it (:func:`simulation.platform.choose_platform`;
    ``auto``: CUDA, then CPU). ``spec.deterministic`` asks for the one bitwise-reproducible setting: the CPU
    platform with one thread; it refuses a GPU platform named explicitly. CPU and CUDA run with
    ``DeterministicForces``.
    """
    if spec.deterministic:
        if spec.platform not in ("auto", "CPU"):
            raise NetworkBuildError(f"systems.{spec.system}: a deterministic network build runs on the CPU platform "
                                    f"with one thread, but engine.platform is {spec.platform!r}; use 'auto' or "
                                    "'CPU', or turn deterministic off")
        choice = choose_platform(platform="CPU", cpu_threads=1, precision="auto", allow_opencl=False)
    else:
        choice = choose_platform(platform=spec.platform, cpu_threads=spec.cpu_threads, precision="auto",
                                 allow_opencl=False)
    if choice.name in ("CPU", "CUDA"):  # reproducible force sums (module notes)
        choice = replace(choice, properties={**choice.properties, "DeterministicForces": "true"})
    bitwise = choice.name == "CPU" and choice.properties.get("Threads") == "1"
    record = {
        "platform_requested": spec.platform,
        "deterministic": spec.deterministic,
        "platform": choice.name,
        "platform_properties": dict(choice.properties),
        "platform_description": dict(choice.description),
        "determinism": ("bitwise the same network for the same seed: CPU platform, one thread, "
                        "DeterministicForces" if bitwise else
                        f"{choice.name} platform: the same seed gives the same pair choices and random streams, but "
                        "force sums (CPU with several threads: thread scheduling; GPU: hardware and driver) "
                        "can differ in the last bits, MD amplifies that, and builds differ; set deterministic "
                        "for a bitwise-reproducible build"),
    }
    return choice, record


@dataclass(frozen=True)
class _Prepared:
    """What a build knows before packing: the monomer model, species, counts and where templates go."""

    model: MonomerModel
    species: dict[str, Species]
    counts: dict[str, int]
    count_info: dict
    n_groups: int
    ion_residues: frozenset[str]
    kinetic_chains: int


def _prepare(spec: NetworkBuildSpec) -> _Prepared:
    """Check the spec, cut the monomer into residues, and count the molecules (step 1)."""
    validate_spec(spec)
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
    count_info["initiation"] = _initiation(spec, model, species, counts)
    n_groups = counts[spec.monomer.name] * model.n_groups
    if n_groups < 2:
        raise ConversionNotReachedError(
            f"systems.{spec.system}: target conversion {spec.crosslink.target_conversion:.0%} is unreachable: the "
            f"box holds {n_groups} reactive group(s) and a group cannot bond to itself; conversion reached 0%",
            conversion=0.0, cycles=0)
    ions = frozenset(species[name].residue for name in counts if species[name].role in ("cation", "anion"))
    return _Prepared(model, species, counts, count_info, n_groups, ions, count_info["initiation"]["kinetic_chains"])


def initiator_recipe(spec: NetworkBuildSpec, reaction_type: str) -> InitiatorRecipe:
    """The spec's initiator, or the reaction's own (PF5 / AIBN) at 1 wt% of the monomer."""
    if spec.initiator is not None:
        return spec.initiator
    name = INITIATOR_OF_REACTION[reaction_type]
    return InitiatorRecipe(name, 0.01, INITIATORS[name][2])


def _initiation(spec: NetworkBuildSpec, model: MonomerModel, species: dict[str, Species], counts: dict) -> dict:
    """Kinetic chains from the recipe; PF5 comes from NaPF6 (NaPF6 -> NaF + PF5), so the salt loses one ion
    pair per PF5 (the NaF is not in the box; the chains' H and F ends stand for the HF of the initiation)."""
    recipe = initiator_recipe(spec, model.reaction.name)
    mono = species[spec.monomer.name]
    info = initiator_chains(recipe, mono.molar_mass_g_per_mol, counts[spec.monomer.name])
    info["salt_ion_pairs_decomposed"] = 0
    if recipe.name == "PF5":
        cation, anion = spec.electrolyte.cation, spec.electrolyte.anion
        pairs = int(math.ceil(info["kinetic_chains"] / (recipe.efficiency * recipe.centres_per_molecule)))
        if counts.get(cation, 0) < pairs or counts.get(anion, 0) < pairs:
            raise NetworkBuildError(f"systems.{spec.system}: the PF5 initiator of {info['kinetic_chains']} chain(s) "
                                    f"needs {pairs} {cation}{anion} ion pair(s) to decompose, but the box holds "
                                    f"{counts.get(anion, 0)}; raise the salt concentration or n_solvent")
        counts[cation] -= pairs
        counts[anion] -= pairs
        info["salt_ion_pairs_decomposed"] = pairs
        info["salt_bookkeeping"] = (f"{pairs} {cation} + {anion} removed from the box: NaPF6 -> NaF(s) + PF5; "
                                    "the PF5/H+ starts the chain (N-H end), the fluoride ends it (CH2-F end)")
    return info


def _collect_templates(spec: NetworkBuildSpec, prep: _Prepared, template_dir: Path,
                       cache_dirs: Sequence[Path]) -> dict[str, dict]:
    """Every residue template the build uses, in ``template_dir`` (never in a cache folder); residue -> info.

    Network unit templates come from :func:`ensure_templates` (copied from the shipped cache, or
    generated); molecule templates (solvents) are copied from the first cache folder holding them. Ions
    come from the force field's ions.xml and need none.
    """
    done = dict(ensure_templates(prep.model, template_dir, cache_dirs))
    molecules = {prep.species[name].residue for name in prep.counts if name != spec.monomer.name}
    for source in template_files_for(molecules, list(cache_dirs)):
        target = template_dir / source.name
        if source.resolve() != target.resolve():
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
        done[source.stem] = {"path": target, "source": str(source)}
    return done


@dataclass
class _Crosslinker:
    """The graph being crosslinked, with what rebuilds and relaxes its System (steps 2-4)."""

    spec: NetworkBuildSpec
    graph: NetworkGraph
    platform: PlatformChoice
    template_dir: Path
    ion_residues: frozenset[str]
    n_groups: int
    t_start: float
    growth: ChainGrowth = field(default_factory=lambda: ChainGrowth(initiations_left=0))
    history: list = field(default_factory=list)
    final_undone: int = 0
    current: tuple = ()  # (System, Topology, master order, SystemReport) of the last rebuild
    partner_rng: np.random.Generator | None = None  # partner_choice "random": the seeded order of candidates
    checkpoint_path: Path | None = None  # build.checkpoint.pkl in the output folder (None: no checkpoints)

    def rebuild(self) -> tuple:
        """The System (real masses: the one written to system.xml), Topology, order and report of the graph."""
        self.current = network_system(self.graph, [self.template_dir], set(self.ion_residues),
                                      self.spec.ion_charge_scale, self.spec.nonbonded_cutoff_nm)
        return self.current

    def md_system(self) -> openmm.System:
        """The System the relaxation MD runs: a copy with hydrogen masses repartitioned when the spec asks."""
        system, topology = self.current[0], self.current[1]
        if self.spec.hydrogen_mass_amu <= HYDROGEN_MASS_AMU + 1e-6:
            return system
        system = openmm.XmlSerializer.clone(system)
        repartition_hydrogen_mass(system, topology, self.spec.hydrogen_mass_amu)
        return system

    def relax(self, seed_purpose: str, new_bonds=(), pulls=None, **kwargs) -> dict:
        """Rebuild the System, ramp in ``new_bonds`` / pull ``pulls`` (master atom pairs), relax, keep positions."""
        _, _, order, _ = self.rebuild()
        system = self.md_system()
        index = {a: k for k, a in enumerate(order)}
        if pulls is not None:
            kwargs["pull_pairs"] = [(index[a], index[b]) for a, b in pulls]
        # whole molecules first: a new bond may join atoms of two periodic images (see make_molecules_whole)
        percolating = self.graph.make_molecules_whole()
        pos, box, info = relax(system, self.graph.positions_array()[order], self.graph.box,
                               [(index[a], index[b]) for a, b in new_bonds], kwargs.pop("settings", self.spec.relax),
                               self.platform, derive_seed(self.spec.seed, seed_purpose), npt=percolating == 0,
                               **kwargs)
        self.graph.set_positions(order, pos, box)
        return info

    def elapsed(self) -> float:
        return time.perf_counter() - self.t_start

    def save_checkpoint(self, progress: CrosslinkProgress) -> None:
        """Write the build's state after a completed cycle (:mod:`systems.network.checkpoint`)."""
        if self.checkpoint_path is None:
            return
        save_checkpoint(self.checkpoint_path, BuildCheckpoint(
            key=spec_key(self.spec), graph=self.graph, growth=self.growth, history=self.history, progress=progress,
            partner_rng_state=None if self.partner_rng is None else self.partner_rng.bit_generator.state,
            elapsed_s=self.elapsed()))

    def resume_from(self, saved: BuildCheckpoint) -> CrosslinkProgress:
        """Take over a checkpoint's growth, history, generator and time spent; rebuild its System."""
        self.growth, self.history = saved.growth, saved.history
        self.partner_rng = saved.partner_rng()
        self.t_start = time.perf_counter() - saved.elapsed_s
        self.rebuild()
        return saved.progress


def _pre_equilibrate(run: _Crosslinker) -> None:
    """Minimise and run ``pre_md_steps`` of MD on the packed box (step 2)."""
    run.relax("pre", md_steps=run.spec.pre_md_steps, stage="pre-equilibration")
    run.history.append({"cycle": 0, "conversion": 0.0, "new_bonds": 0, "cutoff_nm": run.spec.crosslink.bond_cutoff_nm,
                        "box_nm": run.graph.box.tolist(), "wall_time_s": run.elapsed()})


def _round_of_bonds(run: _Crosslinker, cutoff: float) -> tuple[list[Candidate], dict]:
    """One selection round: the growth candidates within ``cutoff`` through the rules, formed in the graph."""
    c, graph = run.spec.crosslink, run.graph
    chosen, report = select_bonds(graph, run.growth.candidates(graph, cutoff, run.partner_rng), c.min_ring_size,
                                  c.min_loop_units,
                                  max_initiations=run.growth.initiations_left)
    for cand in chosen:
        graph.form_bond(cand.site_x, cand.site_y)
        run.growth.record(cand)
    return chosen, asdict(report)


def _grow(run: _Crosslinker, cutoff: float) -> tuple[list[Candidate], list[dict], float]:
    """Up to ``propagation_rounds`` rounds of bonds. After a round in which some living end or initiator found
    no partner, the cutoff grows by cutoff_step (never beyond max_bond_cutoff, nor MAX_CUTOFF_BOX_FRACTION of
    the box; it never shrinks); a round that forms no bond at the largest cutoff ends the cycle."""
    c, graph = run.spec.crosslink, run.graph
    max_cutoff = min(c.max_bond_cutoff_nm, MAX_CUTOFF_BOX_FRACTION * float(graph.box.min()))
    cutoff = min(cutoff, max_cutoff)
    chosen: list[Candidate] = []
    reports: list[dict] = []
    while len(reports) < c.propagation_rounds and graph.conversion() < c.target_conversion:
        wanted = len(run.growth.living) + run.growth.initiations_left
        more, report = _round_of_bonds(run, cutoff)
        reports.append(report)
        chosen += more
        if len(more) < wanted and cutoff < max_cutoff - 1e-9:
            cutoff = min(max_cutoff, cutoff + c.cutoff_step_nm)
        elif not more:
            break
    return chosen, reports, cutoff


def _pull_pairs(run: _Crosslinker) -> list[Candidate]:
    """The next partner of every living end (and of every initiator left), within half the box and passing
    the selection rules: pulled towards each other during the cycle's MD (module notes, step 4)."""
    graph, c = run.graph, run.spec.crosslink
    far = run.growth.candidates(graph, PULL_RANGE_BOX_FRACTION * float(graph.box.min()))
    far, _ = select_bonds(graph, far, c.min_ring_size, c.min_loop_units, max_initiations=run.growth.initiations_left)
    return far


def _pulled(run: _Crosslinker, far: list[Candidate]) -> list[tuple[int, int]]:
    return [(run.graph.sites[f.site_x].x, run.graph.sites[f.site_y].y) for f in far]


def _rejections(reports: list[dict]) -> str:
    """'3 candidates: 1 chosen, 2 site used | ...' per selection round, for the log."""
    def one(r: dict) -> str:
        why = ", ".join(f"{v} {k.removeprefix('rejected_').replace('_', ' ')}" for k, v in r.items()
                        if k.startswith("rejected_") and v)
        return f"{r['candidates_within_cutoff']} candidates: {r['selected']} chosen" + (f", {why}" if why else "")
    return " | ".join(one(r) for r in reports)


def _md_only_cycle(run: _Crosslinker, cycle: int, cutoff: float) -> None:
    """No pair in reach: MD (4x relax MD) with the closest out-of-reach growth pairs pulled together (step 4)."""
    graph, c = run.graph, run.spec.crosslink
    far = _pull_pairs(run)
    run.relax(f"cycle-{cycle}", md_steps=4 * run.spec.relax.md_steps, stage=f"MD-only cycle {cycle}",
              pulls=_pulled(run, far), pull_to_nm=PULL_TARGET_FRACTION * cutoff)
    run.history.append({"cycle": cycle, "cutoff_nm": cutoff, "new_bonds": 0, "md_only": True,
                        "pulled_pairs": len(far), "pulled_pair_distances_nm": [round(f.distance_nm, 4) for f in far],
                        "living_ends": len(run.growth.living), "conversion": graph.conversion(),
                        "box_nm": graph.box.tolist(), "wall_time_s": run.elapsed()})
    logger.info("cycle %d: no pair within %.2f nm, MD only, %d pair(s) pulled together (%s nm apart)", cycle, cutoff,
                len(far), [round(f.distance_nm, 2) for f in far])


def _undo_unrelaxed(run: _Crosslinker, new: list[Candidate]) -> list[Candidate]:
    """Break the new bonds that relaxation left longer than max_bond_length (they are counted, not fatal)."""
    graph, limit = run.graph, run.spec.crosslink.max_bond_length_nm
    pos = graph.positions_array()
    undone = []
    for cand in reversed(new):  # reverse order: a later propagation step may hang on an earlier one
        x, y = graph.sites[cand.site_x].x, graph.sites[cand.site_y].y
        if np.linalg.norm(minimum_image(pos[y] - pos[x], graph.box)) > limit:
            graph.break_bond(cand.site_x, cand.site_y)
            run.growth.undo(cand)
            undone.append(cand)
    return undone


def _relax_surviving_blow_ups(run: _Crosslinker, cycle: int, new: list[tuple[int, int]], pulls: dict
                              ) -> tuple[dict, list[str]]:
    """Relax a cycle's new bonds; if the MD blows up (NaN, runaway energy or temperature: a bond ramped in
    through a crowded spot can do that at 4 fs), relax again from the pre-cycle positions at half the time step
    and twice the steps; if that blows up too, only minimise with the bonds present (the caller then takes the
    cycle's bonds back). The graph keeps its pre-cycle positions until a relaxation succeeds, so every retry
    starts from the same configuration. Returns the relaxation info and the blow-up messages (0-2)."""
    blow_ups = []
    gentle = replace(run.spec.relax, timestep_ps=run.spec.relax.timestep_ps / 2, md_steps=2 * run.spec.relax.md_steps)
    for purpose, settings in ((f"cycle-{cycle}", run.spec.relax), (f"cycle-{cycle}-gentle", gentle)):
        try:
            return run.relax(purpose, new_bonds=new, stage=f"crosslink cycle {cycle}", settings=settings,
                             **pulls), blow_ups
        except SimulationError as blow_up:
            logger.warning("cycle %d: relaxation blew up (%s); %s", cycle, blow_up,
                           "retrying at half the time step" if not blow_ups else "taking the cycle's bonds back")
            blow_ups.append(str(blow_up)[:300])
    return run.relax(f"cycle-{cycle}-minimised", new_bonds=new, stage=f"crosslink cycle {cycle} (minimised only)",
                     md_steps=0), blow_ups


def _undo_all(run: _Crosslinker, chosen: list[Candidate]) -> list[Candidate]:
    """Break every bond of ``chosen`` still formed (latest first) and hand the sites back to growth."""
    undone = []
    for cand in reversed(chosen):
        if run.graph.sites[cand.site_x].x_partner == cand.site_y:  # not already undone as unrelaxed
            run.graph.break_bond(cand.site_x, cand.site_y)
            run.growth.undo(cand)
        undone.append(cand)
    return undone


def _bond_cycle(run: _Crosslinker, cycle: int, cutoff: float, chosen: list[Candidate], reports: list[dict]) -> None:
    """Ramp the bonds formed this cycle in and relax; undo the ones that cannot be relaxed (step 3)."""
    graph = run.graph
    new = [(graph.sites[cand.site_x].x, graph.sites[cand.site_y].y) for cand in chosen]
    far = _pull_pairs(run)
    pulls = dict(pulls=_pulled(run, far), pull_to_nm=PULL_TARGET_FRACTION * cutoff)
    info, blow_ups = _relax_surviving_blow_ups(run, cycle, new, pulls)
    undone = _undo_unrelaxed(run, chosen)
    if len(blow_ups) == 2:  # not even the gentler relaxation survived: the cycle's bonds are taken back
        undone = _undo_all(run, chosen)
    if undone:
        info = run.relax(f"cycle-{cycle}-undone", md_steps=0, stage=f"crosslink cycle {cycle}, unrelaxed bonds undone")
    entry = {"cycle": cycle, "cutoff_nm": cutoff, "new_bonds": len(chosen) - len(undone), "blow_ups": blow_ups,
             "initiations": sum(c.initiation for c in chosen if c not in undone),
             "undone_bonds": len(undone), "new_bond_distances_nm": [round(x.distance_nm, 4) for x in chosen],
             "living_ends": len(run.growth.living), "pulled_pairs": len(far),
             "conversion": graph.conversion(), "selection_rounds": reports,
             "potential_energy_kJ_per_mol": info["potential_energy_kJ_per_mol"],
             "max_bond_length_nm": float(_bond_lengths(graph).max()), "ensemble": info["ensemble"],
             "box_nm": graph.box.tolist(), "wall_time_s": run.elapsed()}
    run.history.append(entry)
    logger.info("cycle %d: %d new bonds (%d undone, cutoff %.2f nm), %d living ends, conversion %.1f%%, %s, %.0f s; "
                "rounds: %s", cycle, entry["new_bonds"], len(undone), cutoff, entry["living_ends"],
                100 * graph.conversion(), info["ensemble"], entry["wall_time_s"], _rejections(reports))


def _crosslink(run: _Crosslinker, progress: CrosslinkProgress) -> tuple[int, str | None]:
    """Cycles until the target conversion (steps 3-4), from ``progress`` (a fresh build or a checkpoint's),
    checkpointing after every cycle; returns (cycles run, failure reason or None)."""
    c = run.spec.crosslink
    cutoff, cycle, stalled = progress.cutoff_nm, progress.cycle, progress.stalled
    while run.graph.conversion() < c.target_conversion:
        if cycle >= c.max_cycles:
            return cycle, f"the cycle limit max_cycles = {c.max_cycles} was reached"
        if not run.growth.wants_more():
            return cycle, "no living chain end and no initiator is left (every chain has been undone or trapped)"
        cycle += 1
        chosen, reports, cutoff = _grow(run, cutoff)
        if chosen:
            stalled = 0
            _bond_cycle(run, cycle, cutoff, chosen, reports)
        else:
            stalled += 1
            if stalled > c.max_stall_cycles:
                return cycle, (f"no growth pair (a living end and an unreacted group, or an initiating pair) came "
                               f"within the largest cutoff {min(c.max_bond_cutoff_nm, MAX_CUTOFF_BOX_FRACTION * float(run.graph.box.min())):.2f} nm "
                               f"passing the ring, loop and geometry checks, in {c.max_stall_cycles} MD-only "
                               "cycles with the closest out-of-reach pairs pulled together")
            _md_only_cycle(run, cycle, cutoff)
        run.save_checkpoint(CrosslinkProgress(cycle=cycle, cutoff_nm=cutoff, stalled=stalled))
    return cycle, None


def _not_reached(run: _Crosslinker, cycle: int, failure: str, work: Path | None) -> ConversionNotReachedError:
    """The error for a target conversion not reached; network.partial.json is left for diagnosis."""
    graph, spec = run.graph, run.spec
    message = (f"systems.{spec.system}: target conversion {spec.crosslink.target_conversion:.1%} not reached: "
               f"{failure}; conversion reached {graph.conversion():.1%} after {cycle} cycle(s) "
               f"({len(graph.network_bonds)} bonds, {graph.conversion() * run.n_groups:.0f} of {run.n_groups} "
               "groups). Raise max_cycles or max_bond_cutoff, or lower target_conversion")
    if work is not None:
        write_json_atomic(work / "network.partial.json", {"error": message, "history": run.history,
                                                          "seed": spec.seed})
    return ConversionNotReachedError(message, conversion=graph.conversion(), cycles=cycle, history=run.history)


def _final_relaxation(run: _Crosslinker) -> int:
    """More minimisation + MD until every bond is within the limit (at most 3 rounds); a network bond still
    too long then is broken and counted (never fatal); returns the rounds."""
    rounds = 0
    while _bond_lengths(run.graph).max() > run.spec.crosslink.max_bond_length_nm and rounds < 3:
        rounds += 1
        run.relax(f"final-{rounds}", settings=replace(run.spec.relax, final_min_iterations=1000),
                  stage=f"final relaxation {rounds}")
    graph, limit = run.graph, run.spec.crosslink.max_bond_length_nm
    pos = graph.positions_array()
    long = [(i, j) for i, j in graph.network_bonds
            if np.linalg.norm(minimum_image(pos[graph.sites[j].y] - pos[graph.sites[i].x], graph.box)) > limit]
    for i, j in long:
        graph.break_bond(i, j)
        run.growth.undone += 1
    run.final_undone = len(long)
    if long:
        logger.info("final relaxation: %d network bond(s) still longer than %.2f nm broken", len(long), limit)
        run.relax("final-undone", md_steps=0, stage="final relaxation, unrelaxed bonds undone")
    return rounds


def _check_network(run: _Crosslinker) -> np.ndarray:
    """Valence, bond lengths (minimum image) and neutrality after the last relaxation (step 5)."""
    graph, limit = run.graph, run.spec.crosslink.max_bond_length_nm
    problems = graph.valence_problems()
    if problems:
        raise NetworkBuildError("valence check failed after building:\n  " + "\n  ".join(problems[:20]))
    lengths = _bond_lengths(graph)
    if lengths.max() > limit:
        pairs = [k for k in graph.bonds if graph.present[k[0]] and graph.present[k[1]]]
        a, b = pairs[int(np.argmax(lengths))]
        owner = {x: r.name for r in graph.residues for x in r.atoms}
        network = {tuple(sorted((graph.sites[i].x, graph.sites[j].y))) for i, j in graph.network_bonds}
        raise NetworkBuildError(f"after relaxation the longest bond is {lengths.max():.3f} nm, above the limit "
                                f"max_bond_length = {limit} nm: {owner[a]}:{graph.names[a]} - "
                                f"{owner[b]}:{graph.names[b]} ({'network' if (a, b) in network else 'residue'} bond)")
    report = run.current[3]
    if abs(report.total_charge_e) > 1e-4:
        raise NetworkBuildError(f"the built system carries {report.total_charge_e:.6f} e; it must be neutral")
    return lengths


def build_network(spec: NetworkBuildSpec, out_dir: Path | None = None,
                  template_dir: Path | Sequence[Path] = TEMPLATE_DIR) -> BuildResult:
    """Build the network of ``spec``; write its files into ``out_dir`` (module notes, "Outputs").

    ``template_dir``: the read-only residue-template cache folder(s) (default: the shipped templates). The
    templates the build uses are copied, or generated, into ``<out_dir>/templates`` (a temporary folder when
    ``out_dir`` is None); nothing is written into a cache folder.
    """
    t_start = time.perf_counter()
    prep = _prepare(spec)
    platform, platform_record = choose_build_platform(spec)
    cache_dirs = [Path(template_dir)] if isinstance(template_dir, (str, Path)) else [Path(d) for d in template_dir]
    with contextlib.ExitStack() as stack:
        work = Path(out_dir) if out_dir is not None else None
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
        templates_dir = (work / TEMPLATES_SUBDIR if work is not None
                         else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gelmd-templates-"))))
        templates = _collect_templates(spec, prep, templates_dir, cache_dirs)
        checkpoint_path = work / CHECKPOINT_NAME if work is not None else None
        saved = load_checkpoint(checkpoint_path, spec_key(spec)) if checkpoint_path is not None else None
        graph = saved.graph if saved is not None else _pack(spec, prep.species, prep.model, prep.counts, work)
        logger.info("%s %d atoms, %d monomers (%d groups), box %.3f nm",
                    "resumed from the checkpoint:" if saved is not None else "packed", sum(graph.present),
                    prep.counts[spec.monomer.name], prep.n_groups, graph.box[0])
        run = _Crosslinker(spec, graph, platform, templates_dir, prep.ion_residues, prep.n_groups, t_start,
                           growth=ChainGrowth(initiations_left=prep.kinetic_chains),
                           partner_rng=(np.random.default_rng(derive_seed(spec.seed, "partner_choice"))
                                        if spec.crosslink.partner_choice == "random" else None),
                           checkpoint_path=checkpoint_path)
        if saved is not None:
            progress = run.resume_from(saved)
            logger.info("resuming after cycle %d (conversion %.1f%%, %.0f s spent before)", progress.cycle,
                        100 * graph.conversion(), saved.elapsed_s)
        else:
            _pre_equilibrate(run)
            progress = CrosslinkProgress(cutoff_nm=spec.crosslink.bond_cutoff_nm)
            run.save_checkpoint(progress)
        cycle, failure = _crosslink(run, progress)
        if failure is not None:
            error = _not_reached(run, cycle, failure, work)
            _remove_checkpoint(checkpoint_path)
            raise error
        final_rounds = _final_relaxation(run)
        lengths = _check_network(run)
    system, topology, order, report = run.current
    positions = graph.positions_array()[order]
    record = _record(spec, prep, run, cycle, final_rounds, lengths, templates, work)
    record.update(platform_record)
    if work is not None:
        _write_outputs(work, topology, positions, system, graph, record)
        _remove_checkpoint(checkpoint_path)
    return BuildResult(graph=graph, system=system, topology=topology, positions_nm=positions, record=record,
                       templates={r: Path(info["path"]) for r, info in templates.items()})


def _remove_checkpoint(path: Path | None) -> None:
    """A finished or failed build leaves no checkpoint behind (a rerun must start afresh)."""
    if path is not None:
        path.unlink(missing_ok=True)


def _template_record(templates: dict[str, dict], work: Path | None) -> dict:
    """residue -> template file (relative to the output folder) and where it came from."""
    out = {}
    for residue, info in sorted(templates.items()):
        path = Path(info["path"])
        shown = str(path.relative_to(work)) if work is not None and path.is_relative_to(work) else str(path)
        out[residue] = {"file": shown, "source": info["source"],
                        **({"network_template_key": info["network_template_key"]}
                           if "network_template_key" in info else {})}
    return out


def _record(spec: NetworkBuildSpec, prep: _Prepared, run: _Crosslinker, cycle: int, final_rounds: int,
            lengths: np.ndarray, templates: dict[str, dict], work: Path | None) -> dict:
    """network.json: what was built, how, and with which settings, templates and software."""
    c, model, graph = spec.crosslink, prep.model, run.graph
    system, topology, _, report = run.current
    volume = float(np.prod(graph.box))
    measures = network_measures(graph, volume)
    wall = run.elapsed()
    return {
        "system": spec.system,
        "seed": spec.seed,
        "spec_key": spec_key(spec),  # systems.network.checkpoint: which spec this build is (for resumed attempts)
        "monomer": {"name": spec.monomer.name, "smiles": spec.monomer.smiles, "reaction_type": model.reaction.name,
                    "reaction": model.reaction.description, "groups_per_monomer": model.n_groups,
                    "residues": {k: t.residue_names for k, t in model.piece_types.items()}},
        "composition": {**prep.count_info, "counts": prep.counts},
        "n_atoms": topology.getNumAtoms(),
        "n_residues": topology.getNumResidues(),
        "species": {name: {"smiles": prep.species[name].smiles, "residue": prep.species[name].residue, "count": n,
                           **({"residues": sorted(model.residue_names())} if name == spec.monomer.name else {})}
                    for name, n in prep.counts.items()},
        "box_nm": graph.box.tolist(),
        "target_conversion": c.target_conversion,
        "cycles": cycle,
        "final_relaxation_rounds": final_rounds,
        "undone_bonds": run.growth.undone,
        "final_undone_bonds": run.final_undone,
        "undone_bonds_definition": ("bonds formed and broken again because relaxation left them longer than "
                                    "max_bond_length (cycles' and final relaxation's)"),
        "history": run.history,
        **measures,
        "max_bond_length_nm": float(lengths.max()),
        "max_bond_length_limit_nm": c.max_bond_length_nm,
        "total_charge_e": report.total_charge_e,
        "ion_residues": sorted(prep.ion_residues),
        "settings": {"crosslink": asdict(c), "relax": asdict(spec.relax),
                     "polymer_weight_fraction": spec.polymer_weight_fraction,
                     "nonbonded_cutoff_nm": spec.nonbonded_cutoff_nm, "ion_charge_scale": spec.ion_charge_scale,
                     "pre_md_steps": spec.pre_md_steps, "packing_density_fraction": spec.packing_density_fraction},
        "chain_ends": model.reaction.description,
        "template_dir": TEMPLATES_SUBDIR if work is not None else None,
        "templates": {r: info["file"] for r, info in _template_record(templates, work).items()},
        "template_sources": _template_record(templates, work),
        "periodic_bonded_forces": True,
        "density_g_per_cm3": _density(system, volume),
        "software": {"openmm": openmm.__version__, "python": _platform.python_version()},
        "wall_time_s": wall,
        "conversion_per_minute": measures["conversion"] / (wall / 60.0),
    }


def _density(system: openmm.System, volume_nm3: float) -> float:
    mass = sum(system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(system.getNumParticles()))
    return mass / AVOGADRO_PER_MOL / (volume_nm3 / NM3_PER_CM3)


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
                       "state": "state.xml", "network": "network.json", "templates": TEMPLATES_SUBDIR}
    write_json_atomic(out / "network.json", record)
