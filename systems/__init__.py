"""Building simulation systems: species from SMILES, composition, packing, networks, the Na slab."""
