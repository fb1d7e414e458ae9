//===- AccelLayer.cpp - A quantized sd layer as the builder's layer -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/AccelLayer.h"
#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/IR/SDQuantize.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::sd;
namespace isa = ::sd::sdacc;
namespace comp = ::sd::compression;

/// The integer parameters every weighted layer shares: f_B, biases and the
/// requantization.
static void setIntegerParameters(const comp::QuantizedLayer &q, bool relu,
                                 isa::LayerSpec &spec) {
  spec.fracBitsB = q.fracBitsB;
  spec.bias = q.bias;
  spec.multiplier = q.requant.multiplier;
  spec.shift = q.requant.shift;
  spec.relu = relu;
}

/// A SmartExchange weight as a builder layer.
static LogicalResult seSpec(Operation *op, SEConstantOp constant, Value bias,
                            double inputScale, double outputScale, bool relu,
                            isa::LayerSpec &spec,
                            SmallVector<int64_t> &weightShape) {
  SEWeightType type = constant.getResult().getType();
  FailureOr<SmallVector<int64_t>> codes = readIntegers(constant.getCodes());
  if (failed(codes) || failed(readFloats(constant.getBasis())))
    return op->emitError("the weight's data cannot be read: ")
           << unreadableReason(constant.getCodes());
  FailureOr<comp::QuantizedLayer> quantized =
      quantizeLayerOf(op, constant, bias, inputScale, outputScale, relu);
  if (failed(quantized))
    return failure();
  const comp::QuantizedLayer &q = *quantized;
  spec.format = isa::WeightFormat::SmartExchange;
  spec.outChannels = type.getShape()[0];
  spec.layout = type.getLayout();
  spec.range = type.getExponentRange();
  spec.codes.assign(codes->begin(), codes->end());
  spec.basis = q.basis;
  setIntegerParameters(q, relu, spec);
  weightShape.assign(type.getShape().begin(), type.getShape().end());
  return success();
}

/// A PermDNN weight as a builder layer: its int8 values and offsets as
/// sd.permdiag_constant orders them (the builder reorders them by column).
static LogicalResult permDiagSpec(Operation *op, PermDiagConstantOp constant,
                                  Value bias, double inputScale,
                                  double outputScale, bool relu,
                                  isa::LayerSpec &spec,
                                  SmallVector<int64_t> &weightShape) {
  FailureOr<SmallVector<int64_t>> offsets = readIntegers(constant.getOffsets());
  if (failed(offsets))
    return op->emitError("the weight's data cannot be read: ")
           << unreadableReason(constant.getOffsets());
  if (failed(readFloats(constant.getValues())))
    return op->emitError("the weight's data cannot be read: ")
           << unreadableReason(constant.getValues());
  FailureOr<comp::QuantizedLayer> quantized =
      quantizeLayerOf(op, constant, bias, inputScale, outputScale, relu);
  if (failed(quantized))
    return failure();
  PermDiagWeightType type = constant.getResult().getType();
  spec.format = isa::WeightFormat::PermDiag;
  spec.outChannels = type.getShape()[0];
  spec.blockSize = type.getBlockSize();
  spec.pdOffsets.assign(offsets->begin(), offsets->end());
  spec.pdValues = quantized->basis;
  setIntegerParameters(*quantized, relu, spec);
  weightShape.assign(type.getShape().begin(), type.getShape().end());
  return success();
}

/// A dense f32 weight as a builder layer in the `dense` format: int8 values
/// [F, C * R * S] (row-major, the weight's own order), one scale per layer.
static LogicalResult denseSpec(Operation *op, Value weight, Value bias,
                               double inputScale, double outputScale, bool relu,
                               isa::LayerSpec &spec,
                               SmallVector<int64_t> &weightShape) {
  FailureOr<comp::QuantizedLayer> quantized =
      quantizeDenseOf(op, weight, bias, inputScale, outputScale, relu);
  if (failed(quantized))
    return failure();
  auto type = cast<RankedTensorType>(weight.getType());
  spec.format = isa::WeightFormat::Dense;
  spec.outChannels = type.getDimSize(0);
  spec.weights = quantized->basis;
  setIntegerParameters(*quantized, relu, spec);
  weightShape.assign(type.getShape().begin(), type.getShape().end());
  return success();
}

