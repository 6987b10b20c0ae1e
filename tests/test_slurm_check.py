"""The Slurm check's generated configuration and the slurm profile, without any service (make slurm-check
runs the real thing: benchmarks/slurm_check.py)."""

from __future__ import annotations

import dataclasses
import re
from importlib import metadata
from pathlib import Path

import yaml

from benchmarks import slurm_check as sc

REPO = Path(__file__).resolve().parents[1]
PROFILE = yaml.safe_load((REPO / "workflow/profiles/slurm/config.yaml").read_text())


def _pairs(line: str) -> dict:
    return dict(word.split("=", 1) for word in line.split() if "=" in word)


def test_generated_slurm_conf_declares_a_gpu_gres_accounting_and_the_profiles_partitions(tmp_path):
    text = sc.slurm_conf(tmp_path, cpus=2, memory_mb=8000, gpus=1,
                         topology="Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    keys = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in lines if not line.startswith(("NodeName", "Partition"))}
    assert keys["GresTypes"] == "gpu"
    assert keys["AccountingStorageType"] == "accounting_storage/slurmdbd"  # 22.05 has no filetxt storage
    assert "job_comment" in keys["AccountingStoreFlags"]  # sacct's Comment names the rule
    assert "gres/gpu" in keys["AccountingStorageTRES"]
    assert keys["SelectType"] == "select/cons_tres" and "Memory" in keys["SelectTypeParameters"]
    node = _pairs(next(line for line in lines if line.startswith("NodeName=")))
    assert node["NodeName"] == "localhost" and node["Gres"] == "gpu:1" and node["CPUs"] == "2"
    assert int(node["RealMemory"]) == 8000 and node["CoresPerSocket"] == "2"
    partitions = {_pairs(line)["PartitionName"]: _pairs(line) for line in lines if line.startswith("PartitionName=")}
    resources = dict(item.split("=", 1) for item in PROFILE["default-resources"])
    assert resources["slurm_partition"] in partitions and partitions[resources["slurm_partition"]]["Default"] == "YES"
    for rule_resources in PROFILE.get("set-resources", {}).values():
        if "slurm_partition" in rule_resources:
            assert rule_resources["slurm_partition"] in partitions
    for path in re.findall(r"=(/\S+)", text):
        assert path.startswith(str(tmp_path)), f"{path}: every file of the check lives in its state folder"


def test_gres_conf_and_slurmdbd_conf(tmp_path):
    gres = [line for line in sc.gres_conf(tmp_path, 2).splitlines() if line and not line.startswith("#")]
    assert gres[0] == "AutoDetect=off"
    assert _pairs(gres[1]) == {"Name": "gpu", "File": f"{tmp_path}/dev/fakegpu[0-1]"}
    dbd = _pairs(sc.slurmdbd_conf(tmp_path, db_port=3307).replace("\n", " "))
    assert dbd["StorageType"] == "accounting_storage/mysql" and dbd["StoragePort"] == "3307"
    assert dbd["SlurmUser"] == "root" and dbd["StorageLoc"] == sc.DB_NAME


def test_slurm_profile_is_valid_for_the_pinned_plugin():
    pinned = dict(line.strip().split("==") for line in (REPO / "requirements.txt").read_text().splitlines()
                  if "==" in line and not line.startswith("#"))
    assert pinned["snakemake-executor-plugin-slurm"] == metadata.version("snakemake-executor-plugin-slurm")
    from snakemake_executor_plugin_slurm import ExecutorSettings
    import snakemake_executor_plugin_slurm as plugin

    source = "".join(p.read_text() for p in Path(plugin.__file__).parent.glob("*.py"))
    assert PROFILE["executor"] == "slurm"
    resources = dict(item.split("=", 1) for item in PROFILE["default-resources"])
    for key in resources:  # slurm_partition, slurm_account: read by the plugin; runtime, mem_mb: standard
        assert key in ("runtime", "mem_mb") or f'"{key}"' in source, key
    for rule_resources in PROFILE.get("set-resources", {}).values():
        for key in rule_resources:
            assert f'"{key}"' in source or key in ("runtime", "mem_mb", "gpu"), key
    fields = {f.name.replace("_", "-") for f in dataclasses.fields(ExecutorSettings)}
    for key in PROFILE:
        if key.startswith("slurm-"):
            assert key[len("slurm-"):] in fields, key
    # rules with `threads: workflow.cores` need a core total on a cluster; one job asks for <= max-threads
    assert PROFILE["cores"] >= PROFILE["max-threads"] >= 1


def test_tiny_config_is_the_test_workflows_with_a_gpu_resource():
    from tests.test_workflow import TINY

    config = sc.tiny_config()
    assert config["protocol"]["production_replicas"] == 1 and config["resources"]["gpu"] == 1
    assert config["systems"]["LE"]["n_solvent"] == TINY["systems"]["LE"]["n_solvent"]
    assert config["engine"]["platform"] == "CPU"
