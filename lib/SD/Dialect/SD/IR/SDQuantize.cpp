//===- SDQuantize.cpp - Integer parameters of quantized sd layers ---------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/IR/SDQuantize.h"
#include "SD/Dialect/SD/IR/SDElements.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::sd;

/// The float bias of a quantized layer (empty without one); emits an error
/// when it is not a constant.
static FailureOr<std::vector<float>> constantBias(Operation *op, Value bias) {
  std::vector<float> biasValues;
  if (!bias)
    return biasValues;
  ElementsAttr attr;
  FailureOr<SmallVector<float>> values =
      matchPattern(bias, m_Constant(&attr))
          ? readFloats(attr)
          : FailureOr<SmallVector<float>>(failure());
  if (failed(values))
    return op->emitError("the bias of a quantized layer must be a constant"),
           failure();
  biasValues.assign(values->begin(), values->end());
  return biasValues;
}

FailureOr<::sd::compression::QuantizedLayer>
mlir::sd::quantizeLayerOf(Operation *op, SEConstantOp weight, Value bias,
                          double inputScale, double outputScale, bool relu) {
  SEWeightType type = weight.getResult().getType();
  FailureOr<SmallVector<float>> basis = readFloats(weight.getBasis());
  if (failed(basis))
    return failure();
  FailureOr<std::vector<float>> biasValues = constantBias(op, bias);
  if (failed(biasValues))
    return failure();
  ::sd::compression::QuantizedLayer q = ::sd::compression::quantizeLayer(
      std::vector<float>(basis->begin(), basis->end()), *biasValues,
      type.getShape()[0], type.getExponentRange(), inputScale, outputScale,
      relu);
  if (!q.error.empty())
    return op->emitError("cannot quantize this layer: ") << q.error, failure();
  return q;
}

FailureOr<::sd::compression::QuantizedLayer>
mlir::sd::quantizeLayerOf(Operation *op, PermDiagConstantOp weight, Value bias,
                          double inputScale, double outputScale, bool relu) {
  PermDiagWeightType type = weight.getResult().getType();
  FailureOr<SmallVector<float>> values = readFloats(weight.getValues());
  if (failed(values))
    return failure();
  FailureOr<std::vector<float>> biasValues = constantBias(op, bias);
  if (failed(biasValues))
    return failure();
  ::sd::compression::QuantizedLayer q =
      ::sd::compression::quantizePermDiagLayer(
          std::vector<float>(values->begin(), values->end()), *biasValues,
          type.getShape()[0], inputScale, outputScale, relu);
  if (!q.error.empty())
    return op->emitError("cannot quantize this layer: ") << q.error, failure();
  return q;
}

/// A layer whose weight is a float constant with one output channel per
/// row of dimension 0 (dense and depthwise layers): int8 values with one
/// power-of-two scale, the SmartExchange rule with every code 1.
static FailureOr<::sd::compression::QuantizedLayer>
quantizeConstantWeight(Operation *op, Value weight, Value bias,
                       double inputScale, double outputScale, bool relu) {
  ElementsAttr attr;
  if (!matchPattern(weight, m_Constant(&attr)))
    return op->emitError("the weight of a dense or depthwise layer must be a "
                         "constant"),
           failure();
  FailureOr<SmallVector<float>> values = readFloats(attr);
  if (failed(values))
    return op->emitError("the weight's data cannot be read: ")
               << unreadableReason(attr),
           failure();
  FailureOr<std::vector<float>> biasValues = constantBias(op, bias);
  if (failed(biasValues))
    return failure();
  int64_t channels = cast<ShapedType>(weight.getType()).getDimSize(0);
  ::sd::compression::QuantizedLayer q = ::sd::compression::quantizeLayer(
      std::vector<float>(values->begin(), values->end()), *biasValues,
      channels, ::sd::compression::ExponentRange{0, 0}, inputScale,
      outputScale, relu);
  if (!q.error.empty())
    return op->emitError("cannot quantize this layer: ") << q.error, failure();
  return q;
}

FailureOr<::sd::compression::QuantizedLayer>
mlir::sd::quantizeDepthwiseOf(QuantizedDepthwiseConv2DOp op) {
  return quantizeConstantWeight(op, op.getWeight(), op.getBias(),
                                op.getInputScale().convertToDouble(),
                                op.getOutputScale().convertToDouble(),
                                op.getRelu());
}

FailureOr<::sd::compression::QuantizedLayer>
mlir::sd::quantizeDenseOf(Operation *op, Value weight, Value bias,
                          double inputScale, double outputScale, bool relu) {
  return quantizeConstantWeight(op, weight, bias, inputScale, outputScale,
                                relu);
}
