//===- Passes.td - Dialect-independent sd passes -----------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Passes that touch no sd op: they prepare any module for the tools, or
// compile the dense (upstream linalg) parts of a model in the CPU backend
// (the upstream counterpart is mlir/Transforms).
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

//===----------------------------------------------------------------------===//
// SDIntWeights
//===----------------------------------------------------------------------===//

def SDIntWeightsPass : Pass<"sd-int-weights", "mlir::func::FuncOp"> {
  let summary = "Store int-k weights as packed k-bit integers with per-channel scales";
  let description = [{
    An f32 weight constant of rank >= 2 that feeds a linalg op (a
    convolution filter, an FC weight in either layout) and whose values lie
    on a per-output-channel integer grid (`W = q * s[c]`, `|q| < 2^(k-1)`,
    k <= 8, every value reproduced to 2^-18 of its channel's largest; the
    channel is the leading dimension, else the trailing one) is replaced by
    `s[c] * decode(planes)`: the planes store q as k-bit two's-complement
    integers, exactly k bits per weight (fields of 4, 2 and 1 bits, see
    IntWeights.cpp), `s` is one f32 per channel, and the decode is a
    linalg.generic the CPU pipeline vectorizes. The artifact then stores
    the bits a plan's int-k layer is reported at, and each call rebuilds the
    f32 weight from them before the layer reads it. Constants with fewer
    than `min-weights` values, or where the scales would cost more than
    half the f32 bytes, are left alone.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::tensor::TensorDialect"
  ];
  let options = [
    Option<"minWeights", "min-weights", "int64_t", "64",
           "Smallest filter (values) worth storing as integers">
  ];
}

//===----------------------------------------------------------------------===//
// SDVectorizeDense
//===----------------------------------------------------------------------===//

def SDVectorizeDensePass
    : Pass<"sd-vectorize-dense", "mlir::func::FuncOp"> {
  let summary = "Tile and vectorize the dense linalg ops (upstream recipe)";
  let description = [{
    The parts of a model that stay dense (stems, int-k layers, attention
    matmuls, elementwise ops) get upstream MLIR's code generation instead
    of scalar loops: convolutions become im2col plus a matmul-like generic
    (the filter cast as it is read, so i8 filters work), every linalg op is tiled with
    `scf::tileUsingSCF` so a tile is `lanes` wide along the output's
    contiguous dimension (and, for contractions, `rows` output rows by
    `depth` reduction steps), each tile is vectorized with
    `linalg::vectorize`, and accumulators are hoisted out of the reduction
    loops. Tile sizes are the largest divisors of the loop ranges not above
    the targets, so tiles are static and unmasked. NCHW depthwise
    convolutions with unit width stride first become one elementwise
    generic over their window taps (shifted input slices, same sum order),
    and constant pads a fill placed before the padded value's producer plus
    an insert (the producer then writes into the padded buffer). Ops the
    vectorizer rejects (pooling windows in NCHW) are left whole.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect",
    "mlir::ub::UBDialect",
    "mlir::vector::VectorDialect"
  ];
  let options = [
    Option<"lanes", "lanes", "int64_t", "8",
           "Vector width along the output's last dimension">,
    Option<"rows", "rows", "int64_t", "4",
           "Output rows per contraction tile">,
    Option<"depth", "depth", "int64_t", "16",
           "Reduction steps per contraction tile">
  ];
}

//===----------------------------------------------------------------------===//
// SDFoldGlobalConstants
//===----------------------------------------------------------------------===//

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
