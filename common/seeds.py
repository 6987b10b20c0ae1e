"""Seed derivation: one reproducible, non-zero seed per random stream, from the config seed and a label.

OpenMM treats a seed of 0 as "choose one at random", so a derived seed of 0 must never reach it: every
seed returned here lies in [1, 2**31 - 1). Different purposes (``"npt-barostat"``, ``"network:relax:3"``)
get unrelated seeds, so no stream replays another.
"""

from __future__ import annotations

import hashlib

MAX_OPENMM_SEED = 2**31 - 1


def derive_seed(seed: int, purpose: str) -> int:
    """A reproducible seed in [1, 2**31 - 1) for the random stream named ``purpose`` under ``seed``."""
    digest = hashlib.sha256(f"{int(seed)}:{purpose}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "little") % (MAX_OPENMM_SEED - 1)
