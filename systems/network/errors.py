"""Errors of the network builder (all in gelmd's one exception family, :mod:`common.errors`)."""

from __future__ import annotations

from common.errors import GelmdError, SpeciesError


class ReactionTypeError(SpeciesError):
    """A reaction type that is unknown or that does not match the monomer's SMILES."""


class MonomerSplitError(SpeciesError):
    """A monomer whose reactive groups cannot be cut into residues at single acyclic bonds."""


class NetworkBuildError(GelmdError, ValueError):
    """Bad network-build input (weight fraction, conversion, cutoffs...)."""


class ConversionNotReachedError(GelmdError):
    """The crosslinking loop stopped before the target conversion; carries the conversion reached."""

    def __init__(self, message: str, conversion: float, cycles: int, history: list | None = None):
        super().__init__(message)
        self.conversion = conversion
        self.cycles = cycles
        self.history = history or []
