"""The OpenMM engine of gelmd: it runs a System (XML) from a State (XML) on a topology (PDB) and knows no chemistry.

Modules, one idea each:

- :mod:`simulation.settings`     the resolved settings file (SETTINGS.json) the command-line tools read;
- :mod:`simulation.platform`     which OpenMM platform runs, with which properties (never OpenCL unless asked);
- :mod:`simulation.state_io`     portable System/State XML and topology files, written atomically;
- :mod:`simulation.system_prep`  hydrogen mass repartitioning, barostats, flexible copies for NPT, degrees of freedom, total mass;
- :mod:`simulation.reporters`    the run log, progress/energy CSV, blow-up guard and DCD trajectory reporters;
- :mod:`simulation.runner`       a Simulation on the chosen platform, stepped with loud failures;
- :mod:`simulation.protocol`     minimisation, NVT heating and NPT equilibration with a density convergence rule;
- :mod:`simulation.production`   chunked, checkpointed, resumable NVT production;
- :mod:`simulation.equilibrate`  and :mod:`simulation.produce`: the ``python -m`` entry points of the workflow.

Chemistry-free test systems (LJ fluid, OpenMM's own water, a percolating bead network, two-centre LJ N2)
are test code and live in ``tests/testsystems.py``.
"""
