"""Per-layer budgets: compress the layers a model tolerates, leave the rest.

Post-training SmartExchange changes each weight by 10-20 % (relative
Frobenius error); some layers absorb that and some destroy the model. The
sensitivity pass scores every decomposed layer alone — the model with only
that layer replaced by Ce·B, measured on calibration inputs — and a greedy
selection then adds layers in order of storage saved per unit of damage,
keeping a layer only while the whole model still meets the budget. The
result is a plan (layers to skip) that sd-decompose and the driver accept.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

import onnx

from .compressed import CompressedLayer
from .export import replace_weights


@dataclass
class PlanResult:
    baseline: float
    chosen: List[str]
    skipped: List[str]
    score: float  # the metric with every chosen layer compressed
    sensitivity: Dict[str, float] = field(default_factory=dict)
    evaluations: int = 0

    def as_config(self) -> dict:
        return {"layers": {name: {"skip": True} for name in self.skipped}}


def select_layers(model: onnx.ModelProto, layers: Sequence[CompressedLayer],
                  metric: Callable[[onnx.ModelProto], float], budget: float,
                  dense_bits: Dict[str, int], bits: Dict[str, int]) -> PlanResult:
    """Greedy selection under `metric(model) >= baseline - budget`.

    `metric` scores a model (higher is better: accuracy, or minus an output
    error); `dense_bits` and `bits` give each layer's storage before and
    after compression, so the order favours layers that save the most for
    the least damage.
    """
    def variant(chosen: Sequence[CompressedLayer]) -> onnx.ModelProto:
        m = copy.deepcopy(model)
        replace_weights(m, chosen)
        return m

    baseline = metric(model)
    result = PlanResult(baseline, [], [], baseline)
    evaluations = 1
    damage = {}
    for layer in layers:
        score = metric(variant([layer]))
        evaluations += 1
        result.sensitivity[layer.name] = score
        damage[layer.name] = max(baseline - score, 0.0)
    saved = {l.name: dense_bits[l.name] - bits[l.name] for l in layers}
    order = sorted(layers, key=lambda l: (damage[l.name] / max(saved[l.name], 1),
                                          -saved[l.name]))
    chosen: List[CompressedLayer] = []
    score = baseline
    for layer in order:
        if damage[layer.name] > budget:
            result.skipped.append(layer.name)
            continue
        trial = metric(variant(chosen + [layer]))
        evaluations += 1
        if trial >= baseline - budget:
            chosen.append(layer)
            score = trial
        else:
            result.skipped.append(layer.name)
    result.chosen = [l.name for l in chosen]
    result.score = score
    result.evaluations = evaluations
    return result
