"""Regenerating one cached network template (RESP on its capped fragment) reproduces the cached file."""

from __future__ import annotations

import pytest

from forcefields.residue_templates import read_residue_templates
from forcefields.system_factory import TEMPLATE_DIR
from systems.network.monomer import build_monomer_model
from systems.network.templates import ensure_templates, generate_template
from systems.species import BUILTIN_SPECIES


@pytest.mark.qm
def test_regenerated_core_template_matches_cache(tmp_path):
    model = build_monomer_model("TPA", BUILTIN_SPECIES["TPA"].smiles, "radical_acrylate", "TPA")
    core = model.piece_types["core0"]
    generate_template(model, core, "", tmp_path / "TPX.xml")
    new = read_residue_templates(tmp_path / "TPX.xml")["TPX"]
    cached = read_residue_templates(TEMPLATE_DIR / "TPX.xml")["TPX"]
    assert new.atom_names == cached.atom_names and new.types == cached.types
    assert new.external_bonds == cached.external_bonds == ("C3", "C3", "C3")
    assert new.total_charge == 0.0
    assert max(abs(a - b) for a, b in zip(new.charges, cached.charges)) < 2e-3
    assert new.provenance["network_template_key"] == cached.provenance["network_template_key"]


def test_cache_refuses_a_template_made_for_another_monomer(tmp_path):
    (tmp_path / "TPX.xml").write_text((TEMPLATE_DIR / "TPX.xml").read_text())
    other = build_monomer_model("TPB", "CCCC(COC(=O)C=C)(COC(=O)C=C)COC(=O)C=C", "radical_acrylate", "TPA")
    with pytest.raises(Exception, match="another monomer"):
        ensure_templates(other, tmp_path, states={"core0": ("",), "arm0": ()})
