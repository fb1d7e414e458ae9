//===- Passes.td - sd conversion passes --------------------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_CONVERSION_PASSES_TD
#define SD_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// SDToLinalg
//===----------------------------------------------------------------------===//

def ConvertSDToLinalgPass
    : Pass<"convert-sd-to-linalg"> {
  let summary = "Lower sd ops to linalg on rebuilt dense weights (the "
                "reference semantics)";
  let description = [{
    Rewrites every sd op into upstream linalg, tensor and arith ops that
    compute the same values the slow, obvious way: each compressed weight is
    rebuilt densely (Ce codes decoded through a table of powers of two, then
    `Ce * B` per block, padding dropped) and each compute op becomes the
    linalg op it is defined by. The result runs on any upstream backend and
    is the oracle that the CPU and accelerator backends are checked against.

    Before:
    ```mlir
    %y = sd.shift_add_matmul ins(%x, %w : tensor<2x20xf32>, !sd.se<...>)
           outs(%init : tensor<2x16xf32>) -> tensor<2x16xf32>
    ```
    After (abridged):
    ```mlir
    %codes = arith.constant dense<...> : tensor<16x1x7x3xi8>
    %rows = linalg.generic ... // Ce * B per block
    %w = tensor.extract_slice ... : tensor<16x20xf32>
    %y = linalg.generic ... // y[b, n] += x[b, k] * w[n, k]
    ```
    The pass runs on any op (a module or a function). Weights that are not
    defined by `sd.se_constant` or
    `sd.permdiag_constant` in the same function cannot be lowered and are
    reported.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::tensor::TensorDialect"
  ];
  let statistics = [
    Statistic<"numRebuilt", "weights-rebuilt",
              "Number of compressed weights rebuilt densely">
  ];
}

//===----------------------------------------------------------------------===//
// SDToCPU
//===----------------------------------------------------------------------===//

def ConvertSDToCPUPass : Pass<"convert-sd-to-cpu"> {
  let summary = "Lower sd ops to vectorized CPU kernels on compressed weights";
  let description = [{
    Rewrites `sd.shift_add_matmul` and `sd.shift_add_conv2d` into loops over
    tiles of `tile-rows` output rows. Each tile's weights are rebuilt from
    the Ce codes and bases into a small buffer (`tile-rows x K` floats,
    never the whole layer) with vector ops: a Ce code becomes the float
    `sign * 2^p` by building its exponent bits directly (no multiply, no
    table), and each row of 3 weights is three fused multiply-adds of the
    codes with the block's basis. The tile is then used for every row of
    the input by a dot-product kernel with 8-wide vector accumulators.
    Convolutions go through an im2col tensor whose rows are ordered like the
    weight rows (c, r, s), then the same kernel.

    The codes stay in memory as one byte each and B as f32, so a layer
    reads about a quarter of the bytes of its dense fp32 weight.

    `sd.permdiag_matmul` becomes a loop nest of O(M * N / p) vector
    multiply-adds with no gather and no index memory beyond one offset per
    block: output rows `i*p .. i*p+p` take, from each block column `j`, the
    input slice `x_j` rotated by the block's offset `k_ij`, which is the
    contiguous p-lane load `[k_ij, k_ij + p)` of `x_j` written twice in a
    row (the input is doubled once per call). `permdiag-rows` input rows
    share every load of a block's values and offset; products are added in
    the reference lowering's order, so results are bit-identical to it.

    With `code-stream` (the default) the codes are stored as the
    decomposition report counts them, an entry bitmap plus a
    ceil(log2 D)-bit index per non-zero code into a table of the distinct
    codes; the first call decodes them into a zero-initialized module
    buffer of code planes that every call's kernels read (see
    CodeStream.cpp); results are unchanged. This needs the module as the
    pass root; elsewhere the planes are stored.

    Exponent ranges must lie within the normal f32 range ([-126, 127]).
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::bufferization::BufferizationDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect"
  ];
  let options = [
    Option<"tileRows", "tile-rows", "int64_t", "8",
           "Weight rows rebuilt per tile (the largest divisor of the output "
           "count not above this is used)">,
    Option<"permdiagRows", "permdiag-rows", "int64_t", "8",
           "Input rows that share each load of a permuted-diagonal block">,
    Option<"codeStream", "code-stream", "bool", "true",
           "Store Ce codes as an entry bitmap plus indices of the non-zero "
           "codes (the report's storage rule), decoded once, by the first "
           "call, into the kernels' code planes, when smaller than the "
           "planes">
  ];
}

//===----------------------------------------------------------------------===//
// MemRefCopyToLinalg
//===----------------------------------------------------------------------===//

def ConvertMemRefCopyToLinalgPass
    : Pass<"convert-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    Bufferization copies between strided memrefs (padding, transposes) with
    `memref.copy`, which the LLVM lowering turns into a call to the
    `memrefCopy` function of MLIR's C runner library. Rewriting the copies
    as `linalg.copy` lets them lower to plain loops, so compiled models are
    self-contained object files with no runtime library to ship.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

#endif // SD_CONVERSION_PASSES_TD
