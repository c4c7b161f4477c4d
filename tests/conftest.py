from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from matcher import Matcher, Workspace, build_index, ingest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def _onnx_exports(tmp_path_factory) -> Path:
    """One ONNX export of the bundled model for the whole session, copied into each workspace."""
    return tmp_path_factory.mktemp("onnx-exports")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path, _onnx_exports):
    """No test sees the developer's workspace or cache, and none can reach the network."""
    monkeypatch.delenv("MATCHER_WORKSPACE", raising=False)
    monkeypatch.setenv("MATCHER_ONNX_CACHE", str(_onnx_exports))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.delenv("MATCHER_LANG", raising=False)
    yield
    from matcher.i18n import reset_language

    reset_language()  # a CLI test's --lang must not carry over to the next test


@pytest.fixture
def fake(monkeypatch):
    """The hashing fake in place of the model, for tests where the model is not what is tested."""
    import matcher.build
    import matcher.embed.embedders
    from tests.fakes import HashingEmbedder

    embedder = HashingEmbedder()
    monkeypatch.setattr(matcher.build, "load_embedder", lambda model=None: embedder)
    # queries load the index's model through the embed factory (matcher.search.version)
    monkeypatch.setattr(matcher.embed.embedders, "load_embedder", lambda model=None: embedder)
    return embedder


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory) -> Workspace:
    """The bundled sample cluster, ingested and indexed once with the real model the default
    (`--model auto`) picks for it: multilingual-e5-small, as 44 of its 109 members write Russian."""
    folder = tmp_path_factory.mktemp("sample")
    source = folder / "participants.csv"
    shutil.copyfile(SAMPLE / "participants.csv", source)
    ws = Workspace(folder / "ws")
    report = ingest([source], ws)
    assert not report.rejects, [str(r) for r in report.rejects]
    build_index(ws)
    return ws


@pytest.fixture(scope="session")
def minilm_sample_workspace(tmp_path_factory) -> Workspace:
    """The bundled sample indexed with the English MiniLM (int8 ONNX), as `--model minilm` builds it."""
    from matcher.build import BuildSettings

    folder = tmp_path_factory.mktemp("sample-minilm")
    source = folder / "participants.csv"
    shutil.copyfile(SAMPLE / "participants.csv", source)
    ws = Workspace(folder / "ws")
    ingest([source], ws)
    build_index(ws, BuildSettings(model=None))
    return ws


@pytest.fixture(scope="session")
def sample_matcher(sample_workspace) -> Matcher:
    return Matcher.open(sample_workspace)


@pytest.fixture(scope="session")
def onnx_int8(_onnx_exports, tmp_path_factory):
    """The bundled model exported to int8 ONNX (through the session's shared export folder)."""
    from matcher.embed.embedders import load_embedder
    from matcher.embed.onnx import ensure_onnx
    from matcher.inputs.sample import sample_texts

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MATCHER_ONNX_CACHE", str(_onnx_exports))
        return ensure_onnx(tmp_path_factory.mktemp("onnx-ws"), load_embedder(), "onnx-int8", parity_texts=sample_texts)


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance of 2 CPUs for a module's tests (starting Ray costs seconds)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def publish_damaged(ws: Workspace, name: str = "participants.parquet") -> Path:
    """The current version copied to the next name with one file cut in half, and CURRENT on it:
    what a server following CURRENT refuses to serve, and a refresh must not build on."""
    current = ws.current_version()
    damaged = ws.versions_dir / f"v{ws._next_sequence():06d}-{current.name.split('-', 1)[1]}"
    shutil.copytree(current, damaged)
    path = damaged / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    ws.point_current_at(damaged)
    return damaged
