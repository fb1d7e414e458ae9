"""PNG plots for the driver's report (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

__all__ = ["energy_plot", "layer_plot"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def layer_plot(layers: List[dict], destination: Path) -> None:
    """Compression ratio and relative weight error per layer."""
    plt = _pyplot()
    names = [l["name"] for l in layers]
    ratios = [l.get("compression_ratio", 1.0) if l["form"] != "dense" else 1.0
              for l in layers]
    errors = [l.get("relative_error", 0.0) if l["form"] != "dense" else 0.0
              for l in layers]
    fig, (a, b) = plt.subplots(2, 1, figsize=(max(6, 0.28 * len(names)), 6),
                               sharex=True)
    colors = ["tab:blue" if l["form"] != "dense" else "tab:gray" for l in layers]
    a.bar(range(len(names)), ratios, color=colors)
    a.set_ylabel("compression ratio (x)")
    a.set_title("Per-layer compression (gray: left dense)")
    b.bar(range(len(names)), errors, color="tab:red")
    b.set_ylabel("relative weight error")
    b.set_xticks(range(len(names)))
    b.set_xticklabels(names, rotation=90, fontsize=6)
    fig.tight_layout()
    fig.savefig(destination, dpi=110)
    plt.close(fig)


def energy_plot(breakdown: Dict[str, Dict[str, float]], destination: Path) -> None:
    """Stacked energy per component for each configuration (e.g. dense vs SE)."""
    plt = _pyplot()
    configs = list(breakdown)
    parts = sorted({k for v in breakdown.values() for k in v})
    fig, ax = plt.subplots(figsize=(6, 4))
    bottom = [0.0] * len(configs)
    for part in parts:
        vals = [breakdown[c].get(part, 0.0) for c in configs]
        ax.bar(configs, vals, bottom=bottom, label=part)
        bottom = [x + y for x, y in zip(bottom, vals)]
    ax.set_ylabel("energy (uJ)")
    ax.set_title("Accelerator energy per inference")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(destination, dpi=110)
    plt.close(fig)
