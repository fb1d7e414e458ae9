//===- Passes.td - sd dialect passes -----------------------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_TRANSFORMS_PASSES_TD
#define SD_DIALECT_SD_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SDDecomposePass : Pass<"sd-decompose", "mlir::ModuleOp"> {
  let summary = "Decompose constant layer weights into SmartExchange Ce*B form";
  let description = [{
    Finds the constant weights of fully connected and convolution layers in
    the forms torch-mlir emits and rewrites each eligible layer into sd ops
    whose weight is stored as `W ~ Ce * B` (power-of-two Ce codes, one 3x3 B
    per block of at most `block-rows` rows):

    * `linalg.conv_2d_nchw_fchw` and `linalg.conv_2d_nhwc_fhwc` with any
      kernel shape -> `sd.shift_add_conv2d` (rows of 3 along each filter's
      C*R*S values);
    * `linalg.matmul` (plain or with transposed indexing maps) ->
      `sd.shift_add_matmul`;
    * `linalg.batch_matmul` whose weight is the same matrix for every batch
      -> `sd.shift_add_matmul` on the 3-D input.

    The weight operand is traced back to its `arith.constant` (`dense<...>`
    or `dense_resource<...>`) through any chain of layout-only ops:
    `linalg.transpose`, `linalg.broadcast`, `linalg.copy`,
    `tensor.collapse_shape` / `expand_shape` / `cast` / `reshape`, and
    copying `linalg.generic`s whose output map is a permutation and whose
    input map picks loops or fixed positions (TorchScript's transposing and
    broadcasting generics). A layer stays dense, with a remark saying why,
    when it is depthwise or grouped or in another convolution form, its
    data is elided (`dense_resource<__elided__>`), its weight is computed
    by anything else or differs along the batch, it is not f32, or it has
    fewer than `min-size` values. Everything else in the module (ml_program
    globals, cf.assert, pooling, attention products) is left as it is.

    Before:
    ```mlir
    %w = arith.constant dense_resource<fc1_weight> : tensor<64x128xf32>
    %wt = linalg.transpose ins(%w : tensor<64x128xf32>)
            outs(%e : tensor<128x64xf32>) permutation = [1, 0]
    %y = linalg.matmul ins(%x, %wt : tensor<1x128xf32>, tensor<128x64xf32>)
           outs(%init : tensor<1x64xf32>) -> tensor<1x64xf32> loc("fc1")
    ```
    After:
    ```mlir
    %w = sd.se_constant codes(dense_resource<fc1_ce> : tensor<64x1x43x3xi8>)
           basis(dense_resource<fc1_b> : tensor<64x1x3x3xf32>)
           : !sd.se<64x128xf32, blocks = 1x43, exponents = [-8, 5]>
    %y = sd.shift_add_matmul ins(%x, %w : tensor<1x128xf32>, !sd.se<...>)
           outs(%init : tensor<1x64xf32>) -> tensor<1x64xf32>
    ```

    Layers are named by their `loc("name")` when they have one, else by the
    weight's resource name, else `layer<index>`; the index counts candidate
    layers in module order. `plan=FILE` reads a plan file (JSON, the one
    format of include/SD/Compression/Plan.h and docs/Driver.md): its
    `defaults` override the pass options and its `layers` entries (by name
    or index) set `threshold`, `iterations`, `min-exp`, `max-exp`,
    `block-rows`, `structured-fraction`, `row-threshold`, `column-scale`
    and `skip` per layer, plus `form` (`se`, `permdiag`, `int` or `dense`;
    only `se` layers, the default, are decomposed, the others stay dense
    with a remark) and the keys of the other forms (`p`, `bits`,
    `rounding`). An unused entry whose form is `permdiag` is not warned
    about: sd-permdiag, run first, has taken that layer. A malformed plan is
    an error naming the file and the JSON path of the bad value.

    `report` writes a JSON report per layer
    (shape, blocks, non-zeros, exponent histogram, bits, compression ratio,
    relative reconstruction error, time) and a readable table next to it
    (`FILE` with `.md` in place of its extension).
  }];
  let dependentDialects = [
    "mlir::sd::SDDialect"
  ];
  let options = [
    Option<"threshold", "threshold", "double", "1e-3",
           "Zero Ce entries smaller than this (theta)">,
    Option<"iterations", "iterations", "int", "30",
           "Alternating minimization steps per block (iternum)">,
    Option<"minExp", "min-exp", "int", "-8",
           "Smallest power-of-two exponent of a Ce entry">,
    Option<"maxExp", "max-exp", "int", "5",
           "Largest power-of-two exponent of a Ce entry">,
    Option<"blockRows", "block-rows", "int64_t", "192",
           "Largest block, in rows of 3, that shares one basis B">,
    Option<"structuredFraction", "structured-fraction", "double", "0.0",
           "SmartDeal: fraction of kernel rows pruned per group of 32 "
           "filters before decomposing">,
    Option<"rowThreshold", "row-threshold", "bool", "false",
           "Zero Ce rows whose L1 norm is below 5 * threshold">,
    Option<"columnScale", "column-scale", "bool", "false",
           "Scale Ce columns before power-of-two rounding "
           "(decompose_scale)">,
    Option<"minSize", "min-size", "int64_t", "1024",
           "Leave weights with fewer values than this dense">,
    Option<"planFile", "plan", "std::string", "\"\"",
           "Per-layer plan file (JSON; docs/Driver.md)">,
    Option<"report", "report", "std::string", "\"\"",
           "Write a per-layer JSON report (and a .md table) to this file">
  ];
  let statistics = [
    Statistic<"numDecomposed", "layers-decomposed",
              "Layers rewritten into SmartExchange form">,
    Statistic<"numSkipped", "layers-left-dense",
              "Candidate layers left dense">
  ];
}

