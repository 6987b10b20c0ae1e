"""Checkpointed network builds: an interrupted build resumes to the network of the uninterrupted one."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest

import systems.network.builder as builder
from systems.build_network import completed_attempt
from systems.network.builder import build_network
from systems.network.checkpoint import (CHECKPOINT_NAME, BuildCheckpoint, CrosslinkProgress, load_checkpoint,
                                        save_checkpoint, spec_key)
from tests.test_network_build import tiny_spec


class _Killed(Exception):
    """Stands in for the scheduler's kill in the middle of a build."""


def test_spec_key_ignores_the_engine_and_follows_the_physics():
    spec = tiny_spec()
    assert spec_key(spec) == spec_key(dataclasses.replace(spec, platform="CUDA", cpu_threads=16))
    assert spec_key(spec) != spec_key(dataclasses.replace(spec, seed=spec.seed + 1))
    assert spec_key(spec) != spec_key(dataclasses.replace(
        spec, crosslink=dataclasses.replace(spec.crosslink, target_conversion=0.61)))
    # the limits only decide when a build gives up: a build may resume under raised ones
    assert spec_key(spec) == spec_key(dataclasses.replace(
        spec, crosslink=dataclasses.replace(spec.crosslink, max_cycles=spec.crosslink.max_cycles + 50,
                                            max_stall_cycles=spec.crosslink.max_stall_cycles + 2)))
    # the key must be the same in the next job's process: no field may hash by object identity
    from systems.species import BUILTIN_SPECIES
    with_species = dataclasses.replace(spec, extra_species=(BUILTIN_SPECIES["PC"],))
    assert " at 0x" not in json.dumps(dataclasses.asdict(with_species), default=repr)


def test_a_checkpoint_of_another_spec_or_format_is_ignored(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    assert load_checkpoint(path, "key") is None  # none written yet
    rng = np.random.default_rng(7)
    rng.random(3)
    save_checkpoint(path, BuildCheckpoint(key="key", graph=None, growth=None, history=[{"cycle": 0}],
                                          progress=CrosslinkProgress(2, 0.6, 1),
                                          partner_rng_state=rng.bit_generator.state, elapsed_s=12.5))
    saved = load_checkpoint(path, "key")
    assert saved.progress == CrosslinkProgress(2, 0.6, 1) and saved.elapsed_s == 12.5
    assert saved.partner_rng().random() == rng.random()  # the generator continues where it stood
    assert load_checkpoint(path, "another key") is None
    path.write_bytes(pickle.dumps({"not": "a checkpoint"}))
    assert load_checkpoint(path, "key") is None
    path.write_bytes(b"half a file")
    assert load_checkpoint(path, "key") is None


@pytest.mark.integration
def test_an_interrupted_build_resumes_to_the_uninterrupted_network(tmp_path, monkeypatch):
    # one CPU thread: the only bitwise-reproducible build (builder module notes), so resumed == uninterrupted
    spec = tiny_spec("BMP", "ring_opening_aziridine", seed=5, deterministic=True, packing_density_fraction=0.85)
    spec = dataclasses.replace(spec, crosslink=dataclasses.replace(spec.crosslink, propagation_rounds=1))  # cycles
    whole = build_network(spec, tmp_path / "whole")
    assert not (tmp_path / "whole" / CHECKPOINT_NAME).exists()  # a finished build leaves none behind
    bond_cycles = sum(1 for h in whole.record["history"] if h.get("new_bonds"))
    assert bond_cycles >= 2, "the reference build must have a bond cycle after the interruption"

    real_bond_cycle, calls = builder._bond_cycle, []

    def killed_in_second_bond_cycle(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise _Killed
        return real_bond_cycle(*args, **kwargs)

    monkeypatch.setattr(builder, "_bond_cycle", killed_in_second_bond_cycle)
    with pytest.raises(_Killed):
        build_network(spec, tmp_path / "resumed")
    saved = load_checkpoint(tmp_path / "resumed" / CHECKPOINT_NAME, spec_key(spec))
    assert saved is not None and saved.progress.cycle >= 1 and len(saved.history) == saved.progress.cycle + 1
    monkeypatch.setattr(builder, "_bond_cycle", real_bond_cycle)

    resumed = build_network(spec, tmp_path / "resumed")
    assert not (tmp_path / "resumed" / CHECKPOINT_NAME).exists()
    assert resumed.graph.network_bonds == whole.graph.network_bonds
    assert ([(h["cycle"], h["conversion"]) for h in resumed.record["history"]]
            == [(h["cycle"], h["conversion"]) for h in whole.record["history"]])
    assert np.allclose(resumed.positions_nm, whole.positions_nm, atol=1e-4)
    assert resumed.record["wall_time_s"] >= saved.elapsed_s  # time before the interruption counts
    # a finished attempt is kept as it is by the next job; another seed's folder is not taken for it
    assert completed_attempt(tmp_path / "resumed", spec)["spec_key"] == spec_key(spec)
    assert completed_attempt(tmp_path / "resumed", dataclasses.replace(spec, seed=6)) is None
    (tmp_path / "resumed" / "state.xml").unlink()
    assert completed_attempt(tmp_path / "resumed", spec) is None  # a file it lists is missing


def test_completed_attempt_needs_a_network_json(tmp_path):
    assert completed_attempt(tmp_path, tiny_spec()) is None
    (tmp_path / "network.json").write_text(json.dumps({"spec_key": "other", "files": {}}))
    assert completed_attempt(tmp_path, tiny_spec()) is None
