"""Per-layer compression plans: what form each weight layer takes.

Modules, each importing only those before it (and `smartdeal.ir`,
`importers`, `runtime`, `training.onnx_module` below the package):

* `graph`: ONNX graph helpers (weight layers, their outputs and input rows,
  constants, where a layer's bias lives);
* `fits`: data-aware fits (bases, code re-selection, int-k rounding, the
  sequential refit of a plan in graph order);
* `menus`: every layer's menu of forms with storage and output error, the
  greedy skip-only selection, bias correction;
* `sensitivity`: each menu entry's measured effect on the whole model and
  the allocation it drives;
* `planfile`: the plan file checked and applied (sd-opt invocation, int-k
  layers, merged report).
"""
