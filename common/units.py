"""Quantities written with units in YAML (``"300 K"``, ``"2 fs"``, ``"1 mol/L"``) and their conversion.

Each quantity is parsed once at the config boundary into plain floats in gelmd's internal units, which
are OpenMM's: nm, ps, K, bar, kJ/mol, g/mol (amu), mol/L, g/cm^3 (Pa s for viscosity, nm/ps^2 for acceleration). A wrong unit raises
:class:`common.errors.UnitError` naming the key, the text and the units that are allowed.
"""

from __future__ import annotations

import re

from common.errors import UnitError

# dimension -> {unit spelling: factor to the internal unit}
_UNITS: dict[str, dict[str, float]] = {
    "temperature": {"K": 1.0},
    "time": {"fs": 1e-3, "ps": 1.0, "ns": 1e3, "us": 1e6},
    "length": {"A": 0.1, "Å": 0.1, "angstrom": 0.1, "nm": 1.0},
    "pressure": {"bar": 1.0, "atm": 1.01325, "Pa": 1e-5, "kPa": 1e-2, "MPa": 10.0},
    "concentration": {"mol/L": 1.0, "M": 1.0, "mmol/L": 1e-3, "mM": 1e-3},
    "mass": {"amu": 1.0, "Da": 1.0, "g/mol": 1.0},
    "density": {"g/cm^3": 1.0, "g/cm3": 1.0, "g/mL": 1.0, "kg/m^3": 1e-3},
    "rate": {"1/ps": 1.0, "/ps": 1.0, "1/fs": 1e3, "/fs": 1e3},
    "energy": {"kJ/mol": 1.0, "kcal/mol": 4.184},
    "viscosity": {"Pa s": 1.0, "Pa*s": 1.0, "Pa.s": 1.0, "Pa·s": 1.0, "mPa s": 1e-3, "mPa*s": 1e-3,
                  "mPa.s": 1e-3, "mPa·s": 1e-3, "cP": 1e-3, "P": 0.1},
    "acceleration": {"nm/ps^2": 1.0, "nm/ps2": 1.0, "nm ps^-2": 1.0, "m/s^2": 1e-15},
}

INTERNAL_UNIT = {
    "temperature": "K",
    "time": "ps",
    "length": "nm",
    "pressure": "bar",
    "concentration": "mol/L",
    "mass": "amu",
    "density": "g/cm^3",
    "rate": "1/ps",
    "energy": "kJ/mol",
    "viscosity": "Pa s",
    "acceleration": "nm/ps^2",
}

_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)?\s*$")


def parse_quantity(text: str | int | float, dimension: str, key: str = "value") -> float:
    """Read ``"<number> <unit>"`` and return the number in the internal unit of ``dimension``.

    A bare number is refused: every physical value in a config carries its unit.
    """
    if dimension not in _UNITS:
        raise ValueError(f"unknown dimension {dimension!r}; known: {sorted(_UNITS)}")
    allowed = ", ".join(_UNITS[dimension])
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise UnitError(f"{key}: expected a {dimension} written as '<number> <unit>' with unit one of "
                        f"[{allowed}], got {text!r}")
    match = _NUMBER_UNIT.match(str(text))
    if match is None or match.group(2) is None:
        raise UnitError(f"{key}: {text!r} is not '<number> <unit>'; a {dimension} needs a unit, one of "
                        f"[{allowed}] (e.g. '{_example(dimension)}')")
    number, unit = float(match.group(1)), match.group(2)
    factor = _UNITS[dimension].get(unit)
    if factor is None:
        raise UnitError(f"{key}: unit {unit!r} in {text!r} is not a {dimension} unit; allowed: [{allowed}]")
    return number * factor


def format_quantity(value: float, dimension: str) -> str:
    """Write an internal-unit value back as text, e.g. ``format_quantity(298.15, "temperature")``."""
    return f"{value:g} {INTERNAL_UNIT[dimension]}"


def _example(dimension: str) -> str:
    return {"temperature": "298.15 K", "time": "2 fs", "length": "1.0 nm", "pressure": "1 bar",
            "concentration": "1 mol/L", "mass": "3.024 amu", "density": "1.2 g/cm^3",
            "rate": "1 /ps", "energy": "10 kJ/mol",
            "viscosity": "2.5 mPa s", "acceleration": "0.05 nm/ps^2"}[dimension]
