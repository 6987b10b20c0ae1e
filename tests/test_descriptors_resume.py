"""A descriptor calculation interrupted in its geometry optimisation and again between Na sites resumes from
its saved steps (descriptors/progress.py) and ends at the record an uninterrupted run gives.

Methyl formate (8 atoms, a carbonyl O and an ester O site) at a minimal level (STO-3G, SCREEN's grid level 1;
grid level 0 is too noisy for geomeTRIC's criteria: two runs ended 1e-4 Eh apart): the machinery, not the
chemistry, is under test.
"""

from __future__ import annotations

import dataclasses

import pytest

from descriptors import binding, compute, dft
from descriptors.cache import cache_file
from descriptors.levels import SCREEN
from descriptors.progress import SpeciesProgress, progress_file
from descriptors.species import DescriptorSpecies

TINY = dataclasses.replace(SCREEN, basis="sto-3g", geom_max_steps=40)
NAME = "methyl_formate"


class Interrupted(BaseException):
    """Stands for a killed process (a BaseException, like KeyboardInterrupt: nothing may catch it)."""


@pytest.fixture
def methyl_formate(monkeypatch):
    monkeypatch.setitem(compute.SPECIES, NAME, DescriptorSpecies(NAME, "COC=O", 0, "methyl formate (test)"))
    return NAME


@pytest.fixture
def reference(methyl_formate):
    return compute.compute_record(methyl_formate, TINY)


def test_interrupted_calculation_resumes_and_matches_an_uninterrupted_one(methyl_formate, reference, tmp_path,
                                                                         monkeypatch):
    assert {s["site"] for s in reference["sites"]} == {"carbonyl O", "ester O"}
    key = compute.expected_key(methyl_formate, TINY)[0]

    # session 1: killed after two optimisation steps
    real_step = SpeciesProgress.optimisation_step

    def step_then_die(self, xyz, energy):
        real_step(self, xyz, energy)
        if self.optimisation["steps"] == 2:
            raise Interrupted("killed in the optimisation")

    monkeypatch.setattr(SpeciesProgress, "optimisation_step", step_then_die)
    with pytest.raises(Interrupted):
        compute.get_or_compute(methyl_formate, tmp_path, TINY)
    monkeypatch.undo()
    monkeypatch.setitem(compute.SPECIES, NAME, DescriptorSpecies(NAME, "COC=O", 0, "methyl formate (test)"))
    saved = SpeciesProgress.peek(tmp_path, methyl_formate, key)
    assert saved.optimisation["steps"] == 2 and not saved.optimisation_finished
    assert not cache_file(tmp_path, methyl_formate).exists()
    # a report without computing names how far it got
    record, reason = compute.get_or_compute(methyl_formate, tmp_path, TINY, allow_compute=False)
    assert record is None and "optimisation at step 2" in reason

    # session 2: the optimisation continues; killed after the first Na site
    real_bind = binding.bind_at_site
    calls = {"n": 0}

    def bind_once_then_die(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Interrupted("killed between sites")
        return real_bind(*args, **kwargs)

    monkeypatch.setattr(binding, "bind_at_site", bind_once_then_die)
    with pytest.raises(Interrupted):
        compute.get_or_compute(methyl_formate, tmp_path, TINY)
    saved = SpeciesProgress.peek(tmp_path, methyl_formate, key)
    assert saved.optimisation_finished and saved.optimisation["restarts"] == 1
    assert saved.optimisation["steps"] > 2
    assert len(saved.data["sites"]) == 1

    # session 3: no optimisation step and only the missing site are computed
    def no_optimisation(*args, **kwargs):
        raise AssertionError("the finished optimisation was redone")

    calls["n"] = -100  # bind_once_then_die passes through from here
    monkeypatch.setattr(dft, "optimise", no_optimisation)
    record, status = compute.get_or_compute(methyl_formate, tmp_path, TINY)
    assert status == "computed" and calls["n"] == -99  # one site computed in this session
    assert not progress_file(tmp_path, methyl_formate).exists()
    assert record["resumed"] == {"sessions": 3, "optimisation_restarts": 1}
    assert record["wall_s"]["total_s"] >= record["wall_s"]["last_session_s"]

    # same answer as the uninterrupted run: same minimum within geomeTRIC's convergence criteria
    assert record["binding_site"] == reference["binding_site"]
    assert record["na_binding_eV"] == pytest.approx(reference["na_binding_eV"], abs=5e-3)
    assert record["lumo_eV"] == pytest.approx(reference["lumo_eV"], abs=5e-3)
    assert record["molecule"]["energy_hartree"] == pytest.approx(reference["molecule"]["energy_hartree"], abs=2e-5)
    for got, ref in zip(sorted(record["sites"], key=lambda s: s["site"]),
                        sorted(reference["sites"], key=lambda s: s["site"])):
        assert got["na_binding_cp_eV"] == pytest.approx(ref["na_binding_cp_eV"], abs=5e-3)
    assert compute.get_or_compute(methyl_formate, tmp_path, TINY, allow_compute=False) == (record, "cached")


def test_progress_of_another_level_is_stale_and_not_used(methyl_formate, tmp_path):
    key = compute.expected_key(methyl_formate, TINY)[0]
    progress = SpeciesProgress.open(tmp_path, methyl_formate, key)
    progress.optimisation_step([[0.0, 0.0, 0.0]] * 8, -1.0)
    assert SpeciesProgress.open(tmp_path, methyl_formate, key).optimisation["steps"] == 1
    other = compute.expected_key(methyl_formate, dataclasses.replace(TINY, basis="6-31g"))[0]
    fresh = SpeciesProgress.open(tmp_path, methyl_formate, other)
    assert fresh.optimisation is None and fresh.data["sessions"] == 1
    assert SpeciesProgress.peek(tmp_path, methyl_formate, other) is None  # the file still holds the old key
