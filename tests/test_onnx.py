"""The ONNX backend: exported once, checked against PyTorch, and run without torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import matcher.embed.onnx as onnxrt
from matcher.embed.embedders import SentenceTransformerEmbedder, embedder_for_manifest, load_embedder
from matcher.embed.onnx import OnnxEmbedder, ensure_onnx, resolve_backend
from matcher.errors import IndexCorrupt, ModelNotFound
from matcher.inputs.sample import sample_texts
from tests.conftest import ROOT

# Not in the parity texts (the sample's profiles and lots): parity must hold beyond them.
TEXTS = [
    "Horizontal directional drilling under the Obvodny canal for a district heating main",
    "Тоннелепроходческий комплекс диаметром 6 метров, обделка из высокоточных блоков",
    "Courses for crane operators and slingers, with a certificate recognised by Rostekhnadzor",
    "Supply of ready-mixed concrete B30 W8 F300 to bridge sites",
    "Geotechnical monitoring of deep excavations next to listed buildings",
    "x",
]


def test_export_records_its_parity_and_checksums(onnx_int8):
    meta = json.loads((onnx_int8.folder / "export.json").read_text())
    assert meta["parity"]["onnx"] >= 0.9999  # float32: the same computation
    assert meta["parity"]["onnx-int8"] >= onnxrt.PARITY_FLOOR
    assert meta["source_fingerprint"] == load_embedder().fingerprint
    # the matrix products are int8 (the token-embedding table, a lookup, stays float32)
    sizes = {f: (onnx_int8.folder / f).stat().st_size for f in ("model.onnx", "model-int8.onnx")}
    assert sizes["model-int8.onnx"] < 0.7 * sizes["model.onnx"]


def test_int8_vectors_match_pytorch_on_unseen_texts_in_input_order(onnx_int8):
    torch_vectors = load_embedder().encode(TEXTS)
    vectors = onnx_int8.encode(TEXTS)  # sorted by length inside: the output must come back in order
    cosines = np.sum(vectors * torch_vectors, axis=1)
    assert cosines.mean() >= 0.98 and cosines.min() >= 0.95, cosines
    one_by_one = np.vstack([onnx_int8.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-6)  # a text's vector never depends on its batch
    # each text is nearest to its own PyTorch vector: nothing shifted
    assert (np.argmax(vectors @ torch_vectors.T, axis=1) == np.arange(len(TEXTS))).all()


def test_auto_prefers_int8_and_falls_back_when_parity_fails(tmp_path, monkeypatch):
    source = load_embedder()
    assert isinstance(resolve_backend(tmp_path, source, "auto", parity_texts=sample_texts), OnnxEmbedder)
    assert resolve_backend(tmp_path, source, "auto", parity_texts=sample_texts).variant == "onnx-int8"
    assert resolve_backend(tmp_path, source, "torch", parity_texts=sample_texts) is source
    monkeypatch.setattr(onnxrt, "PARITY_FLOOR", 0.9999)  # int8 (≈0.9996) fails, float32 (1.0) passes
    assert resolve_backend(tmp_path, source, "auto", parity_texts=sample_texts).variant == "onnx"
    with pytest.raises(ModelNotFound, match="parity check"):
        resolve_backend(tmp_path, source, "onnx-int8", parity_texts=sample_texts)
    monkeypatch.setattr(onnxrt, "PARITY_FLOOR", 1.01)  # nothing passes: PyTorch
    assert isinstance(resolve_backend(tmp_path, source, "auto", parity_texts=sample_texts), SentenceTransformerEmbedder)
    with pytest.raises(ModelNotFound, match="--backend"):
        resolve_backend(tmp_path, source, "fast", parity_texts=sample_texts)


def test_a_damaged_export_is_exported_again(tmp_path, onnx_int8):
    source = load_embedder()
    first = ensure_onnx(tmp_path, source, "onnx-int8", parity_texts=sample_texts)
    model = first.folder / "model-int8.onnx"
    model.write_bytes(model.read_bytes()[:1000])  # truncated
    again = ensure_onnx(tmp_path, source, "onnx-int8", parity_texts=sample_texts)
    np.testing.assert_allclose(again.encode(TEXTS[:2]), onnx_int8.encode(TEXTS[:2]), atol=1e-6)


def test_an_export_of_an_older_format_is_exported_again(tmp_path, onnx_int8):
    old = tmp_path / "old"
    shutil.copytree(onnx_int8.folder, old)
    meta = json.loads((old / "export.json").read_text())
    assert onnxrt._fresh(old, load_embedder())
    (old / "export.json").write_text(json.dumps({**meta, "format": 1}))  # int8 with scales per tensor
    assert not onnxrt._fresh(old, load_embedder())  # so ensure_onnx exports again, here and in the shared cache


@pytest.mark.parametrize("kind", ["passage", "query"])
def test_int8_batches_without_moving_a_texts_vector(onnx_int8, kind):
    """Its activations are scaled per row: batched (it runs one text per run only for speed), padded
    behind a long text or not, each text keeps the vector it has alone."""
    from tests.test_embedder_contract import TEXTS as CONTRACT_TEXTS
    from tests.test_embedder_contract import check_batch_independence

    batched = OnnxEmbedder(onnx_int8.folder, "onnx-int8", batch=16)
    alone = onnx_int8.encode(CONTRACT_TEXTS, kind=kind)  # one text per run
    check_batch_independence(batched, kind, alone, batched.encode(CONTRACT_TEXTS, kind=kind), atol=1e-5)


def test_a_model_layout_the_exporter_does_not_know_is_refused(tmp_path):
    (tmp_path / "modules.json").write_text(json.dumps([{"type": "sentence_transformers.models.CLIPModel", "path": ""}]))
    with pytest.raises(ModelNotFound, match="ONNX export"):
        onnxrt._check_exportable(tmp_path)


@pytest.mark.parametrize("which", ["minilm_sample_workspace", "sample_workspace"])
def test_suggest_and_similar_never_import_torch_with_an_onnx_or_e5_index(which, request):
    workspace = request.getfixturevalue(which)
    manifest = workspace.read_manifest(workspace.current_version())
    assert manifest["model"]["backend"] == ("onnx-int8" if which == "minilm_sample_workspace" else "native")
    code = (
        "import sys\n"
        "from matcher import Matcher\n"
        f"m = Matcher.open({str(workspace.root)!r})\n"
        f"r = m.suggest({str(ROOT / 'data/sample/tenders/bridge-reconstruction.yaml')!r}, top_k=3)\n"
        "s = m.similar(text='tunnel boring')\n"
        "assert r.lots[0].suggestions and s.suggestions\n"
        "heavy = sorted(n for n in ('torch', 'transformers', 'sentence_transformers') if n in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_an_embedder_without_a_model_folder_has_no_onnx_backend(tmp_path):
    from tests.fakes import HashingEmbedder

    fake = HashingEmbedder()
    assert resolve_backend(tmp_path, fake, "auto", parity_texts=sample_texts) is fake
    with pytest.raises(ModelNotFound, match="--backend onnx: model hashing-fake has no ONNX export"):
        resolve_backend(tmp_path, fake, "onnx", parity_texts=sample_texts)
    with pytest.raises(ModelNotFound, match="no ONNX export"):
        ensure_onnx(tmp_path, fake, "onnx-int8", parity_texts=sample_texts)


def test_a_manifest_naming_an_export_outside_the_workspace_is_refused(tmp_path, onnx_int8):
    root = tmp_path / "ws"
    (root / "models").mkdir(parents=True)
    entry = {"name": onnx_int8.name, "backend": "onnx-int8", "backend_folder": str(onnx_int8.folder)}
    with pytest.raises(IndexCorrupt, match=r"v1/manifest.json names a model folder outside the workspace"):
        embedder_for_manifest(entry, root, root / "index" / "v1")
    entry["backend_folder"] = "models/../../elsewhere"
    with pytest.raises(IndexCorrupt, match="outside the workspace"):
        embedder_for_manifest(entry, root, root / "index" / "v1")
