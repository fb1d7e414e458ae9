//===- Passes.td - Dialect-independent sd passes -----------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Passes that touch no sd op: they prepare any module for the tools (the
// upstream counterpart is mlir/Transforms).
//
//===----------------------------------------------------------------------===//

#ifndef SD_TRANSFORMS_PASSES_TD
#define SD_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SDEmitCInterfacePass : Pass<"sd-emit-c-interface", "mlir::ModuleOp"> {
  let summary = "Give every public function a plain C entry point";
  let description = [{
    Marks every public `func.func` with `llvm.emit_c_interface`, so that
    after lowering to LLVM each one also exists as
    `_mlir_ciface_<name>(result*, arg*...)` taking pointers to plain C
    memref descriptors (`{float *allocated, *aligned; int64_t offset,
    sizes[rank], strides[rank];}`). This is what a C or C++ program links
    against when it calls a model compiled to an object file or shared
    library.
  }];
}

#endif // SD_TRANSFORMS_PASSES_TD
