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

def SDFoldGlobalConstantsPass
    : Pass<"sd-fold-global-constants", "mlir::ModuleOp"> {
  let summary = "Read immutable ml_program globals as arith.constant";
  let description = [{
    Replaces every `ml_program.global_load_const` and `ml_program.global_load`
    of an immutable `ml_program.global` (one with a value, as torch-mlir's
    FX path prints externalized parameters) by an `arith.constant` of that
    value, and erases the private globals nothing names any more. Upstream
    bufferization has no rule for `global_load_const`; mutable globals
    (`@global_seed`, buffers the program stores to) are left to it. The
    CPU pipelines run this first, so such modules compile and run.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif // SD_TRANSFORMS_PASSES_TD
