"""Mean-squared displacement by FFT over all time origins, and the molecular centre-of-mass series it uses.

Physics
-------
For a particle with (unwrapped) positions r(k), k = 0 … T−1 frames, the MSD at a lag of m frames,
averaged over all T−m time origins, is::

    MSD(m) = 1/(T−m) Σ_{k=0}^{T−m−1} |r(k+m) − r(k)|²
           = 1/(T−m) [ Σ_{k=0}^{T−m−1} |r(k)|² + Σ_{k=m}^{T−1} |r(k)|² ]  −  2/(T−m) Σ_k r(k)·r(k+m)

The first bracket comes from prefix sums, the last term is an autocorrelation computed with real FFTs
zero-padded to ≥ 2T (Wiener–Khinchin), so the cost is O(T log T) per particle instead of O(T²)
(Calandrini et al., "nMoldyn", École thématique SFN 12, 201 (2011)). For a species average the power
spectra of all particles are summed before the single inverse FFT. Each particle's time-mean position is
subtracted first (the MSD does not change; round-off at short lags drops).

Units: positions in nm → MSD in nm²; the time of lag m is m × frame interval (ps).

Backends
--------
``backend="numpy"`` (reference, ``scipy.fft``), ``"cupy"`` (GPU, imported lazily only when asked for or
when ``"auto"`` finds CuPy and a CUDA device), ``"auto"`` (CuPy when usable, else NumPy). Both give the
same numbers to round-off; the GPU result is checked against NumPy in the ``gpu`` tests.

Memory
------
:class:`MoleculeCentres` streams unwrapped atom positions chunk by chunk and keeps only the molecular
centres of mass, (frames × molecules × 3) float64; when that exceeds ``max_memory_bytes`` it lives in a
memory-mapped scratch file. MSDs are computed in batches of molecules, so peak memory stays bounded.
"""

from __future__ import annotations

import importlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import scipy.fft
import scipy.sparse

from analysis.topology import MolecularSystem
from analysis.trajectory import ChunkAnalysis, FrameChunk, UnwrappedTrajectory
from common.errors import AnalysisError

log = logging.getLogger("gelmd.analysis")

BACKENDS = ("auto", "numpy", "cupy")
FFT_ROWS = 48                      # series per FFT call and CPU thread: small batches stay in cache
GPU_FFT_ROWS = 4096                # series per FFT call on a GPU: large batches keep it busy
READ_BATCH_BYTES = 256 * 2**20     # bytes of series read at once from the (possibly on-disk) store
DEFAULT_MAX_SERIES_BYTES = 4 * 2**30


# ------------------------------------------------------------------------------------------------ backends

@dataclass(frozen=True)
class Backend:
    """Array module and FFTs used by :func:`msd_fft`."""

    name: str
    xp: Any
    rfft: Callable
    irfft: Callable
    to_device: Callable
    to_host: Callable
    fft_rows: int = FFT_ROWS


def _cpu_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _numpy_backend() -> Backend:
    workers = _cpu_workers()   # scipy.fft splits a batch of rows over threads
    return Backend(
        name="numpy", xp=np,
        rfft=lambda a, n: scipy.fft.rfft(a, n=n, axis=-1, workers=workers),
        irfft=lambda a, n: scipy.fft.irfft(a, n=n, axis=-1, workers=workers),
        to_device=np.asarray, to_host=np.asarray, fft_rows=FFT_ROWS * min(workers, 4),
    )


def _cupy_module():
    """Import CuPy lazily; ``None`` when it is not installed or cannot load its CUDA libraries."""
    try:
        return importlib.import_module("cupy")
    except Exception:  # ImportError, or CUDA libraries missing at import time
        return None


def _cupy_device_count(cupy) -> int:
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no driver, no device
        return 0


def _cupy_backend(cupy) -> Backend:
    return Backend(
        name="cupy", xp=cupy,
        rfft=lambda a, n: cupy.fft.rfft(a, n=n, axis=-1),
        irfft=lambda a, n: cupy.fft.irfft(a, n=n, axis=-1),
        to_device=cupy.asarray, to_host=cupy.asnumpy, fft_rows=GPU_FFT_ROWS,
    )


def resolve_backend(name: str | Backend = "auto") -> Backend:
    """Return the backend for ``name``: ``"numpy"``, ``"cupy"`` or ``"auto"`` (CuPy when a GPU is usable)."""
    if isinstance(name, Backend):
        return name
    if name not in BACKENDS:
        raise AnalysisError(f"backend {name!r} is not known; allowed: {list(BACKENDS)}")
    if name == "numpy":
        return _numpy_backend()
    cupy = _cupy_module()
    if cupy is None or _cupy_device_count(cupy) < 1:
        if name == "cupy":
            why = "CuPy is not installed (pip install cupy-cuda12x)" if cupy is None else "no CUDA device is visible"
            raise AnalysisError(f"backend 'cupy' was asked for but {why}; use backend 'numpy' or 'auto'")
        return _numpy_backend()
    return _cupy_backend(cupy)


