"""The sd IR as text: the one MLIR emitter, resource blobs, the Ce code rule.

The bottom of the package: nothing here imports another smartdeal module
outside `smartdeal.ir`.

* `emitter`: `ModuleWriter`, the one writer of linalg/tensor/arith and sd
  MLIR text;
* `resources`: `dense_resource` blobs (writing, reading, key names);
* `codes`: the Ce code rule (codes <-> power-of-two values) and the
  SmartExchange storage rule of the sd-decompose report.
"""
