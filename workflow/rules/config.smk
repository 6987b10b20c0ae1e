# The validated config as files every stage reads: the typed model as JSON (config.resolved.json, internal
# units in the key names) and the engine settings derived from it (simulation_settings.json).
#
# Written when the Snakefile is parsed (only when their content changes), not by jobs. As jobs they were
# inputs (ancient: their mtime must not rerun every stage) of nearly every rule, and Snakemake does not
# evaluate the params trigger of a job downstream of a job that must run: after a config change a run
# reran resolve_config alone and reported "1 of 1 steps (100%) done"; simulation_settings came with the
# second run and the stages with the third (measured with Snakemake 9.27, tests/test_workflow.py). With no
# producing job, each stage's params (`uses`, the settings it depends on) decide in the first run.
from simulation.settings import settings_from_config

CONFIG_RESOLVED = f"{RESULTS}/config.resolved.json"
SIMULATION_SETTINGS = f"{RESULTS}/simulation_settings.json"


def write_if_changed(path, text):
    """Write ``text`` to ``path`` atomically unless the file already holds exactly it (keeps its mtime)."""
    target = Path(path)
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return
    write_text_atomic(target, text)


write_if_changed(CONFIG_RESOLVED, CFG.to_resolved_json())
write_if_changed(SIMULATION_SETTINGS, settings_from_config(CFG).to_json())
