"""Write the validated, default-filled config (Snakemake ``script:``; ``snakemake`` is injected)."""
from common.io import write_json_atomic

write_json_atomic(snakemake.output[0], snakemake.params.resolved)  # noqa: F821