# ------------------------------------------------------------------------------------------------- the MSD

def _as_series(positions: np.ndarray) -> np.ndarray:
    x = np.asarray(positions)
    if x.ndim == 1:
        x = x[:, None, None]
    elif x.ndim == 2:
        x = x[:, None, :]
    if x.ndim != 3:
        raise AnalysisError(f"positions must have shape (frames, particles, dims); got {np.shape(positions)}")
    return x


def _fft_length(n_frames: int) -> int:
    return scipy.fft.next_fast_len(2 * n_frames, real=True)


def _s1_terms(r2: np.ndarray) -> np.ndarray:
    """Σ_{k<T−m} r²(k) + Σ_{k≥m} r²(k) for m = 0 … T−1 (r2 may be (T,) or (T, n))."""
    n = r2.shape[0]
    prefix = np.concatenate([np.zeros((1,) + r2.shape[1:]), np.cumsum(r2, axis=0)])
    m = np.arange(n)
    return prefix[n - m] + (prefix[n] - prefix[m])


class _MSDAccumulator:
    """Sum over particles of the per-particle MSD, fed in batches of particles."""

    def __init__(self, n_frames: int, backend: Backend, per_particle: bool = False):
        self.n_frames = n_frames
        self.backend = backend
        self.per_particle = per_particle
        self.fft_length = _fft_length(n_frames)
        self.power = backend.xp.zeros(self.fft_length // 2 + 1)
        self.r2 = np.zeros(n_frames)
        self.parts: list[np.ndarray] = []
        self.n_particles = 0

    def add(self, x: np.ndarray) -> None:
        """Add particles ``x`` (T, b, d).

        Particles are taken a few at a time (``fft_rows`` series): each small batch is transposed to
        time-contiguous rows and centred while it sits in cache, so the whole array is read once and never
        copied as a whole.
        """
        t, b, d = x.shape
        self.n_particles += b
        step = max(1, self.backend.fft_rows // d)
        xp = self.backend.xp
        padded = np.zeros((step * d, self.fft_length))               # zero padding written once, reused
        for s in range(0, b, step):
            block = np.asarray(x[:, s:s + step]).reshape(t, -1)     # stored dtype: cast once, in the copy below
            k = block.shape[1]
            rows = padded[:k, :t]
            rows[...] = block.T                                      # (batch·d, T) float64, time contiguous
            rows -= rows.mean(axis=1, keepdims=True)
            if self.per_particle:
                self.parts.append(self._per_particle(np.ascontiguousarray(rows), k // d, d))
                continue
            self.r2 += np.einsum("kt,kt->t", rows, rows)
            spectrum = self.backend.rfft(self.backend.to_device(padded[:k]), self.fft_length)
            if xp is np:
                # (re, im) interleaved per frequency: square-sum over rows first (a contiguous 2-D einsum is
                # ~10x faster than the 3-D one), then add each frequency's re² and im²
                flat = spectrum.view(np.float64).reshape(spectrum.shape[0], -1)
                squares = np.einsum("kj,kj->j", flat, flat)
                self.power += squares[0::2] + squares[1::2]
            else:
                self.power += xp.einsum("kf,kf->f", spectrum.real, spectrum.real)
                self.power += xp.einsum("kf,kf->f", spectrum.imag, spectrum.imag)

    def _per_particle(self, rows: np.ndarray, b: int, d: int) -> np.ndarray:
        spectrum = self.backend.rfft(self.backend.to_device(rows), self.fft_length)
        power = (spectrum.real**2 + spectrum.imag**2).reshape(b, d, -1).sum(axis=1)
        autocorr = self.backend.to_host(self.backend.irfft(power, self.fft_length))[:, :self.n_frames].T
        r2 = (rows**2).reshape(b, d, -1).sum(axis=1).T                  # (T, b)
        lags = np.arange(self.n_frames)[:, None]
        return (_s1_terms(r2) - 2.0 * autocorr) / (self.n_frames - lags)

    def total(self) -> np.ndarray:
        """Σ over particles of MSD_i(m), m = 0 … T−1 (or (T, n) per particle)."""
        if self.per_particle:
            return np.concatenate(self.parts, axis=1) if self.parts else np.zeros((self.n_frames, 0))
        autocorr = self.backend.to_host(self.backend.irfft(self.power, self.fft_length))[:self.n_frames]
        lags = np.arange(self.n_frames)
        result = (_s1_terms(self.r2) - 2.0 * autocorr) / (self.n_frames - lags)
        result[0] = 0.0
        return result


def _particle_batch(n_frames: int, n_dims: int) -> int:
    return max(1, READ_BATCH_BYTES // (n_frames * n_dims * 8 * 4))


def msd_fft(positions: np.ndarray, backend: str | Backend = "numpy", per_particle: bool = False,
            reduce: str = "mean", particles: np.ndarray | None = None) -> np.ndarray:
    """MSD over all time origins by FFT.

    Parameters
    ----------
    positions
        (T, n, d) unwrapped positions (nm); (T, d) is one particle. May be a ``numpy.memmap``: it is read
        in batches of particles.
    backend
        ``"numpy"``, ``"cupy"``, ``"auto"`` or a :class:`Backend`.
    per_particle
        Return (T, n) per-particle MSDs instead of their mean.
    reduce
        ``"mean"`` (average over particles) or ``"sum"`` (e.g. for a collective quantity).
    particles
        Indices of the particles (second axis) to use; default all.

    Returns
    -------
    MSD (nm² for nm positions) at lags 0 … T−1 frames, summed over the d dimensions.
    """
    x = _as_series(positions)
    backend = resolve_backend(backend)
    if reduce not in ("mean", "sum"):
        raise AnalysisError(f"reduce {reduce!r} is not allowed; use 'mean' or 'sum'")
    n_frames = x.shape[0]
    if n_frames < 2:
        raise AnalysisError(f"an MSD needs at least 2 frames; got {n_frames}")
    index = np.arange(x.shape[1]) if particles is None else np.asarray(particles, dtype=np.int64)
    if index.size == 0:
        raise AnalysisError("an MSD needs at least one particle")
    acc = _MSDAccumulator(n_frames, backend, per_particle)
    batch = FFT_ROWS if per_particle else _particle_batch(n_frames, x.shape[2])
    contiguous = particles is None or bool(np.all(np.diff(index) == 1))
    for s in range(0, index.size, batch):
        sel = index[s:s + batch]
        acc.add(x[:, sel[0]:sel[-1] + 1] if contiguous else x[:, sel])
    total = acc.total()
    if per_particle:
        return total
    return total / index.size if reduce == "mean" else total


def msd_direct(positions: np.ndarray) -> np.ndarray:
    """Reference O(T²) MSD averaged over particles and all time origins (for tests and small data)."""
    x = _as_series(positions).astype(np.float64)
    n = x.shape[0]
    out = np.zeros(n)
    for m in range(1, n):
        out[m] = np.mean(np.sum((x[m:] - x[:-m]) ** 2, axis=-1))
    return out


# -------------------------------------------------------------------------------- molecular centres of mass

class MoleculeCentres(ChunkAnalysis):
    """Stream the centre of mass of every molecule (residue), with the system's centre-of-mass drift removed.

    ``results`` after :meth:`run`:

    ``series``       (T, n_molecules, 3) nm, unwrapped, drift-free: a view of molecule-major storage
                     (``numpy.memmap`` in a scratch file when larger than ``max_memory_bytes``)
    ``time_ps``      (T,) time of each frame from the first analysed frame
    ``volume_nm3``   (T,) box volume of each frame
    ``box_nm``       (T, 3, 3) box vectors of each frame
    ``storage``      ``"memory"`` or the scratch file path

    Call :meth:`close` (or use as a context manager) to delete a scratch file.
    """

    def __init__(self, trajectory: UnwrappedTrajectory, system: MolecularSystem,
                 max_memory_bytes: int = DEFAULT_MAX_SERIES_BYTES, scratch_dir: str | Path | None = None):
        super().__init__(trajectory)
        if trajectory.masses_amu is not None:
            raise AnalysisError("MoleculeCentres removes the drift itself; give it a trajectory without masses")
        if system.n_atoms != trajectory.n_atoms:
            raise AnalysisError(f"the topology has {system.n_atoms} atoms but the trajectory {trajectory.n_atoms}; "
                                "they must describe the same atoms in the same order")
        self.system = system
        self.max_memory_bytes = int(max_memory_bytes)
        self.scratch_dir = scratch_dir
        n_mol = system.n_molecules
        rows = system.molecule_of_atom
        weights = system.masses_amu / system.molecule_mass_amu[rows]
        self._weights = scipy.sparse.csr_matrix((weights, (rows, np.arange(system.n_atoms))),
                                                shape=(n_mol, system.n_atoms))
        self._mol_mass = system.molecule_mass_amu / system.molecule_mass_amu.sum()
        self._tmpdir: tempfile.TemporaryDirectory | None = None

    def _prepare(self) -> None:
        # stored molecule-major (n_mol, T, 3): each molecule's time series is contiguous, so MSD batches read
        # from a scratch file sequentially; ``series`` is the (T, n_mol, 3) view of it
        shape = (self.system.n_molecules, self.trajectory.n_frames, 3)
        nbytes = int(np.prod(shape)) * 8
        if nbytes <= self.max_memory_bytes:
            self._store = np.empty(shape)
            storage = "memory"
        else:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="gelmd-com-", dir=self.scratch_dir)
            path = os.path.join(self._tmpdir.name, "centres.npy")
            self._store = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=shape)
            storage = path
            log.info("molecular centres (%.1f GiB) are kept in scratch file %s", nbytes / 2**30, path)
        self._series = self._store.transpose(1, 0, 2)
        self._volume = np.empty(shape[1])
        self._box = np.empty((shape[1], 3, 3))
        self.results["storage"] = storage

    def _process(self, chunk: FrameChunk) -> None:
        c, n, _ = chunk.positions.shape
        flat = chunk.positions.transpose(1, 0, 2).reshape(n, c * 3)
        centres = (self._weights @ flat).reshape(-1, c, 3).transpose(1, 0, 2)     # (c, n_mol, 3)
        centres -= np.einsum("cmk,m->ck", centres, self._mol_mass)[:, None, :]
        self._store[:, chunk.start:chunk.stop] = centres.transpose(1, 0, 2)
        self._volume[chunk.start:chunk.stop] = chunk.volumes_nm3
        self._box[chunk.start:chunk.stop] = chunk.boxes

    def _conclude(self) -> None:
        if isinstance(self._store, np.memmap):
            self._store.flush()
        self.results.update(series=self._series, volume_nm3=self._volume, box_nm=self._box,
                            time_ps=np.arange(self.trajectory.n_frames) * self.trajectory.frame_interval_ps)

    def close(self) -> None:
        """Release the series and delete the scratch file, if any."""
        self.results.pop("series", None)
        self._series = self._store = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> "MoleculeCentres":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------- species averages

def block_slices(n_frames: int, n_blocks: int) -> list[slice]:
    """``n_blocks`` contiguous, equal, non-overlapping blocks of frames (a remainder at the end is unused)."""
    length = n_frames // n_blocks
    return [slice(b * length, (b + 1) * length) for b in range(n_blocks)]


class SpeciesMSD:
    """MSD of each species from its molecules' centres of mass, for the whole run and for time blocks.

    Parameters
    ----------
    series
        (T, n_molecules, 3) drift-free centre-of-mass series (nm), e.g. ``MoleculeCentres.results["series"]``.
    species
        species name → molecule indices (columns of ``series``).
    frame_interval_ps
        Time between frames.
    n_blocks
        Number of contiguous time blocks for block averaging (0 or 1: none).

    ``results`` after :meth:`run`: ``time_ps`` (T,), ``msd_nm2`` {name: (T,)}, ``block_time_ps`` (Tb,),
    ``block_msd_nm2`` {name: (n_blocks, Tb)}, ``backend`` (name used).
    """

    def __init__(self, series: np.ndarray, species: Mapping[str, np.ndarray], frame_interval_ps: float,
                 n_blocks: int = 5, backend: str | Backend = "auto"):
        if series.ndim != 3 or series.shape[2] != 3:
            raise AnalysisError(f"series must be (frames, molecules, 3); got {series.shape}")
        if not species:
            raise AnalysisError("no species to analyse")
        for name, idx in species.items():
            idx = np.asarray(idx)
            if idx.size == 0 or idx.min() < 0 or idx.max() >= series.shape[1]:
                raise AnalysisError(f"species {name!r}: molecule indices outside 0 … {series.shape[1] - 1}")
        if n_blocks < 0:
            raise AnalysisError(f"n_blocks must be >= 0; got {n_blocks}")
        self.series = series
        self.species = {k: np.asarray(v, dtype=np.int64) for k, v in species.items()}
        self.frame_interval_ps = float(frame_interval_ps)
        self.n_blocks = int(n_blocks)
        self.backend = resolve_backend(backend)
        self.results: dict = {}

    def run(self) -> "SpeciesMSD":
        n_frames = self.series.shape[0]
        blocks = block_slices(n_frames, self.n_blocks) if self.n_blocks > 1 else []
        msd, block_msd = {}, {}
        for name, idx in self.species.items():
            msd[name] = msd_fft(self.series, self.backend, particles=idx)
            if blocks:
                block_msd[name] = np.stack([msd_fft(self.series[sl], self.backend, particles=idx)
                                            for sl in blocks])
        block_len = blocks[0].stop - blocks[0].start if blocks else 0
        self.results = {
            "time_ps": np.arange(n_frames) * self.frame_interval_ps,
            "msd_nm2": msd,
            "block_time_ps": np.arange(block_len) * self.frame_interval_ps,
            "block_msd_nm2": block_msd,
            "block_slices": blocks,
            "backend": self.backend.name,
        }
        return self
