"""Transport of a production that is still running (or was stopped): the frames its finished chunks wrote,
analysed by the stage's own ``analysis.transport``.

A long CPU production (the 10 ns LE runs of ``config/validation_diffusive_le.yaml``) writes its trajectory into
``production.work/`` chunk by chunk; ``progress.json`` records how many frames the last checkpoint covers. This
copies exactly those frames (a frame being written is left out), then runs ``analysis.transport`` with the
arguments of the workflow's ``transport_replica`` rule: formal charges (Na+ = +1, PF6- = -1), Yeh–Hummer with the
system's own ``viscosity/viscosity.json`` when there is one, ``--blocks`` blocks. The numbers are those of the
shorter run, and the report's log-log slopes say whether its MSDs are diffusive yet.

    python benchmarks/partial_transport.py results/validation_diffusive_le/LE_scaled090_oplsO /tmp/le_partial \\
        [--blocks 5] [--temperature "298.15 K"] [--formal-charges NA=1 PF6=-1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_finished_frames(system_dir: Path, out_dir: Path) -> tuple[Path, int, float]:
    """The DCD of the frames covered by the last checkpoint, copied to ``out_dir``; (path, frames, frame interval ps)."""
    import mdtraj

    work = system_dir / "production.work"
    progress_file = work / "progress.json"
    if not progress_file.is_file():
        raise SystemExit(f"partial_transport: {progress_file} does not exist: no unfinished production in {system_dir}")
    progress = json.loads(progress_file.read_text())
    frames = int(progress["frames_written"])
    if frames < 10:
        raise SystemExit(f"partial_transport: only {frames} frames written so far; wait for more chunks")
    settings = json.loads((system_dir.parent / "simulation_settings.json").read_text())
    interval_ps = progress["frame_steps"] * float(settings["protocol"]["timestep_ps"])
    with mdtraj.formats.DCDTrajectoryFile(str(work / "trajectory.dcd")) as dcd:
        xyz, lengths, angles = dcd.read(n_frames=frames)          # only the checkpointed frames are read
    if len(xyz) < frames:
        raise SystemExit(f"partial_transport: progress.json records {frames} frames but the DCD holds {len(xyz)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    copy = out_dir / "trajectory.dcd"
    with mdtraj.formats.DCDTrajectoryFile(str(copy), "w") as dcd:
        dcd.write(xyz, lengths, angles)
    return copy, frames, interval_ps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("system_dir", type=Path, help="results/<campaign>/<system>")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--temperature", default="298.15 K")
    parser.add_argument("--formal-charges", nargs="*", default=["NA=1", "PF6=-1"])
    args = parser.parse_args(argv)
    trajectory, frames, interval_ps = copy_finished_frames(args.system_dir, args.out_dir)
    viscosity = args.system_dir / "viscosity" / "viscosity.json"
    command = [sys.executable, "-m", "analysis.transport", "--topology", str(args.system_dir / "build" / "system.pdb"),
               "--trajectory", str(trajectory), "--frame-interval", f"{interval_ps} ps",
               "--system", str(args.system_dir / "equilibrate" / "system.xml"), "--temperature", args.temperature,
               "--blocks", str(args.blocks), "--formal-charges", *args.formal_charges,
               "--out", str(args.out_dir / "transport.json"), "--csv", str(args.out_dir / "transport.csv"),
               "--plots-dir", str(args.out_dir / "plots"), "--log", str(args.out_dir / "transport.log")]
    if viscosity.is_file():
        command[command.index("--blocks"):command.index("--blocks")] = ["--viscosity-report", str(viscosity)]
    print(f"partial_transport: {frames} frames at {interval_ps:g} ps ({frames * interval_ps / 1000:.2f} ns)")
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    raise SystemExit(main())
