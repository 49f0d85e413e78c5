"""The CenterNet object detector: conversion checked against TF.js itself, decoding, real photos."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image
from skimage import data as samples

from catalog.domain.model import BoundingBox, Label
from indexer.recognizers.local.centernet_decode import candidates, decode, peaks
from indexer.recognizers.local.objects import (
    CenterNetDetector,
    DetectedObject,
    JudgedBox,
    ObjectModelMissingError,
    above_class_floors,
    class_floors,
    default_source_dir,
    ensure_onnx_model,
    load_judged_boxes,
    object_labels,
)
from indexer.recognizers.local.tfjs_onnx import TfjsFormatError, convert, read_weights

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> CenterNetDetector:
    model = CenterNetDetector(tmp_path_factory.mktemp("models"))
    model.load()
    return model


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


def tfjs_outputs(tmp_path: Path, x: np.ndarray, outputs: list[str]) -> list[np.ndarray]:
    """The TF.js graph's own outputs for input x, computed by @tensorflow/tfjs in node."""
    node = shutil.which("node")
    assert node, "node is needed (Node 20 is on every machine of this kind)"
    assert (REPO / "node_modules" / "@tensorflow" / "tfjs").is_dir(), (
        "run `make test` (it installs @tensorflow/tfjs)"
    )
    x.astype("<f4").tofile(tmp_path / "input.f32")
    subprocess.run(
        [
            node,
            str(REPO / "tests/indexer/recognizers/local/tfjs_reference.js"),
            str(default_source_dir()),
            str(tmp_path / "input.f32"),
            *map(str, x.shape[1:]),
            str(tmp_path / "out"),
            *outputs,
        ],
        check=True,
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    return [np.fromfile(tmp_path / f"out.{i}.f32", "<f4") for i in range(len(outputs))]


def test_conversion_matches_tfjs_on_a_real_photo(detector: CenterNetDetector, tmp_path: Path) -> None:
    x = detector.prepare(photo("coffee"))
    heatmap, sizes = detector.raw_outputs(x)
    ref_heat, ref_sizes, ref_det = tfjs_outputs(
        tmp_path, x, ["tower_0/keypoints", "tower_0/wh", "tower_0/detections"]
    )
    assert np.abs(heatmap.ravel() - ref_heat).max() < 1e-5
    # box sizes are up to ~500 px: relative agreement
    assert np.abs(sizes.ravel() - ref_sizes).max() < 1e-5 * max(1.0, float(np.abs(ref_sizes).max())) * 10
    # our decode's candidates are the graph's own `detections` tail (x1, y1, x2, y2, score, class)
    ours = np.array([[*d.box, d.score, d.class_index] for d in candidates(heatmap[0], sizes[0])])
    ref = ref_det.reshape(100, 6)
    assert (ours[:, 5] == ref[:, 5]).all()
    assert np.abs(ours[:, :5] - ref[:, :5]).max() < 5e-3


def test_finds_things_in_real_photos(detector: CenterNetDetector) -> None:
    astronaut = detector.detect(photo("astronaut"))
    assert astronaut[0].name == "Person" and astronaut[0].confidence > 50
    box = astronaut[0].box
    assert box.left < 0.1 and box.width > 0.6 and box.height > 0.8  # she fills the left of the frame
    assert astronaut[0].parents == ("Human",)
    coffee = {o.name for o in detector.detect(photo("coffee"))}
    assert "Cup" in coffee
    cat = detector.detect(photo("chelsea"))
    assert cat and cat[0].parents[-1] == "Animal"  # it calls the cat a dog (a known weak spot) but an animal


def test_a_blank_image_has_no_objects(detector: CenterNetDetector) -> None:
    assert detector.detect(Image.new("RGB", (640, 480), (128, 128, 128))) == []
    assert (
        detector.detect(Image.new("L", (3, 2000), 0)) == []
    )  # odd shapes and modes are resized, not refused


def test_decode_keeps_peaks_over_threshold_and_suppresses_within_a_class() -> None:
    heat = np.zeros((16, 16, 3), np.float32)
    sizes = np.full((16, 16, 4), 16.0, np.float32)
    heat[4, 4, 0], heat[4, 5, 0] = 0.9, 0.8  # neighbours: only the higher is a peak
    heat[6, 5, 0] = 0.7  # a second peak of class 0 whose box overlaps the first (IoU 0.49)
    heat[4, 4, 1] = 0.6  # another class at the same place survives NMS
    heat[10, 10, 2] = 0.2  # below the threshold
    assert peaks(heat)[4, 5, 0] == 0 and peaks(heat)[4, 4, 0] == np.float32(0.9)
    found = decode(heat, sizes, min_score=0.25, nms_iou=0.4)
    assert [(d.class_index, round(d.score, 2)) for d in found] == [(0, 0.9), (1, 0.6)]
    assert found[0].box == (0.0, 0.0, 32.0, 32.0)  # [4x − l, 4y − t, 4x + r, 4y + b]
    assert len(decode(heat, sizes, min_score=0.25, nms_iou=0.95)) == 3


@pytest.mark.parametrize("seed", range(4))
def test_candidates_over_a_bar_are_the_full_decode_cut_at_the_bar(seed: int) -> None:
    # the fast path (only cells over the bar are looked at) against the whole-map peak filter, on maps
    # with plateaus (equal neighbours), peaks on the border and more peaks over the bar than top_k
    rng = np.random.default_rng(seed)
    heat = np.round(rng.random((32, 24, 5)), 1).astype(np.float32) ** 2
    sizes = rng.random((32, 24, 4)).astype(np.float32) * 40
    for bar, top_k in ((0.25, 100), (0.5, 100), (0.25, 7)):
        fast = candidates(heat, sizes, top_k, min_score=bar)
        full = [d for d in candidates(heat, sizes, top_k=heat.size) if d.score >= bar][:top_k]
        assert fast == full and len(fast) > 0


def test_converter_refuses_what_it_does_not_know() -> None:
    spec = {
        "modelTopology": {
            "node": [
                {
                    "name": "x",
                    "op": "Placeholder",
                    "attr": {
                        "shape": {
                            "shape": {"dim": [{"size": "1"}, {"size": "4"}, {"size": "4"}, {"size": "1"}]}
                        }
                    },
                },
                {"name": "y", "op": "Softplus", "input": ["x"]},
            ]
        },
        "weightsManifest": [{"paths": ["w.bin"], "weights": []}],
    }
    with pytest.raises(TfjsFormatError, match="Softplus"):
        convert(json.dumps(spec).encode(), b"", ["y"])
    with pytest.raises(TfjsFormatError, match="not in the graph"):
        convert(json.dumps(spec).encode(), b"", ["z"])
    with pytest.raises(TfjsFormatError, match=r"not a TF\.js graph"):
        convert(b"{}", b"", ["y"])
    manifest = [
        {"weights": [{"name": "w", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}}]}
    ]
    assert read_weights(manifest, np.array([1.5, -2], np.float16).tobytes())["w"].tolist() == [1.5, -2.0]
    with pytest.raises(TfjsFormatError, match="too short"):
        read_weights(manifest, b"\x00\x00")


