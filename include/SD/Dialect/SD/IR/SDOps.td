//===- SDOps.td - sd dialect operations --------------------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDOPS_TD
#define SD_DIALECT_SD_IR_SDOPS_TD

include "SD/Dialect/SD/IR/SDDialect.td"
include "SD/Dialect/SD/IR/SDAttributes.td"
include "SD/Dialect/SD/IR/SDTypes.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Operand and attribute constraints
//
// What ODS can say, it says: element types, ranks, array lengths and the sign
// of scales are checked by the generated verifier, with its own wording. The
// C++ verifiers keep only the rules that relate one operand to another.
//===----------------------------------------------------------------------===//

/// int8 activations of the quantized ops: static shapes, because both the
/// accelerator and the integer CPU lowering size their buffers from them.
def SD_I8Tensor
    : RankedTensorOf<[I8], [HasRankGreaterOrEqualPred<1>, HasStaticShapePred],
                     "statically shaped non-0-ranked tensor">;
/// int8 NCHW activations of the quantized convolutions and pooling.
def SD_I8Tensor4D
    : RankedTensorOf<[I8], [HasAnyRankOfPred<[4]>, HasStaticShapePred],
                     "statically shaped 4D tensor">;
/// The raw float weight of a depthwise convolution (C x 1 x R x S).
def SD_StaticF32Tensor4D
    : RankedTensorOf<[F32], [HasAnyRankOfPred<[4]>, HasStaticShapePred],
                     "statically shaped 4D tensor">;
/// The raw float weight of a dense layer in the accelerator's `dense` format
/// (N x K).
def SD_StaticF32Tensor2D
    : RankedTensorOf<[F32], [HasAnyRankOfPred<[2]>, HasStaticShapePred],
                     "statically shaped 2D tensor">;
/// The float bias of a quantized layer, one value per output channel.
def SD_F32Bias : 1DTensorOf<[F32]>;
/// A float tensor on the host side of sd.quantize / sd.dequantize.
def SD_F32Tensor : RankedTensorOf<[F32]>;
/// Float activations of the compute ops (element type: the weight's).
def SD_FloatTensor : RankedTensorOf<[AnyFloat], [HasRankGreaterOrEqualPred<1>],
                                    "non-0-ranked tensor">;
def SD_FloatTensor4D : 4DTensorOf<[AnyFloat]>;

