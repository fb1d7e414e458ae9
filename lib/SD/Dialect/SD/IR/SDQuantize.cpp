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

FailureOr<::sd::compression::QuantizedLayer>
mlir::sd::quantizeLayerOf(Operation *op, SEConstantOp weight, Value bias,
                          double inputScale, double outputScale, bool relu) {
  SEWeightType type = weight.getResult().getType();
  FailureOr<SmallVector<float>> basis = readFloats(weight.getBasis());
  if (failed(basis))
    return failure();
  std::vector<float> biasValues;
  if (bias) {
    ElementsAttr attr;
    FailureOr<SmallVector<float>> values =
        matchPattern(bias, m_Constant(&attr))
            ? readFloats(attr)
            : FailureOr<SmallVector<float>>(failure());
    if (failed(values))
      return op->emitError("the bias of a quantized layer must be a constant"),
             failure();
    biasValues.assign(values->begin(), values->end());
  }
  ::sd::compression::QuantizedLayer q = ::sd::compression::quantizeLayer(
      std::vector<float>(basis->begin(), basis->end()), biasValues,
      type.getShape()[0], type.getExponentRange(), inputScale, outputScale,
      relu);
  if (!q.error.empty())
    return op->emitError("cannot quantize this layer: ") << q.error, failure();
  return q;
}
