"""Network unit templates: read from the shipped cache, written only into a build's own folder; regenerating
one (RESP on its capped fragment) reproduces the cached file."""

from __future__ import annotations

from pathlib import Path

import pytest

from forcefields.residue_templates import read_residue_templates
from forcefields.system_factory import TEMPLATE_DIR
from systems.network.monomer import build_monomer_model
from systems.network import templates as templates_mod
from systems.network.templates import ensure_templates, regenerate_command
from systems.species import BUILTIN_SPECIES


@pytest.mark.qm
def test_regenerated_core_template_matches_cache(tmp_path):
    model = build_monomer_model("TPA", BUILTIN_SPECIES["TPA"].smiles, "radical_acrylate", "TPA")
    # no cache folder: the template is generated (RESP) into the output folder, and only there
    done = ensure_templates(model, tmp_path, cache_dirs=[], states={"core0": ("",), "arm0": ()})
    assert done["TPX"]["source"] == "generated" and done["TPX"]["path"] == tmp_path / "TPX.xml"
    new = read_residue_templates(tmp_path / "TPX.xml")["TPX"]
    cached = read_residue_templates(TEMPLATE_DIR / "TPX.xml")["TPX"]
    assert new.atom_names == cached.atom_names and new.types == cached.types
    assert new.external_bonds == cached.external_bonds == ("C3", "C3", "C3")
    assert new.total_charge == 0.0
    assert max(abs(a - b) for a, b in zip(new.charges, cached.charges)) < 2e-3
    assert new.provenance["network_template_key"] == cached.provenance["network_template_key"]
    assert new.provenance["command"] == regenerate_command(model, tmp_path)


def test_cache_refuses_a_template_made_for_another_monomer(tmp_path):
    other = build_monomer_model("TPB", "CCCC(COC(=O)C=C)(COC(=O)C=C)COC(=O)C=C", "radical_acrylate", "TPA")
    with pytest.raises(Exception, match="another monomer"):
        ensure_templates(other, tmp_path / "out", [TEMPLATE_DIR], states={"core0": ("",), "arm0": ()})
    assert not (tmp_path / "out" / "TPX.xml").exists()


def test_cached_templates_are_copied_into_the_output_folder_not_written_to_the_cache(tmp_path, monkeypatch):
    def no_resp(*args, **kwargs):
        raise AssertionError("a cached template was regenerated")

    monkeypatch.setattr(templates_mod, "generate_template", no_resp)
    before = {str(p.relative_to(TEMPLATE_DIR)): (p.stat().st_mtime_ns, p.read_bytes())
              for p in TEMPLATE_DIR.rglob("*") if p.is_file()}
    model = build_monomer_model("TPA", BUILTIN_SPECIES["TPA"].smiles, "radical_acrylate", "TPA")
    out = tmp_path / "templates"
    done = ensure_templates(model, out)
    assert sorted(done) == ["TPE", "TPM", "TPS", "TPU", "TPX"]
    for residue, info in done.items():
        assert info["path"] == out / f"{residue}.xml"
        assert info["path"].read_bytes() == (TEMPLATE_DIR / f"{residue}.xml").read_bytes()  # provenance kept
        assert info["source"] == str(TEMPLATE_DIR / f"{residue}.xml")
    assert {str(p.relative_to(TEMPLATE_DIR)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in TEMPLATE_DIR.rglob("*") if p.is_file()} == before
    assert all(info["source"] == "kept" for info in ensure_templates(model, out).values())  # a resumed build


def test_shipped_network_templates_name_a_command_that_exists():
    for path in sorted(TEMPLATE_DIR.glob("*.xml")):
        for template in read_residue_templates(path).values():
            command = template.provenance.get("command", "")
            module = command.split()[2]
            assert module in ("forcefields.build_template", "systems.network.templates"), (path, command)
            if "network_template_key" in template.provenance:
                flags = [w for w in command.split() if w.startswith("--")]
                assert flags == ["--monomer", "--smiles", "--reaction", "--residue", "--out-dir", "--regenerate"]
                model = build_monomer_model(template.provenance["monomer"], template.provenance["monomer_smiles"],
                                            template.provenance["reaction_type"])
                assert command == regenerate_command(model, Path("forcefields/data/templates"))