def SDPermDiagPass : Pass<"sd-permdiag", "mlir::ModuleOp"> {
  let summary = "Project fully connected weights onto PermDNN permuted "
                "diagonals";
  let description = [{
    Rewrites constant fully connected weights (the linalg.matmul and
    linalg.batch_matmul forms `sd-decompose` recognizes) into
    `sd.permdiag_constant` + `sd.permdiag_matmul`: the M x N weight is
    zero-padded to multiples of p and cut into p x p blocks, and each block
    keeps the permuted diagonal (offset k, values at column (c + k) mod p of
    row c) with the most energy, ties to the smaller offset. Storage drops by
    about p (32-bit values plus ceil(log2 p) bits of offset per block); no
    index memory. Padding rows and columns hold zeros, take part in the
    offset choice as zeros, and are dropped by every lowering.

    Before:
    ```mlir
    %y = linalg.matmul ins(%x, %wt : tensor<1x4xf32>, tensor<4x3xf32>)
           outs(%i : tensor<1x3xf32>) -> tensor<1x3xf32> loc("fc")
    ```
    After (p = 2):
    ```mlir
    %w = sd.permdiag_constant offsets(dense<...> : tensor<2x2xi32>)
           values(dense<...> : tensor<2x2x2xf32>) : !sd.permdiag<3x4xf32, p = 2>
    %y = sd.permdiag_matmul ins(%x, %w : tensor<1x4xf32>, !sd.permdiag<3x4xf32, p = 2>)
           outs(%i : tensor<1x3xf32>) -> tensor<1x3xf32>
    ```

    With `convolutions`, 1x1 convolutions (NCHW or NHWC, any stride,
    groups 1) are projected over their (output, input) channel matrix too
    and become `sd.permdiag_matmul` on the pixels as rows (strided slice,
    transposes to and from channels-last for NCHW).

    Which layers: a layer is projected when its form is `permdiag`, it is
    not skipped, it is listed in `layers` (when that is given) and it has at
    least `min-size` values. Without a plan every layer's form is the pass's
    `form`; with `plan=FILE` (the plan file sd-decompose reads, docs/Driver.md)
    it is the layer's plan `form`, else the plan defaults' `form`, else `se`,
    and its `p` and `skip` come from the plan too. The other forms' keys
    are accepted and ignored, so one plan file drives both passes:

        {"layers": {"fc1": {"form": "permdiag", "p": 8},
                    "conv1": {"skip": true}}}

    with `--sd-permdiag=plan=FILE --sd-decompose=plan=FILE` projects fc1
    with p = 8 and leaves everything else to sd-decompose (which leaves
    layers whose form is not `se` dense). A layer this pass converts is no
    longer a candidate for sd-decompose, so later layer indices shift: plans
    should name layers.

    `report` writes the per-layer JSON and Markdown report: p, kept energy
    (the share of ||W||^2 the diagonals keep), relative Frobenius error,
    padded shape, bits and compression ratio.
  }];
  let dependentDialects = ["mlir::sd::SDDialect", "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "4",
           "p: the side of each permuted-diagonal block">,
    ListOption<"layers", "layers", "std::string",
               "Only these layers (names or indices); all when empty">,
    Option<"minSize", "min-size", "int64_t", "1024",
           "Leave weights with fewer values dense">,
    Option<"form", "form", "std::string", "\"permdiag\"",
           "Form of every layer when there is no plan: permdiag "
           "(project them), se or dense (leave them)">,
    Option<"convolutions", "convolutions", "bool", "false",
           "Also project 1x1 convolutions over their channel dimensions">,
    Option<"planFile", "plan", "std::string", "\"\"",
           "Per-layer plan file (JSON; docs/Driver.md)">,
    Option<"report", "report", "std::string", "\"\"",
           "Write a per-layer JSON report (and a .md table) to this file">
  ];
  let statistics = [
    Statistic<"numProjected", "layers-projected",
              "Layers rewritten into permuted-diagonal form">
  ];
}

