"""Wall time of `make demo` from a fresh clone, and the production speed it reached.

    python benchmarks/demo_walltime.py [--keep]

Clones the current commit into a temporary folder, runs `make demo` there (environment creation
included, so the figure is what a new user waits), and prints the wall time and, per system, the
production ns/day and platform recorded in production.json, and the time per stage: the summed duration of
every job of each rule, read off Snakemake's log (jobs run side by side on 2 cores, so the stages add up to
more than the wall time). Target: the whole panel <= 45 min on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]")


def stage_times(log_text: str) -> dict[str, float]:
    """Seconds per rule, summed over its jobs, from a Snakemake log (start: 'rule X:' ... 'jobid: N' after a
    time stamp; end: 'Finished job N.' after a time stamp)."""
    now, rule, started, rule_of = None, None, {}, {}
    totals: dict[str, float] = defaultdict(float)
    for line in log_text.splitlines():
        stamp = _STAMP.match(line)
        if stamp:
            now = datetime.strptime(" ".join(stamp.group(1).split()), "%a %b %d %H:%M:%S %Y")
            continue
        words = line.strip().split()
        if line.startswith(("rule ", "localrule ")) and line.rstrip().endswith(":"):
            rule = words[-1].rstrip(":")
        elif words[:1] == ["jobid:"] and rule is not None and now is not None:
            started[words[1]], rule_of[words[1]] = now, rule
        elif line.startswith("Finished job") and now is not None:
            job = words[2].rstrip(".")
            if job in started:
                totals[rule_of[job]] += (now - started[job]).total_seconds()
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone (prints its path)")
    args = parser.parse_args()
    clone = Path(tempfile.mkdtemp(prefix="gelmd-demo-"))
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    start = time.perf_counter()
    run = subprocess.run(["make", "demo"], cwd=clone, capture_output=True, text=True)
    wall_s = time.perf_counter() - start
    print(f"make demo: exit {run.returncode}, wall time {wall_s / 60:.1f} min ({wall_s:.0f} s)")
    if run.returncode:
        print(run.stdout[-3000:], run.stderr[-3000:])
    for report in sorted((clone / "results").glob("*/*/production/production.json")):
        data = json.loads(report.read_text())
        system = report.parts[-3]
        print(f"  {system}: production {data['duration_ps']:g} ps at {data['ns_per_day']:.1f} ns/day on "
              f"{data['platform'].get('name')} ({data['n_particles']} atoms, time step {data['timestep_ps'] * 1000:g} fs)")
        density = report.parents[1] / "density.json"
        if density.is_file():
            rho = json.loads(density.read_text())
            exp = rho["experiment"]
            versus = (f"vs experiment {exp['value_g_per_cm3']:.3f} ({exp['deviation_percent']:+.1f} %)"
                      if exp.get("value_g_per_cm3") else "(no verified experiment)")
            print(f"  {system}: density {rho['density_g_per_cm3']['value']:.4f} +- "
                  f"{rho['density_g_per_cm3']['stderr']:.4f} g/cm^3 {versus}")
    logs = sorted((clone / ".snakemake" / "log").glob("*.snakemake.log"))
    if logs:
        print("time per stage (summed over its jobs):")
        for rule, seconds in sorted(stage_times(logs[-1].read_text()).items(), key=lambda kv: -kv[1]):
            print(f"  {rule:22s} {seconds / 60:6.1f} min")
    for summary in sorted((clone / "results").glob("*/summary.md")):
        print(summary.read_text())
    if args.keep:
        print(f"clone kept at {clone}")
    else:
        subprocess.run(["rm", "-rf", str(clone)])


if __name__ == "__main__":
    main()
