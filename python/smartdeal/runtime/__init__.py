"""Running compiled models and reading compressed ones back.

* `runner`: `@main` of a module on the CPU through sd-opt and mlir-runner;
* `aot`: calls into a library compiled ahead of time (scripts/sd-compile.sh);
* `compressed`: the layers of a compressed module rebuilt in NumPy;
* `source_export`: a compressed model written back in its source format.

Imports `smartdeal.ir` only.
"""
