"""Where the GAFF2 parameters come from: openmmforcefields' ``gaff-2.11.xml``.

That ffxml is generated from AmberTools' ``gaff-2.11.dat`` (Wang et al., J. Comput. Chem. 25 (2004) 1157;
GAFF2 release 2.11). Its NonbondedForce reads charges from residue templates
(``<UseAttributeFromResidue name="charge"/>``), so every molecule needs a template of ours that gives
atom types and RESP charges.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree

from common.errors import InputFileError

GAFF2_VERSION = "2.11"


@lru_cache(maxsize=1)
def gaff2_ffxml_path() -> Path:
    path = Path(str(resources.files("openmmforcefields"))) / "ffxml" / "amber" / "gaff" / "ffxml" / "gaff-2.11.xml"
    if not path.is_file():
        raise InputFileError(f"GAFF2 parameters not found at {path}: install the pinned openmmforcefields "
                             "(requirements.txt)")
    return path


@lru_cache(maxsize=1)
def gaff2_type_names() -> frozenset[str]:
    """Every atom type name defined in gaff-2.11.xml."""
    root = ElementTree.parse(gaff2_ffxml_path()).getroot()
    return frozenset(t.get("name") for t in root.find("AtomTypes"))
