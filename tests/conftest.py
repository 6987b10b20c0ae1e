"""The tiers of the test suite: fast unit tests (no marker), small end-to-end runs on OpenMM's CPU platform
(``integration``), pyscf calculations (``qm``) and CUDA checks (``gpu``, skipped without a GPU). Every tier
but ``gpu`` runs in ``make test``; shared helpers live in ``tests/configs.py``, ``tests/testsystems.py``
and ``tests/transport_synthetic.py``."""
