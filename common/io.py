"""Atomic file writes: an interrupted job never leaves a file that looks complete.

Everything is written to a temporary file in the destination folder and renamed into place
(``os.replace`` is atomic on POSIX), so a reader sees either the old file, no file, or the whole new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from common.errors import GelmdError, InputFileError


@contextmanager
def atomic_path(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; rename it over ``destination`` on success only."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600; give the result the permissions a plain open() would (0666 minus umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, destination)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(destination: str | os.PathLike, text: str) -> None:
    with atomic_path(destination) as tmp:
        tmp.write_text(text)


def write_json_atomic(destination: str | os.PathLike, data: Any) -> None:
    write_text_atomic(destination, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike, what: str = "file", invalid: type[GelmdError] = InputFileError) -> Any:
    """Parse a JSON file; a missing file raises :class:`InputFileError`, broken JSON ``invalid`` — both
    naming ``what`` and the path."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{what} {str(path)!r} does not exist")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise invalid(f"{what} {str(path)!r} is not valid JSON: {exc}") from exc