LogicalResult mlir::sd::accelLayerSpec(Operation *op, isa::LayerSpec &spec) {
  Value weight, bias;
  double inputScale = 0, outputScale = 0;
  bool relu = false;
  SmallVector<int64_t, 2> strides = {1, 1};
  if (auto conv = dyn_cast<QuantizedConv2DOp>(op)) {
    for (int64_t d : conv.getDilations())
      if (d != 1)
        return op->emitError("the accelerator has no dilated convolutions");
    weight = conv.getWeight();
    bias = conv.getBias();
    inputScale = conv.getInputScale().convertToDouble();
    outputScale = conv.getOutputScale().convertToDouble();
    relu = conv.getRelu();
    strides.assign(conv.getStrides().begin(), conv.getStrides().end());
  } else if (auto fc = dyn_cast<QuantizedMatmulOp>(op)) {
    if (cast<ShapedType>(fc.getInput().getType()).getRank() != 2)
      return fc.emitError("the accelerator's fully connected layers take "
                          "[N, K] inputs");
    weight = fc.getWeight();
    bias = fc.getBias();
    inputScale = fc.getInputScale().convertToDouble();
    outputScale = fc.getOutputScale().convertToDouble();
    relu = fc.getRelu();
  } else {
    return op->emitError("only sd.quantized_conv2d and sd.quantized_matmul "
                         "are accelerator layers with weights");
  }
  SmallVector<int64_t> weightShape;
  if (auto permDiag = weight.getDefiningOp<PermDiagConstantOp>()) {
    if (failed(permDiagSpec(op, permDiag, bias, inputScale, outputScale, relu,
                            spec, weightShape)))
      return failure();
  } else if (auto se = weight.getDefiningOp<SEConstantOp>()) {
    if (failed(seSpec(op, se, bias, inputScale, outputScale, relu, spec,
                      weightShape)))
      return failure();
  } else if (isa<RankedTensorType>(weight.getType())) {
    if (failed(denseSpec(op, weight, bias, inputScale, outputScale, relu, spec,
                         weightShape)))
      return failure();
  } else {
    return op->emitError("the weight must be defined by sd.se_constant or "
                         "sd.permdiag_constant");
  }
  if (weightShape.size() == 4) {
    spec.kind = isa::LayerKind::Conv;
    spec.kernelH = weightShape[2];
    spec.kernelW = weightShape[3];
    spec.strideH = strides[0];
    spec.strideW = strides[1];
  } else {
    spec.kind = isa::LayerKind::FullyConnected;
  }
  spec.cascadeOutput = op->hasAttr(kCascadeAttrName);
  return readTiling(op, spec.tiling);
}

LogicalResult mlir::sd::readTiling(Operation *op, isa::TileChoice &choice) {
  choice = isa::TileChoice();
  Attribute attr = op->getAttr(kTilingAttrName);
  if (!attr)
    return success();
  auto dict = dyn_cast<DictionaryAttr>(attr);
  auto integer = [&](StringRef key, int64_t min, int64_t &out) {
    auto v = dict ? dict.getAs<IntegerAttr>(key) : IntegerAttr();
    if (!v || v.getInt() < min)
      return false;
    out = v.getInt();
    return true;
  };
  int64_t channels = 0, rows = 0;
  auto split = dict ? dict.getAs<BoolAttr>("blocks_split") : BoolAttr();
  auto order = dict ? dict.getAs<StringAttr>("loop_order") : StringAttr();
  if (!integer("channels_per_group", 1, channels) ||
      !integer("band_rows", 0, rows) || !split || !order ||
      !isa::parseLoopOrder(order.str(), choice.loopOrder) || dict.size() != 4)
    return op->emitError("malformed '")
           << kTilingAttrName
           << "': expected {channels_per_group = N >= 1, blocks_split = "
              "true|false, band_rows = N >= 0, loop_order = "
              "\"bands-outer\"|\"groups-outer\"}, got "
           << attr;
  choice.channelsPerGroup = channels;
  choice.blocksSplit = split.getValue();
  choice.bandOutputRows = rows;
  return success();
}

void mlir::sd::writeTiling(Operation *op, const isa::TileChoice &choice) {
  Builder b(op->getContext());
  op->setAttr(
      kTilingAttrName,
      b.getDictionaryAttr({
          b.getNamedAttr("band_rows",
                         b.getI64IntegerAttr(choice.bandOutputRows)),
          b.getNamedAttr("blocks_split", b.getBoolAttr(choice.blocksSplit)),
          b.getNamedAttr("channels_per_group",
                         b.getI64IntegerAttr(choice.channelsPerGroup)),
          b.getNamedAttr("loop_order",
                         b.getStringAttr(isa::loopOrderName(choice.loopOrder))),
      }));
}

std::optional<std::pair<Value, SmallVector<int64_t, 4>>>
mlir::sd::foldableZeroPad(Value v) {
  auto pad = v.getDefiningOp<tensor::PadOp>();
  if (!pad)
    return std::nullopt;
  auto type = cast<RankedTensorType>(pad.getSource().getType());
  Value padValue = pad.getConstantPaddingValue();
  APInt zero;
  if (type.getRank() != 4 || !padValue ||
      !matchPattern(padValue, m_ConstantInt(&zero)) || !zero.isZero() ||
      ShapedType::isDynamicShape(pad.getStaticLow()) ||
      ShapedType::isDynamicShape(pad.getStaticHigh()) ||
      pad.getStaticLow()[0] != 0 || pad.getStaticLow()[1] != 0 ||
      pad.getStaticHigh()[0] != 0 || pad.getStaticHigh()[1] != 0)
    return std::nullopt;
  return std::make_pair(
      pad.getSource(),
      SmallVector<int64_t, 4>{pad.getStaticLow()[2], pad.getStaticLow()[3],
                              pad.getStaticHigh()[2], pad.getStaticHigh()[3]});
}