/// A SmartExchange weight whose dense form has the given rank.
class SD_SEWeightOfRank<int rank, string what>
    : Type<And<[SD_SEWeightType.predicate,
                CPred<"::llvm::cast<::mlir::sd::SEWeightType>($_self)"
                      ".getShape().size() == " # rank>]>,
           "rank-" # rank # " (" # what # ") SmartExchange weight",
           "::mlir::sd::SEWeightType">;
def SD_SEWeight2D : SD_SEWeightOfRank<2, "N x K">;
def SD_SEWeight4D : SD_SEWeightOfRank<4, "F x C x R x S">;
/// A fully connected weight: rank-2 SmartExchange, or permuted-diagonal
/// (always rank 2, by its type's verifier).
def SD_AnyWeight2D : AnyTypeOf<[SD_SEWeight2D, SD_PermDiagWeightType],
                               "rank-2 (N x K) compressed sd weight">;
/// The weights a quantized layer takes: compressed, or a dense float
/// constant (quantized to int8 with one power-of-two scale per layer).
def SD_QuantizedWeight2D
    : AnyTypeOf<[SD_SEWeight2D, SD_PermDiagWeightType, SD_StaticF32Tensor2D],
                "rank-2 (N x K) compressed sd weight or f32 tensor">;
def SD_QuantizedWeight4D
    : AnyTypeOf<[SD_SEWeight4D, SD_StaticF32Tensor4D],
                "rank-4 (F x C x R x S) SmartExchange weight or f32 tensor">;

/// A scale the integer requantization can use.
def SD_ScaleAttr : ConfinedAttr<F64Attr, [AttrConstraint<
    CPred<"::llvm::cast<::mlir::FloatAttr>($_self).getValueAsDouble() > 0 && "
          "std::isfinite(::llvm::cast<::mlir::FloatAttr>($_self)"
          ".getValueAsDouble())">,
    "whose value is positive and finite">]>;
/// Two positive sizes along H and W (strides, dilations, pooling windows).
def SD_HWAttr : ConfinedAttr<DenseI64ArrayAttr, [DenseArrayCount<2>,
    DenseArrayStrictlyPositive<DenseI64ArrayAttr>]>;
/// Padding [top, left, bottom, right], none negative.
def SD_PaddingAttr : ConfinedAttr<DenseI64ArrayAttr, [DenseArrayCount<4>,
    DenseArrayNonNegative<DenseI64ArrayAttr>]>;
/// Strides and dilations default to 1.
def SD_DefaultHWAttr : DefaultValuedAttr<SD_HWAttr, "{1, 1}">;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def SD_SEConstantOp : SD_Op<"se_constant", [Pure]> {
  let summary = "A SmartExchange-decomposed constant weight";
  let description = [{
    Defines a weight `W ~ Ce * B` from constant Ce codes and bases. `codes`
    is a signless integer tensor of 2 to 8 bits shaped
    `[O, numBlocks, blockRows, 3]`; each code is zero or names `+-2^p` inside
    the type's exponent range (`c -> sign(c) * 2^(minExp + |c| - 1)`).
    `basis` holds one 3x3 B per block, `[O, numBlocks, 3, 3]`, in the weight's
    element type. Either may be a `dense` or a `dense_resource` attribute;
    large weights use `dense_resource` blobs so files stay small.

    ```mlir
    %w = sd.se_constant codes(dense_resource<fc1_ce> : tensor<16x1x7x3xi8>)
           basis(dense_resource<fc1_b> : tensor<16x1x3x3xf32>)
           : !sd.se<16x20xf32, blocks = 1x7, exponents = [-8, 5]>
    ```
  }];
  let arguments = (ins ElementsAttr:$codes, ElementsAttr:$basis);
  let results = (outs SD_SEWeightType:$result);
  let assemblyFormat = [{
    `codes` `(` $codes `)` `basis` `(` $basis `)` attr-dict `:`
    qualified(type($result))
  }];
  let hasVerifier = 1;
}

def SD_PermDiagConstantOp : SD_Op<"permdiag_constant", [Pure]> {
  let summary = "A PermDNN permuted-diagonal constant weight";
  let description = [{
    Defines an `M x N` weight from one offset per `p x p` block
    (`offsets`, integers shaped `[ceil(M/p), ceil(N/p)]`, each in `[0, p)`)
    and the `p` values of every block (`values`, shaped
    `[ceil(M/p), ceil(N/p), p]` in the weight's element type). Row `c` of
    block `(i, j)` holds `values[i, j, c]` at column `(c + offsets[i, j])
    mod p`.

    ```mlir
    %w = sd.permdiag_constant offsets(dense<[[0, 1]]> : tensor<1x2xi32>)
           values(dense<1.0> : tensor<1x2x2xf32>)
           : !sd.permdiag<2x4xf32, p = 2>
    ```
  }];
  let arguments = (ins ElementsAttr:$offsets, ElementsAttr:$values);
  let results = (outs SD_PermDiagWeightType:$result);
  let assemblyFormat = [{
    `offsets` `(` $offsets `)` `values` `(` $values `)` attr-dict `:`
    qualified(type($result))
  }];
  let hasVerifier = 1;
}

def SD_RebuildOp : SD_Op<"rebuild", [Pure]> {
  let summary = "Materialize the dense weight of a compressed weight";
  let description = [{
    Returns the dense tensor that a compressed weight stands for: for
    `!sd.se`, every Ce row times its block's B, with padding dropped; for
    `!sd.permdiag`, the permuted-diagonal blocks with padding dropped. This
    is the reference semantics of every sd compute op, which means exactly
    the corresponding linalg op applied to the rebuilt weight.

    ```mlir
    %d = sd.rebuild %w : !sd.se<16x20xf32, blocks = 1x7, exponents = [-8, 5]>
           -> tensor<16x20xf32>
    ```
  }];
  let arguments = (ins SD_AnyWeight:$weight);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $weight attr-dict `:` qualified(type($weight)) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Compute ops
//===----------------------------------------------------------------------===//

class SD_ComputeOp<string mnemonic, list<Trait> traits = []>
    : SD_Op<mnemonic, !listconcat(traits, [Pure,
        DestinationStyleOpInterface, AllTypesMatch<["init", "result"]>])> {
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getInitMutable();
    }
  }];
  let hasVerifier = 1;
}

