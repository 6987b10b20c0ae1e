"""The one error wrapper of every gelmd command-line entry point.

A gelmd error (bad input, a failed simulation) ends the program with exit status 1 and its message, which
names what is wrong, on stderr; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Callable

from common.errors import GelmdError


def run_main(program: str, body: Callable[[], int | None]) -> int:
    """Run ``body``; return its exit status (0 for None), or 1 after printing ``program: error: <message>``."""
    try:
        status = body()
    except GelmdError as exc:
        print(f"{program}: error: {exc}", file=sys.stderr)
        return 1
    return 0 if status is None else int(status)
