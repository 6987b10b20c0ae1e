"""DFT molecular descriptors (Na binding, charge transfer, LUMO) with pyscf; cached with provenance."""