def test_a_tiny_graph_converts_exactly(tmp_path: Path) -> None:
    """A hand-made TF.js graph (strided SAME conv + Relu6, depthwise, resize, concat, mean) against numpy."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 3, 2, 4)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    dw = rng.normal(size=(3, 3, 4, 1)).astype(np.float32)
    weights = {
        "w": w,
        "b": b,
        "dw": dw,
        "size": np.array([4, 4], np.int32),
        "axis": np.array(3, np.int32),
        "red": np.array([1, 2], np.int32),
        "half": np.array(0.5, np.float32),
    }

    def attr(**kw: object) -> dict[str, object]:
        import base64

        out: dict[str, object] = {}
        for k, v in kw.items():
            if isinstance(v, str):
                out[k] = {"s": base64.b64encode(v.encode()).decode()}
            elif isinstance(v, list) and v and isinstance(v[0], str):
                out[k] = {"list": {"s": [base64.b64encode(s.encode()).decode() for s in v]}}
            elif isinstance(v, list):
                out[k] = {"list": {"i": [str(i) for i in v]}}
            else:
                out[k] = {"b": v}
        return out

    nodes = [
        {
            "name": "x",
            "op": "Placeholder",
            "attr": {
                "shape": {"shape": {"dim": [{"size": "1"}, {"size": "5"}, {"size": "5"}, {"size": "2"}]}}
            },
        },
        {
            "name": "conv",
            "op": "_FusedConv2D",
            "input": ["x", "w", "b"],
            "attr": attr(
                strides=[1, 2, 2, 1], padding="SAME", fused_ops=["BiasAdd", "Relu6"], data_format="NHWC"
            ),
        },
        {
            "name": "dwc",
            "op": "DepthwiseConv2dNative",
            "input": ["conv", "dw"],
            "attr": attr(strides=[1, 1, 1, 1], padding="SAME"),
        },
        {"name": "scaled", "op": "Mul", "input": ["half", "dwc"]},
        {
            "name": "up",
            "op": "ResizeBilinear",
            "input": ["scaled", "size"],
            "attr": attr(align_corners=False),
        },
        {"name": "mean", "op": "Mean", "input": ["up", "red"], "attr": {"keep_dims": {"b": True}}},
        {"name": "gated", "op": "Mul", "input": ["up", "mean"]},
        {"name": "cat", "op": "ConcatV2", "input": ["up", "gated", "axis"]},
        {"name": "out", "op": "Sigmoid", "input": ["cat"]},
    ]
    specs, blobs = [], []
    for name, value in weights.items():
        specs.append({"name": name, "shape": list(value.shape), "dtype": str(value.dtype)})
        blobs.append(value.tobytes())
    nodes += [{"name": name, "op": "Const"} for name in weights]
    spec = {"modelTopology": {"node": nodes}, "weightsManifest": [{"paths": ["w.bin"], "weights": specs}]}
    model = convert(json.dumps(spec).encode(), b"".join(blobs), ["out"])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = rng.normal(size=(1, 5, 5, 2)).astype(np.float32)
    (got,) = session.run(None, {"x": x})

    # numpy reference, NHWC; TF SAME with stride 2 on 5 px: out 3, pad total 2 → 1 before, 1 after
    xp = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    conv = np.array(
        [
            [np.einsum("hwc,hwco->o", xp[2 * i : 2 * i + 3, 2 * j : 2 * j + 3], w) for j in range(3)]
            for i in range(3)
        ]
    )
    conv = np.clip(conv + b, 0, 6)
    cp = np.pad(conv, ((1, 1), (1, 1), (0, 0)))
    dwc = np.array(
        [[np.einsum("hwc,hwc->c", cp[i : i + 3, j : j + 3], dw[..., 0]) for j in range(3)] for i in range(3)]
    )
    scaled = 0.5 * dwc
    # bilinear, align_corners=False, half_pixel_centers=False: source = dst * in/out, clamped
    src = np.arange(4) * 3 / 4
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, 2)
    f = src - lo
    rows = scaled[lo] * (1 - f)[:, None, None] + scaled[hi] * f[:, None, None]
    up = rows[:, lo] * (1 - f)[None, :, None] + rows[:, hi] * f[None, :, None]
    gated = up * up.mean(axis=(0, 1), keepdims=True)
    want = 1 / (1 + np.exp(-np.concatenate([up, gated], axis=-1)))
    assert got.shape == (1, 4, 4, 8)
    assert np.abs(got[0] - want).max() < 1e-5


def test_missing_or_foreign_model_files_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ObjectModelMissingError, match="make install"):
        ensure_onnx_model(tmp_path / "cache", tmp_path / "nowhere")
    source = tmp_path / "source"
    source.mkdir()
    for name in ("centernet.json", "centernet.bin"):
        (source / name).write_bytes(b"not the model")
    with pytest.raises(ObjectModelMissingError, match="delete it"):
        ensure_onnx_model(tmp_path / "cache", source)


def test_detections_become_labels_with_boxes_and_parents(detector: CenterNetDetector) -> None:
    box = BoundingBox(0.1, 0.1, 0.2, 0.2)
    found = [
        DetectedObject("Kite", ("Plaything",), 60.0, box),
        DetectedObject("Kite", ("Plaything",), 81.0, box),
        DetectedObject("Dog", ("Canine", "Pet", "Carnivore", "Mammal", "Animal"), 40.0, box),
    ]
    labels = {lb.name: lb for lb in object_labels(found, detector.ancestor_parents)}
    assert [i.confidence for i in labels["Kite"].instances] == [81.0, 60.0]  # best first
    assert labels["Kite"].confidence == 81.0 and labels["Plaything"].instances == ()
    assert labels["Canine"] == Label("Canine", 40.0, ("Carnivore", "Mammal", "Animal"))
    assert labels["Animal"].parents == ()
    # every ancestor the classes name is a label with parents of its own, themselves known
    known = set(detector.ancestor_parents)
    for cls in detector.classes:
        assert set(cls.parents) <= known
        assert all(set(detector.ancestor_parents[p]) <= known for p in cls.parents)


def test_the_cat_the_detector_calls_a_dog_is_named_by_the_classifier(
    detector: CenterNetDetector, tmp_path: Path
) -> None:
    """Real models on chelsea: the detector's lone "Dog" box becomes the classifier's cat, no Dog is left."""
    from catalog.domain.metadata import machine_labels
    from catalog.domain.model import Findings, RecognitionResult
    from indexer.recognizers.local.labels import EfficientNetLabeler

    cat = photo("chelsea")
    assert detector.detect(cat)[0].name == "Dog"  # the weak spot this is about
    labeler = EfficientNetLabeler(tmp_path)
    params = {"min_confidence": 50.0, "max_labels": 20, "tentative_confidence": 25.0}
    classified = labeler.predict(labeler.prepare(cat)[None], min_confidence=50, max_labels=20)[0]
    detected = object_labels(detector.detect(cat), detector.ancestor_parents)
    labels = machine_labels(
        {
            "labels": RecognitionResult(
                "a", "labels", "m", "1", Findings(labels=tuple(classified)), parameters=params
            ),
            "objects": RecognitionResult("a", "objects", "m", "1", Findings(labels=detected)),
        }
    )
    assert "Dog" not in {lb.name for lb in labels}
    first = labels[0]
    assert first.name == "Cat" and len(first.instances) == 1, (
        first
    )  # the breeds are unsure: Cat, with the box
    assert first.instances[0].box.width > 0.5  # the cat fills the frame


def test_a_class_needs_the_floor_when_its_weak_boxes_were_wrong_on_several_photos_and_right_on_none() -> None:
    def judged(name: str, image: str, confidence: float, right: bool) -> JudgedBox:
        return JudgedBox(image, name, confidence, right)

    boxes = [
        *(judged("Clock", f"photo{i}", 30.0, False) for i in range(3)),  # wrong on 3 photos
        *(judged("Ball", "candies", 40.0, False) for _ in range(6)),  # 6 boxes, but one photo
        *(judged("Person", f"photo{i}", 30.0, False) for i in range(4)),
        judged("Person", "crowd", 28.0, True),  # right once: weak Person boxes can be people
        *(judged("Kite", f"photo{i}", 60.0, False) for i in range(3)),  # at the floor: not weak
    ]
    assert class_floors(boxes) == {"Clock": 50.0}
    assert class_floors(boxes, min_wrong_photos=1) == {"Ball": 50.0, "Clock": 50.0}
    box = BoundingBox(0.1, 0.1, 0.2, 0.2)
    found = [DetectedObject("Clock", (), 49.0, box), DetectedObject("Person", (), 26.0, box)]
    found.append(DetectedObject("Clock", (), 50.0, box))
    assert above_class_floors(found, {"Clock": 50.0}) == found[1:]


def test_the_calibration_floors_the_classes_that_box_anything(detector: CenterNetDetector) -> None:
    judged, digest = load_judged_boxes()
    assert len(judged) >= 100 and {b.name for b in judged} <= {c.name for c in detector.classes}
    assert {"Clock", "Remote Control", "Stop Sign", "Kite", "Ball"} <= set(detector.class_floors)
    assert not {"Person", "Dog", "Car", "Bird", "Cup"} & set(detector.class_floors)
    # the objects analyzer's runs name the calibration; the people analyzer's (the raw boxes) do not
    assert detector.objects_version == f"{detector.version}.f{digest[:8]}" and ".f" not in detector.version


def test_one_thing_the_detector_boxes_as_two_classes_keeps_one_box(
    detector: CenterNetDetector, tmp_path: Path
) -> None:
    """Real models on scikit-image's logo: one peak scored as Kite and Person (the same box) is one box in
    the asset's labels (catalog.domain.labels.detections.one_name_per_thing)."""
    from catalog.domain.metadata import machine_labels
    from catalog.domain.model import Findings, RecognitionResult
    from indexer.recognizers.local.labels import EfficientNetLabeler

    logo = photo("logo")
    found = detector.detect(logo)
    assert any(
        a.name != b.name and a.box.iou(b.box) >= 0.7 for a in found for b in found
    )  # the detector's double naming this is about
    labeler = EfficientNetLabeler(tmp_path)
    params = {"min_confidence": 50.0, "max_labels": 20, "tentative_confidence": 25.0}
    classified = labeler.predict(labeler.prepare(logo)[None], min_confidence=50, max_labels=20)[0]
    labels = machine_labels(
        {
            "labels": RecognitionResult(
                "a", "labels", "m", "1", Findings(labels=tuple(classified)), parameters=params
            ),
            "objects": RecognitionResult(
                "a", "objects", "m", "1", Findings(labels=object_labels(found, detector.ancestor_parents))
            ),
        }
    )
    boxes = [(lb.name, i.box) for lb in labels for i in lb.instances]
    assert boxes and not any(a != c and b.iou(d) >= 0.7 for a, b in boxes for c, d in boxes), boxes
