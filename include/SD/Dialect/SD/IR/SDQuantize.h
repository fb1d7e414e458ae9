//===- SDQuantize.h - Integer parameters of quantized sd layers -*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The one place that turns a quantized sd op (its sd.se_constant or
// sd.permdiag_constant weight, constant bias and scales) into the integer
// parameters of docs/QuantizedArithmetic.md, so the CPU lowering and the
// accelerator export cannot disagree.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDQUANTIZE_H
#define SD_DIALECT_SD_IR_SDQUANTIZE_H

#include "SD/Compression/Quantize.h"
#include "SD/Dialect/SD/IR/SDOps.h"

namespace mlir::sd {

/// Quantizes the layer of `op` with weight `weight`. Fails silently when the
/// bases cannot be read; emits an error on `op` and fails when the bias is
/// not a constant or the layer cannot be quantized.
FailureOr<::sd::compression::QuantizedLayer>
quantizeLayerOf(Operation *op, SEConstantOp weight, Value bias,
                double inputScale, double outputScale, bool relu);

/// The same for a PermDNN weight (values quantized per layer, see
/// ::sd::compression::quantizePermDiagLayer): `basis` holds the int8 values
/// [rowBlocks, colBlocks, p] and `fracBitsB` is f_W.
FailureOr<::sd::compression::QuantizedLayer>
quantizeLayerOf(Operation *op, PermDiagConstantOp weight, Value bias,
                double inputScale, double outputScale, bool relu);

/// The same for sd.quantized_matmul and sd.quantized_conv2d.
template <typename OpTy>
FailureOr<::sd::compression::QuantizedLayer>
quantizeLayerOf(OpTy op, SEConstantOp weight) {
  return quantizeLayerOf(op, weight, op.getBias(),
                         op.getInputScale().convertToDouble(),
                         op.getOutputScale().convertToDouble(), op.getRelu());
}

/// The int8 weights ([C * R * S] in basis), int64 biases and
/// requantization of a depthwise convolution whose float weight is a
/// constant: quantizeLayer with every code 1 (one power-of-two scale).
FailureOr<::sd::compression::QuantizedLayer>
quantizeDepthwiseOf(QuantizedDepthwiseConv2DOp op);

/// The same for a dense layer (sd.quantized_conv2d or sd.quantized_matmul
/// whose weight is an f32 constant, F x C x R x S or N x K): int8 weights
/// [F * C * R * S] row-major in basis, one power-of-two scale per layer.
FailureOr<::sd::compression::QuantizedLayer>
quantizeDenseOf(Operation *op, Value weight, Value bias, double inputScale,
                double outputScale, bool relu);

/// The same for sd.quantized_matmul and sd.quantized_conv2d with a dense
/// weight.
template <typename OpTy>
FailureOr<::sd::compression::QuantizedLayer> quantizeDenseOf(OpTy op) {
  return quantizeDenseOf(op, op.getWeight(), op.getBias(),
                         op.getInputScale().convertToDouble(),
                         op.getOutputScale().convertToDouble(), op.getRelu());
}

} // namespace mlir::sd

#endif // SD_DIALECT_SD_IR_SDQUANTIZE_H