def SD_ShiftAddMatmulOp : SD_ComputeOp<"shift_add_matmul"> {
  let summary = "Fully connected layer on a SmartExchange weight";
  let description = [{
    `result = init + input * W^T (+ bias)`, where `W` (N x K) is the rebuilt
    dense weight. `input` is `[..., K]` and `init` is `[..., N]` with the
    same leading dimensions; the optional `bias` (`[N]`) is broadcast over
    them. Like `linalg.matmul`, the op accumulates into `init`.

    ```mlir
    %y = sd.shift_add_matmul ins(%x, %w : tensor<2x20xf32>,
           !sd.se<16x20xf32, blocks = 1x7, exponents = [-8, 5]>)
           bias(%b : tensor<16xf32>) outs(%init : tensor<2x16xf32>)
           -> tensor<2x16xf32>
    ```
  }];
  let arguments = (ins SD_FloatTensor:$input, SD_SEWeight2D:$weight,
                       Optional<1DTensorOf<[AnyFloat]>>:$bias,
                       SD_FloatTensor:$init);
  let results = (outs SD_FloatTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $weight `:` type($input) `,` qualified(type($weight))
    `)` (`bias` `(` $bias^ `:` type($bias) `)`)? `outs` `(` $init `:`
    type($init) `)` attr-dict `->` type($result)
  }];
}

def SD_ShiftAddConv2DOp : SD_ComputeOp<"shift_add_conv2d"> {
  let summary = "2-D convolution on a SmartExchange weight";
  let description = [{
    `result = init + conv2d(input, W) (+ bias)`, where `W` (F x C x R x S)
    is the rebuilt dense weight, with the given strides and dilations and
    no padding (pad the input with `tensor.pad` first, as torch-mlir does).
    With `layout = nchw` it means `linalg.conv_2d_nchw_fchw`; with
    `layout = nhwc` it means `linalg.conv_2d_nhwc_fhwc` on W transposed to
    F x R x S x C. The optional `bias` (`[F]`) is added per output channel.

    ```mlir
    %y = sd.shift_add_conv2d {layout = #sd<conv_layout nchw>,
           strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>}
           ins(%x, %w : tensor<1x4x6x6xf32>,
           !sd.se<8x4x3x3xf32, blocks = 1x12, exponents = [-8, 5]>)
           outs(%init : tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
    ```
  }];
  let arguments = (ins SD_FloatTensor4D:$input, SD_SEWeight4D:$weight,
                       Optional<1DTensorOf<[AnyFloat]>>:$bias,
                       SD_FloatTensor4D:$init,
                       DefaultValuedAttr<SD_ConvLayoutAttr,
                                         "ConvLayout::nchw">:$layout,
                       SD_DefaultHWAttr:$strides,
                       SD_DefaultHWAttr:$dilations);
  let results = (outs SD_FloatTensor4D:$result);
  let assemblyFormat = [{
    attr-dict `ins` `(` $input `,` $weight `:` type($input) `,`
    qualified(type($weight)) `)` (`bias` `(` $bias^ `:` type($bias) `)`)?
    `outs` `(` $init `:` type($init) `)` `->` type($result)
  }];
}

