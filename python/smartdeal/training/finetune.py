"""Fine-tuning loop and layer swapping."""

from __future__ import annotations

import math
import time
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import BucketSwitch, PermDiagLinear, SEConv2d, SELinear

__all__ = ["convert_model", "evaluate", "finetune"]


def convert_model(model: nn.Module, kind: str = "se", threshold: float = 1e-3,
                  exponents=(-8, 5), p: int = 4,
                  select: Optional[Callable[[str, nn.Module], bool]] = None,
                  **options) -> nn.Module:
    """Swap nn.Linear / nn.Conv2d layers of `model` (in place) and return it.

    kind="se": Linear -> SELinear, Conv2d -> SEConv2d (C++ decomposition with
    `threshold`, `exponents`, driver `options`). kind="permdiag": Linear ->
    PermDiagLinear with block size p (convolutions stay dense).
    `select(name, module)` restricts the swap (default: every candidate).
    """
    for name, child in list(model.named_modules()):
        for attr, sub in list(child.named_children()):
            full = f"{name}.{attr}" if name else attr
            if select is not None and not select(full, sub):
                continue
            new = None
            if kind == "se":
                if type(sub) is nn.Linear:
                    new = SELinear.from_dense(sub, threshold, exponents, **options)
                elif type(sub) is nn.Conv2d:
                    new = SEConv2d.from_dense(sub, threshold, exponents, **options)
            elif kind == "permdiag":
                if type(sub) is nn.Linear:
                    new = PermDiagLinear.from_dense(sub, p)
            else:
                raise ValueError(f"unknown kind {kind!r}")
            if new is not None:
                setattr(child, attr, new)
    return model


@torch.no_grad()
def evaluate(model: nn.Module, loader) -> float:
    """Top-1 accuracy over (x, y) batches."""
    model.eval()
    right = total = 0
    for x, y in loader:
        right += int((model(x).argmax(1) == y).sum())
        total += int(y.numel())
    return right / max(total, 1)


def finetune(model: nn.Module, loader, epochs: int = 1, lr: float = 1e-3,
             optimizer: str = "adam", bucket_switch: Optional[BucketSwitch] = None,
             log: Optional[Callable[[str], None]] = None,
             schedule: str = "constant") -> nn.Module:
    """Cross-entropy training; SE layers keep their form through the STE.

    With `bucket_switch`, the SE layers' Ce are left out of the optimizer and
    moved by `bucket_switch.step()` after every backward pass instead.
    `schedule="cosine"` decays the learning rate to 0 over the run (per
    epoch): the last epochs then settle the latent Ce instead of flipping
    codes back and forth across a power-of-two boundary.
    """
    exclude = {id(p) for p in (bucket_switch.parameters_to_exclude() if bucket_switch else [])}
    params = [p for p in model.parameters() if p.requires_grad and id(p) not in exclude]
    opt = (torch.optim.Adam(params, lr=lr) if optimizer == "adam"
           else torch.optim.SGD(params, lr=lr, momentum=0.9))
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"unknown schedule {schedule!r}")
    for epoch in range(epochs):
        if schedule == "cosine":
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        model.train()
        t0, seen, loss_sum = time.time(), 0, 0.0
        for x, y in loader:
            model.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if bucket_switch is not None:
                bucket_switch.step()
            seen += int(y.numel())
            loss_sum += float(loss) * int(y.numel())
        if log:
            log(f"epoch {epoch + 1}: loss {loss_sum / max(seen, 1):.4f} ({time.time() - t0:.1f}s)")
    model.eval()
    return model
