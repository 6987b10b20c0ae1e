"""Force fields: GAFF2 atom typing, RESP charges, residue templates and OpenMM System building."""