def SD_PermDiagMatmulOp : SD_ComputeOp<"permdiag_matmul"> {
  let summary = "Fully connected layer on a permuted-diagonal weight";
  let description = [{
    `result = init + input * W^T (+ bias)`, where `W` (M x N) is the
    rebuilt permuted-diagonal weight: output `i*p + c` reads only inputs
    `j*p + (c + k_ij) mod p`. Shapes follow `sd.shift_add_matmul`.

    ```mlir
    %y = sd.permdiag_matmul ins(%x, %w : tensor<1x4xf32>,
           !sd.permdiag<2x4xf32, p = 2>)
           outs(%init : tensor<1x2xf32>) -> tensor<1x2xf32>
    ```
  }];
  let arguments = (ins SD_FloatTensor:$input,
                       SD_PermDiagWeightType:$weight,
                       Optional<1DTensorOf<[AnyFloat]>>:$bias,
                       SD_FloatTensor:$init);
  let results = (outs SD_FloatTensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $weight `:` type($input) `,` qualified(type($weight))
    `)` (`bias` `(` $bias^ `:` type($bias) `)`)? `outs` `(` $init `:`
    type($init) `)` attr-dict `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Quantized compute ops (the accelerator's number format)
//===----------------------------------------------------------------------===//

class SD_QuantizedOp<string mnemonic, list<Trait> traits = []>
    : SD_Op<mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
}

def SD_QuantizedMatmulOp : SD_QuantizedOp<"quantized_matmul"> {
  let summary = "Fully connected layer in the accelerator's integer format";
  let description = [{
    The integer arithmetic of docs/QuantizedArithmetic.md on int8
    activations: real input `input_scale * x`, bases quantized to int8 with
    `f_B` fraction bits, weights rebuilt exactly by shifts and adds into
    int32, products summed in int64 with the bias, and the sum requantized
    to int8 for real output `output_scale * y` (clamped at 0 with `relu`).
    The integer parameters are derived from the float weight at compile time
    by one shared routine, so the CPU and the accelerator compute the same
    bits. Shapes follow `sd.shift_add_matmul`; there is no init.

    The weight may also be a PermDNN `!sd.permdiag` weight: its values are
    then quantized to int8 with one power-of-two scale per layer
    (`wq = round_half_away(q * 2^f_W)`), and only the `p` stored products of
    each block are summed; the offsets stay exact.

    A dense f32 constant weight (N x K, the accelerator's `dense` format)
    is quantized like a depthwise weight: int8 with one power-of-two scale
    per layer, every product summed.

    ```mlir
    %y = sd.quantized_matmul ins(%x, %w : tensor<1x20xi8>, !sd.se<...>)
           bias(%b : tensor<16xf32>)
           {input_scale = 0.05 : f64, output_scale = 0.1 : f64, relu}
           -> tensor<1x16xi8>
    ```
  }];
  let arguments = (ins SD_I8Tensor:$input, SD_QuantizedWeight2D:$weight,
                       Optional<SD_F32Bias>:$bias, SD_ScaleAttr:$input_scale,
                       SD_ScaleAttr:$output_scale, UnitAttr:$relu);
  let results = (outs SD_I8Tensor:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $weight `:` type($input) `,` qualified(type($weight))
    `)` (`bias` `(` $bias^ `:` type($bias) `)`)? attr-dict `->` type($result)
  }];
}

def SD_QuantizedConv2DOp : SD_QuantizedOp<"quantized_conv2d"> {
  let summary = "2-D convolution in the accelerator's integer format";
  let description = [{
    `sd.shift_add_conv2d` (NCHW, no padding: pad the int8 input with 0, which
    is real 0) in the integer arithmetic of `sd.quantized_matmul`.
    The weight is a SmartExchange weight or a dense f32 constant
    (F x C x R x S, the accelerator's `dense` format, one power-of-two scale
    per layer).

    ```mlir
    %y = sd.quantized_conv2d ins(%x, %w : tensor<1x4x6x6xi8>, !sd.se<...>)
           {input_scale = 0.05 : f64, output_scale = 0.1 : f64,
            strides = array<i64: 1, 1>} -> tensor<1x8x4x4xi8>
    ```
  }];
  let arguments = (ins SD_I8Tensor4D:$input, SD_QuantizedWeight4D:$weight,
                       Optional<SD_F32Bias>:$bias, SD_ScaleAttr:$input_scale,
                       SD_ScaleAttr:$output_scale, UnitAttr:$relu,
                       SD_DefaultHWAttr:$strides,
                       SD_DefaultHWAttr:$dilations);
  let results = (outs SD_I8Tensor4D:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $weight `:` type($input) `,` qualified(type($weight))
    `)` (`bias` `(` $bias^ `:` type($bias) `)`)? attr-dict `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Quantized whole-network ops (residual add, pooling)
