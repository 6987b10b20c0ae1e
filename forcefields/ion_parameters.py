"""Which ion residues have force-field parameters: the residues defined in ``data/ions.xml``.

The config checks a system's cation and anion against this list before any job runs, so that a salt
without parameters is refused by name instead of failing in the parameterise stage.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

IONS_FFXML = Path(__file__).resolve().parent / "data" / "ions.xml"


def ion_residues_with_parameters(ffxml: Path = IONS_FFXML) -> frozenset[str]:
    """Residue names of the ion templates in ``ffxml`` (OpenMM ForceField XML), e.g. {"NA", "PF6"}."""
    root = ET.parse(ffxml).getroot()
    return frozenset(residue.get("name") for residue in root.iter("Residue"))
