//===- Passes.td - The pipelines' contract check -----------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_PIPELINES_PASSES_TD
#define SD_PIPELINES_PASSES_TD

include "mlir/Pass/PassBase.td"

def SDCheckContractPass : Pass<"sd-check-contract", "mlir::ModuleOp"> {
  let summary = "Fail at the first op the next stage may not receive";
  let description = [{
    The last pass of every named pipeline: it states what the pipeline hands
    on and fails, with an error at the op, when the module holds anything
    else, so a gap shows where it arises instead of as a crash or a wrong
    result further down.

    * `stage=compressed` (end of `sd-compress`, read by `sd-quantize`, the
      CPU backend and the reference lowering): only builtin, func, arith,
      math, tensor, linalg, scf, cf, ml_program and sd ops.
    * `stage=accelerator` (end of `sd-to-accelerator`, read by
      `sd-translate --sd-to-sdacc`): every function marked `sd.accelerator`
      builds into a program for the hardware configuration `config` (the
      exporter's own checks, so its error names the op it cannot map).
    * `stage=llvm` (end of `sd-cpu-to-llvm`, `sd-reference-to-llvm` and
      `sd-tensor-to-llvm`, read by `mlir-translate --mlir-to-llvmir`): only
      LLVM and OpenMP dialect ops in the module.
  }];
  let options = [
    Option<"stage", "stage", "std::string", "\"\"",
           "What the next stage receives: compressed, accelerator or llvm">,
    Option<"configPath", "config", "std::string", "\"\"",
           "Hardware configuration JSON of stage=accelerator (default: the "
           "built-in smartdeal-default)">
  ];
}

#endif // SD_PIPELINES_PASSES_TD