def SDQuantizePass : Pass<"sd-quantize", "mlir::ModuleOp"> {
  let summary = "Post-training quantization of layers into the accelerator's "
                "int8 format";
  let description = [{
    Rewrites every layer the accelerator can run into the integer ops of
    docs/QuantizedArithmetic.md, with int8 activation scales from a
    calibration-statistics file (`stats`, written by running the float
    model on calibration inputs; format in docs/Accelerator.md):

    * `sd.shift_add_conv2d` (NCHW, no dilation) -> `sd.quantized_conv2d`;
    * `sd.shift_add_matmul` / `sd.permdiag_matmul` -> `sd.quantized_matmul`
      (inputs of rank > 2 are collapsed to `[rows, K]` and the result
      expanded back);
    * `linalg.depthwise_conv_2d_nchw_chw` on a constant weight ->
      `sd.quantized_depthwise_conv2d`;
    * a `linalg.generic` adding two activations of the same shape ->
      `sd.quantized_add`;
    * `linalg.pooling_nchw_max` (padding with -inf) ->
      `sd.quantized_max_pool2d`.

    A layer's zero-initialized accumulator, the per-channel bias add that
    follows it (`linalg.generic` adding a constant 1-D tensor: the bias is
    folded into the integer bias) and a following ReLU (`maximumf` with 0)
    are fused into it. Zero `tensor.pad` and reshapes of the input become
    int8 pads and reshapes.
    Float values enter int8 through `sd.quantize` and leave through
    `sd.dequantize`; a dequantize feeding a quantize of the same scale
    folds away, so consecutive accelerator layers exchange int8 tensors.

    Every other compute op stays on the host (float), with a remark saying
    why; so does a layer whose input or output has no statistics, or whose
    scales cannot be requantized. `report=FILE` writes each decision as
    JSON (`name`, `op`, `target` = `accelerator` or `host`, `reason`,
    scales).

    Scales: `s = max|x| / 127` per tensor (symmetric int8; 1/127 for a
    tensor that was always 0). A value is named by its defining op's
    `loc("name")` when no user has the same name (the output of a node
    lowered into several ops); the k-th output of a name (k >= 1, IR order)
    is `name#k`; function arguments are `arg0`, `arg1`, ... Zero pads and
    reshapes keep the name of their source.

    Channel equalization: where float host code meets a depthwise layer and
    the statistics give per-channel ranges (`channel_max_abs`), the host
    scales input channel c by b_c = R_x / r_x,c before `sd.quantize` and
    output channel c by 1 / a_c = r_y,c / R_y after `sd.dequantize`, and
    the layer computes with weights W_c * a_c / b_c and bias bias_c * a_c:
    per-channel scales at the host boundary in the per-layer int8 format
    (factors capped at 2^10). `host=NAME,...` keeps the named layers float.
  }];
  let dependentDialects = ["mlir::sd::SDDialect", "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect"];
  let options = [
    Option<"stats", "stats", "std::string", "\"\"",
           "Calibration statistics (JSON) giving max|x| per named tensor">,
    Option<"report", "report", "std::string", "\"\"",
           "Write the per-op accelerator/host decisions (JSON) to this file">,
    ListOption<"host", "host", "std::string",
               "Layers (loc names) kept float on the host: the ones a "
               "calibration found int8 costs accuracy in">
  ];
  let statistics = [
    Statistic<"numAccelerator", "ops-quantized",
              "Layers rewritten into the accelerator's integer format">,
    Statistic<"numHost", "ops-on-host", "Compute ops left on the host">
  ];
}