//===----------------------------------------------------------------------===//

def SD_QuantizedAddOp
    : SD_QuantizedOp<"quantized_add", [AllTypesMatch<["lhs", "rhs", "result"]>]> {
  let summary = "Residual add of two int8 tensors with their own scales";
  let description = [{
    Real `lhs_scale * a + rhs_scale * b`, requantized to int8 for real output
    `output_scale * y` (clamped at 0 with `relu`), in the integer rule of
    docs/QuantizedArithmetic.md: `y = clamp((a * M_a + b * M_b + 2^(S-1))
    >> S, lo, 127)`, with M_a, M_b < 2^15 and S derived from the scales at
    compile time by the routine the accelerator uses.

    ```mlir
    %y = sd.quantized_add ins(%a, %b : tensor<1x8x4x4xi8>, tensor<1x8x4x4xi8>)
           {lhs_scale = 0.1 : f64, rhs_scale = 0.05 : f64,
            output_scale = 0.2 : f64, relu} -> tensor<1x8x4x4xi8>
    ```
  }];
  let arguments = (ins SD_I8Tensor:$lhs, SD_I8Tensor:$rhs,
                       SD_ScaleAttr:$lhs_scale, SD_ScaleAttr:$rhs_scale,
                       SD_ScaleAttr:$output_scale, UnitAttr:$relu);
  let results = (outs SD_I8Tensor:$result);
  let assemblyFormat = [{
    `ins` `(` $lhs `,` $rhs `:` type($lhs) `,` type($rhs) `)` attr-dict `->`
    type($result)
  }];
}

def SD_QuantizedMaxPool2DOp : SD_QuantizedOp<"quantized_max_pool2d"> {
  let summary = "Max pooling of an int8 NCHW tensor";
  let description = [{
    The largest int8 value of each `kernel` window (NCHW), moving by
    `strides`; `padding` = [top, left, bottom, right] rows and columns
    outside the input take no part (each must be smaller than the window, so
    every window holds an input). The scale is unchanged.

    ```mlir
    %y = sd.quantized_max_pool2d ins(%x : tensor<1x8x8x8xi8>)
           {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>,
            padding = array<i64: 1, 1, 1, 1>} -> tensor<1x8x4x4xi8>
    ```
  }];
  let arguments = (ins SD_I8Tensor4D:$input, SD_HWAttr:$kernel,
                       SD_DefaultHWAttr:$strides,
                       DefaultValuedAttr<SD_PaddingAttr,
                                         "{0, 0, 0, 0}">:$padding);
  let results = (outs SD_I8Tensor4D:$result);
  let assemblyFormat = [{
    `ins` `(` $input `:` type($input) `)` attr-dict `->` type($result)
  }];
}

