"""How many threads the math libraries of one process may use."""

from __future__ import annotations

import os


def thread_count() -> int:
    """Threads for one process's math libraries: MATCHER_THREADS, else the cores this process may use.

    torch, ONNX Runtime and FAISS (OpenMP) each get this many, and they run one after another,
    so they never oversubscribe the cores; a Ray actor sets MATCHER_THREADS=1.
    """
    try:
        wanted = int(os.environ.get("MATCHER_THREADS", "0"))
    except ValueError:
        wanted = 0
    return (
        wanted
        if wanted > 0
        else len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count() or 1
    )