def SDRoundBasisPass : Pass<"sd-round-basis", "mlir::ModuleOp"> {
  let summary = "Round SmartExchange bases to the bits the report counts";
  let description = [{
    Rounds every `sd.se_constant` basis to `bits`-bit integers times one
    power of two per output row (all of the row's blocks): `B = q * 2^e`,
    `|q| <= 2^(bits-1) - 1`, e the smallest that fits the row's largest
    magnitude. The decomposition report counts each basis entry at 8 bits;
    after this pass the model computes with such bases, and since
    `q * 2^e` is exact in f32 the CPU backend stores q in 8 bits plus the
    row's scale and rebuilds the same values (`--sd-cpu-to-llvm`). The
    driver runs it after the decomposition and the refits, before the
    export, so every consumer reads the rounded bases.
  }];
  let options = [
    Option<"bits", "bits", "int", "8",
           "Bits per basis entry (2 to 16)">
  ];
}

def SDPartitionPass : Pass<"sd-partition", "mlir::ModuleOp"> {
  let summary = "Outline the accelerator's segments of quantized functions";
  let description = [{
    After `--sd-quantize`, cuts every function into host code and
    accelerator segments: each maximal run of consecutive accelerator ops
    (`sd.quantized_*`, and the int8 zero `tensor.pad` / `tensor.collapse_shape`
    whose only user is the next accelerator op of the run; constants do not
    break a run and are cloned into the segment that uses them) becomes a
    private function `@<function>_acc<N>` marked `sd.accelerator`, taking
    the int8 values the run reads from the host and returning those the host
    reads, and is replaced by a `func.call`. Each segment is what
    `sd-translate --sd-to-sdacc --sdacc-function=<name>` turns into one
    program; the CPU backend compiles the calls like any other (the CPU
    quantized mode of the whole model is unchanged).
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
  let statistics = [
    Statistic<"numSegments", "segments", "Accelerator segments outlined">
  ];
}

def SDSchedulePass : Pass<"sd-schedule", "mlir::ModuleOp"> {
  let summary = "Split and tile accelerator layers to the buffers of the hardware configuration";
  let description = [{
    After `--sd-quantize`, before `--sd-partition`: every pooling or
    depthwise layer (`sd.quantized_max_pool2d`, `sd.quantized_avg_pool2d`,
    `sd.quantized_depthwise_conv2d`) whose band of one output row of every
    channel does not fit half the input and output buffers of the hardware
    configuration (`config`, default the built-in one; the rule is the
    program builder's, `windowedRowFits`) is split into the fewest equal
    channel groups that fit: each group reads a channel slice of the input
    (`tensor.extract_slice`, with the zero pad the layer folds re-applied),
    has its slice of the weights and biases, and writes its channels of the
    result (`tensor.insert_slice`). The slices and inserts run on the host;
    each group is an accelerator layer of its own. A depthwise group's
    weights get their own scale (the format has one per layer), so the split
    model is the one both the CPU quantized mode and the accelerator run.

    Every convolution and fully connected layer with a SmartExchange weight
    then gets its tiling recorded as `sd.tiling = {band_rows, blocks_split,
    channels_per_group, loop_order}`: output channels per weight tile (and
    whether a group's blocks are split over tiles), output rows per input
    band (0: whole samples) and which loop runs outside. It is the program
    builder's rule (`planLayerTiling`) on this configuration; the exporter
    obeys the attribute and refuses a layer whose recorded tiles or bands do
    not fit the buffers.

    Last, a tiled layer whose result only the next tiled layer of the
    block reads (through at most a zero pad or a reshape, constants in
    between) keeps that result on chip when the builder's rule
    (`cascadeRefusal`) allows it: both inputs whole bands, input and output
    fitting the input buffer together. It gets the unit attribute
    `sd.cascade`; the program then writes the result into the input buffer
    (`move`) where the next layer reads it, with no DRAM store or load.
  }];
  let options = [
    Option<"config", "config", "std::string", "\"\"",
           "Hardware configuration JSON (default: the built-in one)">
  ];
  let dependentDialects = ["mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numSplit", "split-layers", "Layers split into channel groups">,
    Statistic<"numGroups", "groups", "Channel groups made">,
    Statistic<"numTiled", "tiled-layers",
              "Convolutions and fully connected layers given a tiling">,
    Statistic<"numCascaded", "cascades",
              "Layers whose output stays on chip for the next layer">
  ];
}

def SDOffloadPass : Pass<"sd-offload", "mlir::ModuleOp"> {
  let summary = "Run the accelerator segments through the accelerator runtime";
  let description = [{
    After `--sd-partition`, replaces the body of every `sd.accelerator`
    function `@F` by calls into the accelerator runtime (libSDAccelRuntime,
    lib/Runtime): `sdaccSetInput(k, arg_k)` for each argument,
    `sdaccRun("F")`, then `sdaccGetOutput(k, result_k)` into a fresh
    buffer for each result, all on `memref<*xi8>` (the C convention of
    unranked memrefs: rank and descriptor pointer). The runtime runs the
    program `F.sdacc` on the simulator; the host code around the calls is
    unchanged, so the CPU backend compiles the whole model into a library
    whose segments run on sd-sim. The segment's name is passed as a
    `memref.global` of its bytes. Segments listed in `host` keep their
    body: the CPU backend computes them (a segment the program builder
    cannot map yet still runs, on the host).
  }];
  let options = [
    ListOption<"host", "host", "std::string",
               "Segments left to the CPU backend">
  ];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numSegments", "segments", "Accelerator segments offloaded">
  ];
}

#endif // SD_DIALECT_SD_TRANSFORMS_PASSES_TD