def SD_QuantizedAvgPool2DOp : SD_QuantizedOp<"quantized_avg_pool2d"> {
  let summary = "Average pooling of an int8 NCHW tensor, requantized";
  let description = [{
    The int64 sum of each `kernel` window (NCHW, no padding), requantized
    like an accumulator (docs/QuantizedArithmetic.md) with the real
    multiplier `input_scale / (output_scale * kh * kw)`: the average in real
    terms. A window of the whole input is global average pooling.

    ```mlir
    %y = sd.quantized_avg_pool2d ins(%x : tensor<1x8x7x7xi8>)
           {kernel = array<i64: 7, 7>, input_scale = 0.1 : f64,
            output_scale = 0.05 : f64} -> tensor<1x8x1x1xi8>
    ```
  }];
  let arguments = (ins SD_I8Tensor4D:$input, SD_HWAttr:$kernel,
                       SD_DefaultHWAttr:$strides,
                       SD_ScaleAttr:$input_scale, SD_ScaleAttr:$output_scale,
                       UnitAttr:$relu);
  let results = (outs SD_I8Tensor4D:$result);
  let assemblyFormat = [{
    `ins` `(` $input `:` type($input) `)` attr-dict `->` type($result)
  }];
}

def SD_QuantizedDepthwiseConv2DOp
    : SD_QuantizedOp<"quantized_depthwise_conv2d"> {
  let summary = "Depthwise 2-D convolution with raw int8 weights";
  let description = [{
    Each channel of the int8 NCHW input (pad it with 0 first, as for
    `sd.quantized_conv2d`) convolved with its own `C x 1 x R x S` float
    weight. The weight is not decomposed (one 3x3 basis per channel would
    gain nothing): it is quantized to int8 with one power-of-two scale per
    layer, `wq = clamp(round_half_away(w · 2^f), -127, 127)` with the
    largest `f` keeping `max|w| · 2^f <= 127`, and the layer follows the
    accumulator rule of docs/QuantizedArithmetic.md (bias, int64 sum,
    requantization) like a SmartExchange layer whose codes are all 1.

    ```mlir
    %y = sd.quantized_depthwise_conv2d ins(%x, %w : tensor<1x8x6x6xi8>,
           tensor<8x1x3x3xf32>) bias(%b : tensor<8xf32>)
           {input_scale = 0.05 : f64, output_scale = 0.1 : f64, relu,
            strides = array<i64: 1, 1>} -> tensor<1x8x4x4xi8>
    ```
  }];
  let arguments = (ins SD_I8Tensor4D:$input,
                       SD_StaticF32Tensor4D:$weight,
                       Optional<SD_F32Bias>:$bias, SD_ScaleAttr:$input_scale,
                       SD_ScaleAttr:$output_scale, UnitAttr:$relu,
                       SD_DefaultHWAttr:$strides);
  let results = (outs SD_I8Tensor4D:$result);
  let assemblyFormat = [{
    `ins` `(` $input `,` $weight `:` type($input) `,` type($weight) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)? attr-dict `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Boundaries between float and int8 tensors
//===----------------------------------------------------------------------===//

def SD_QuantizeOp : SD_Op<"quantize", [Pure, SameOperandsAndResultShape]> {
  let summary = "Float tensor to int8 in the accelerator's format";
  let description = [{
    `yq = clamp(round_half_away(x / scale), -127, 127)` per element, with the
    division in f64 (docs/QuantizedArithmetic.md): the entry of a float value
    into int8 layers, whose real value is `scale * yq`. `--sd-quantize`
    places it where a host (float) value feeds an accelerator layer.

    ```mlir
    %q = sd.quantize %x {scale = 0.05 : f64} : tensor<1x8xf32> -> tensor<1x8xi8>
    ```
  }];
  let arguments = (ins SD_F32Tensor:$input, SD_ScaleAttr:$scale);
  let results = (outs RankedTensorOf<[I8]>:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($result)
  }];
  let hasFolder = 1;
}

def SD_DequantizeOp : SD_Op<"dequantize", [Pure, SameOperandsAndResultShape]> {
  let summary = "Int8 tensor to its real (f32) value";
  let description = [{
    `y = f32(xq) * f32(scale)` per element: the exit of an int8 layer's result
    to float host code.

    ```mlir
    %y = sd.dequantize %q {scale = 0.05 : f64} : tensor<1x8xi8> -> tensor<1x8xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I8]>:$input, SD_ScaleAttr:$scale);
  let results = (outs SD_F32Tensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($result)
  }];
}

#endif // SD_DIALECT_SD_IR_SDOPS_TD
