"""Per-cycle checkpoint of a network build: a build that outlives its job resumes where it stopped.

A paper-scale gel (~25,000 atoms, ~30 crosslinking cycles of >= 10 ps MD each) takes hours on a CPU and
can outlive a Slurm time limit or a workstation session. After the pre-equilibration and after every
crosslinking cycle the builder writes ``build.checkpoint.pkl`` into its output folder: the graph (atoms,
bonds, reactive sites, positions in nm, box in nm), the chain-growth bookkeeping (living ends, kinetic
chains, initiators left), the cycle history, the loop state (cycle, capture cutoff in nm, MD-only cycles in
a row), the seeded partner-order generator and the wall time spent so far. A build started again on the
same folder with the same spec continues from the last completed cycle; every later random choice is
seeded by the cycle's name (:func:`common.seeds.derive_seed`), so on one CPU thread the resumed build is
the uninterrupted one, bond for bond.

A checkpoint is trusted only for the spec that wrote it: its key is a hash of every field of the
:class:`~systems.network.builder.NetworkBuildSpec` except the engine fields (platform, CPU threads), which
choose how fast the MD runs, not what it does, and the crosslink limits ``max_cycles`` and ``max_stall_cycles``,
which only decide when the build gives up: an interrupted build that is seen to need more cycles than planned
resumes under a raised limit (a lowered one below the checkpoint's cycle stops it at once, as a failure; a
build that reaches its limit fails and leaves no checkpoint). A checkpoint of another spec (a changed config,
another build attempt's seed) or of another format version is ignored with a warning, and the build starts
afresh.
The file is written atomically (a half-written checkpoint never replaces a good one) and removed when the
build ends, finished or failed. It is a Python pickle: it is read only from the build's own output folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem

from common.io import atomic_path

CHECKPOINT_NAME = "build.checkpoint.pkl"
SCHEMA = "gelmd.network.build-checkpoint/1"
# spec fields that choose the engine, not the physics: a build may resume on another platform or thread count
ENGINE_FIELDS = ("platform", "cpu_threads")
# crosslink limits that only decide when a build gives up: up to the limit the build is the same, so an
# interrupted build that needs more cycles than planned can resume under a raised limit
LIMIT_FIELDS = ("max_cycles", "max_stall_cycles")

logger = logging.getLogger(__name__)


def spec_key(spec: Any) -> str:
    """SHA-256 of the build spec's fields (engine fields and the crosslink limits left out), as canonical JSON."""
    fields = {k: v for k, v in dataclasses.asdict(spec).items() if k not in ENGINE_FIELDS}
    fields["crosslink"] = {k: v for k, v in fields["crosslink"].items() if k not in LIMIT_FIELDS}
    text = json.dumps(fields, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class CrosslinkProgress:
    """Where the crosslinking loop stands after a completed cycle."""

    cycle: int = 0  # cycles completed
    cutoff_nm: float = 0.5  # current capture cutoff (it never shrinks)
    stalled: int = 0  # MD-only cycles in a row


@dataclass
class BuildCheckpoint:
    """What a build needs to continue: graph, growth, history, loop state, generator, time spent."""

    key: str
    graph: Any  # systems.network.graph.NetworkGraph
    growth: Any  # systems.network.growth.ChainGrowth
    history: list
    progress: CrosslinkProgress
    partner_rng_state: dict | None
    elapsed_s: float
    schema: str = SCHEMA

    def partner_rng(self) -> np.random.Generator | None:
        """The partner-order generator in the state it was saved in (None for ``partner_choice: nearest``)."""
        if self.partner_rng_state is None:
            return None
        rng = np.random.default_rng()
        rng.bit_generator.state = self.partner_rng_state
        return rng


def save_checkpoint(path: Path, checkpoint: BuildCheckpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically (RDKit molecules keep their atom properties)."""
    previous = Chem.GetDefaultPickleProperties()
    Chem.SetDefaultPickleProperties(Chem.PropertyPickleOptions.AllProps)
    try:
        with atomic_path(Path(path)) as tmp:
            with open(tmp, "wb") as handle:
                pickle.dump(checkpoint, handle, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        Chem.SetDefaultPickleProperties(previous)


def load_checkpoint(path: Path, key: str) -> BuildCheckpoint | None:
    """The checkpoint at ``path`` if it exists and was written for the spec of ``key``; None otherwise."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with open(path, "rb") as handle:
            checkpoint = pickle.load(handle)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as error:
        logger.warning("ignoring the unreadable build checkpoint %s (%s); starting afresh", path, error)
        return None
    if not isinstance(checkpoint, BuildCheckpoint) or checkpoint.schema != SCHEMA:
        logger.warning("ignoring the build checkpoint %s: written by another version (%s, expected %s); "
                       "starting afresh", path, getattr(checkpoint, "schema", "unknown"), SCHEMA)
        return None
    if checkpoint.key != key:
        logger.warning("ignoring the build checkpoint %s: it was written for another build spec (config or seed "
                       "changed); starting afresh", path)
        return None
    return checkpoint
