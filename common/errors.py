"""The one exception family of gelmd.

Every error names what is wrong, the value that was given and what is allowed, so that a user can fix
their input without reading our code. Errors about bad input subclass ``ValueError`` as well.
"""


class GelmdError(Exception):
    """Base class of every error raised on purpose by gelmd."""


class ConfigError(GelmdError, ValueError):
    """A configuration key, value or unit that is not allowed."""


class UnitError(ConfigError):
    """A quantity string whose number or unit cannot be read, or whose unit has the wrong dimension."""


class SpeciesError(GelmdError, ValueError):
    """An unknown species name or a SMILES the toolkit cannot handle."""


class AtomTypingError(GelmdError, ValueError):
    """Atoms for which no GAFF2 rule in our typer applies."""


class ChargeError(GelmdError):
    """A charge calculation (QM or RESP fit) that failed or gave an unphysical result."""


class ParameterError(GelmdError, ValueError):
    """A force-field parameter or residue template that is missing or inconsistent."""


class SimulationError(GelmdError):
    """A simulation that cannot go on (NaN, energy blow-up, no usable platform)."""


class AnalysisError(GelmdError, ValueError):
    """Analysis input that cannot give a meaningful number (too few frames, no ions, mismatch)."""


class InputFileError(GelmdError, FileNotFoundError):
    """A file the step needs that does not exist or cannot be read."""


class DescriptorError(GelmdError):
    """A DFT descriptor calculation that failed, or a descriptor cache that does not match its inputs."""
