//===- Schedule.cpp - Accelerator layers split to the hardware's buffers --===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// --sd-schedule: a pooling or depthwise layer whose band of one output row
// of every channel does not fit half the buffers becomes channel groups
// that do. The decision is the program builder's own rule
// (windowedRowFits, SD/Accel/NetworkLayers.h) on the program's hardware
// configuration, taken on IR so that the CPU quantized mode and the
// accelerator run the same split model.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/NetworkLayers.h"
#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/Transforms/AccelLayer.h"
#include "SD/Dialect/SD/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

namespace mlir::sd {
#define GEN_PASS_DEF_SDSCHEDULEPASS
#include "SD/Dialect/SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;

namespace {

/// A windowed layer's shape as the program builder sees it: the input
/// before the zero pad it folds.
struct Window {
  Operation *op;
  tensor::PadOp pad; ///< The folded zero pad, or null.
  Value source;      ///< [n, c, h, w] int8.
  int64_t kernelH;
};

std::optional<Window> windowOf(Operation *op) {
  if (!isa<QuantizedDepthwiseConv2DOp, QuantizedMaxPool2DOp,
           QuantizedAvgPool2DOp>(op))
    return std::nullopt;
  Window win{op, nullptr, op->getOperand(0), 0};
  if (auto dw = dyn_cast<QuantizedDepthwiseConv2DOp>(op))
    win.kernelH = cast<ShapedType>(dw.getWeight().getType()).getDimSize(2);
  else if (auto pool = dyn_cast<QuantizedMaxPool2DOp>(op))
    win.kernelH = pool.getKernel()[0];
  else if (auto pool = dyn_cast<QuantizedAvgPool2DOp>(op))
    win.kernelH = pool.getKernel()[0];
  else
    return std::nullopt;
  // The exporter folds a zero pad of H and W into the layer (a pad with
  // another user stays a tensor of its own and is read as is).
  if (auto folded = foldableZeroPad(win.source);
      folded && win.source.hasOneUse()) {
    win.pad = win.source.getDefiningOp<tensor::PadOp>();
    win.source = folded->first;
  }
  return win;
}

/// `attr`'s slice [c0, c0 + cg) along dimension 0, as a new constant.
FailureOr<Value> sliceConstant(OpBuilder &b, Location loc, Value constant,
                               int64_t c0, int64_t cg) {
  ElementsAttr attr;
  if (!matchPattern(constant, m_Constant(&attr)))
    return failure();
  FailureOr<SmallVector<float>> values = readFloats(attr);
  if (failed(values))
    return failure();
  auto type = cast<RankedTensorType>(constant.getType());
  int64_t per = type.getNumElements() / type.getDimSize(0);
  SmallVector<int64_t> shape(type.getShape());
  shape[0] = cg;
  auto sliceType = RankedTensorType::get(shape, type.getElementType());
  ArrayRef<float> part(values->data() + c0 * per, size_t(cg * per));
  return arith::ConstantOp::create(b, loc, sliceType,
                                   DenseElementsAttr::get(sliceType, part))
      .getResult();
}

struct SDSchedulePass : mlir::sd::impl::SDSchedulePassBase<SDSchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    ::sd::sdacc::HardwareConfig hw = ::sd::sdacc::HardwareConfig::defaults();
    std::string error;
    if (!config.empty() &&
        !::sd::sdacc::HardwareConfig::load(config, hw, error)) {
      getOperation().emitError("--sd-schedule: ") << error;
      return signalPassFailure();
    }
    SmallVector<Window> windows;
    getOperation().walk([&](Operation *op) {
      if (auto win = windowOf(op))
        windows.push_back(*win);
    });
    for (Window &win : windows)
      if (failed(split(win, hw)))
        return signalPassFailure();
    SmallVector<Operation *> layers;
    getOperation().walk([&](Operation *op) {
      if (isa<QuantizedConv2DOp, QuantizedMatmulOp>(op))
        layers.push_back(op);
    });
    for (Operation *op : layers)
      if (failed(tile(op, hw)))
        return signalPassFailure();
    for (Operation *op : layers)
      if (failed(cascade(op, hw)))
        return signalPassFailure();
  }

  /// The layer reading `op`'s result when it is the next accelerator layer
  /// of the block, through at most a zero pad it folds or a reshape, with
  /// only constants in between (so --sd-partition keeps both in one
  /// segment and the exporter builds them one after the other); else null.
  static Operation *nextReader(Operation *op) {
    Value v = op->getResult(0);
    for (int hops = 0; hops < 2; ++hops) {
      if (!v.hasOneUse())
        return nullptr;
      Operation *user = *v.getUsers().begin();
      bool through =
          (isa<tensor::PadOp>(user) && foldableZeroPad(user->getResult(0))) ||
          isa<tensor::CollapseShapeOp>(user);
      if (!through) {
        if (!isa<QuantizedConv2DOp, QuantizedMatmulOp>(user) ||
            user->getOperand(0) != v || user->getBlock() != op->getBlock())
          return nullptr;
        for (Operation *it = op->getNextNode(); it != user;
             it = it->getNextNode())
          if (!isa<SEConstantOp, PermDiagConstantOp, arith::ConstantOp,
                   tensor::PadOp, tensor::CollapseShapeOp>(it))
            return nullptr;
        return user;
      }
      v = user->getResult(0);
    }
    return nullptr;
  }

  /// Records a cascade (sd.cascade) when `op`'s output can stay on chip as
  /// the next layer's input: the builder's rule (cascadeRefusal) on the
  /// two layers and their tensors.
  LogicalResult cascade(Operation *op, const ::sd::sdacc::HardwareConfig &hw) {
    op->removeAttr(kCascadeAttrName);
    if (!op->hasAttr(kTilingAttrName))
      return success();
    Operation *next = nextReader(op);
    if (!next || !next->hasAttr(kTilingAttrName))
      return success();
    ::sd::sdacc::LayerSpec spec, nextSpec;
    if (failed(accelLayerSpec(op, spec)) ||
        failed(accelLayerSpec(next, nextSpec)))
      return failure();
    Value input = op->getOperand(0);
    if (auto folded = foldableZeroPad(input))
      input = folded->first;
    auto shape = [](Value v) {
      ArrayRef<int64_t> s = cast<RankedTensorType>(v.getType()).getShape();
      return std::vector<int64_t>(s.begin(), s.end());
    };
    std::string why = ::sd::sdacc::cascadeRefusal(
        hw, spec, shape(input), shape(op->getResult(0)), nextSpec);
    if (!why.empty())
      return success();
    op->setAttr(kCascadeAttrName, UnitAttr::get(op->getContext()));
    ++numCascaded;
    return success();
  }

  /// Records the tiling of a convolution or fully connected layer with a
  /// SmartExchange weight: the program builder's choice for this layer on
  /// this configuration (planLayerTiling), which the exporter then obeys.
  /// Layers the accelerator has no form for are left to --sd-partition.
  LogicalResult tile(Operation *op, const ::sd::sdacc::HardwareConfig &hw) {
    Value input = op->getOperand(0), weight = op->getOperand(1);
    if (!weight.getDefiningOp<SEConstantOp>())
      return success();
    if (auto conv = dyn_cast<QuantizedConv2DOp>(op))
      if (llvm::any_of(conv.getDilations(), [](int64_t d) { return d != 1; }))
        return success();
    ::sd::sdacc::LayerSpec spec;
    if (auto folded = foldableZeroPad(input)) {
      input = folded->first;
      spec.padTop = folded->second[0];
      spec.padLeft = folded->second[1];
      spec.padBottom = folded->second[2];
      spec.padRight = folded->second[3];
    }
    auto type = dyn_cast<RankedTensorType>(input.getType());
    if (!type || !type.hasStaticShape() ||
        (isa<QuantizedMatmulOp>(op) && type.getRank() != 2))
      return success();
    op->removeAttr(kTilingAttrName);
    if (failed(accelLayerSpec(op, spec)))
      return failure();
    spec.name = "layer";
    ::sd::sdacc::TileChoice choice;
    std::string error;
    if (!::sd::sdacc::planLayerTiling(
            hw, std::vector<int64_t>(type.getShape().begin(),
                                     type.getShape().end()),
            spec, choice, error)) {
      op->emitRemark("no tiling: ") << error;
      return success();
    }
    writeTiling(op, choice);
    ++numTiled;
    return success();
  }

  LogicalResult split(Window &win, const ::sd::sdacc::HardwareConfig &hw) {
    auto in = cast<RankedTensorType>(win.source.getType());
    auto out = cast<RankedTensorType>(win.op->getResult(0).getType());
    const int64_t n = in.getDimSize(0), c = in.getDimSize(1);
    const int64_t h = in.getDimSize(2), w = in.getDimSize(3);
    const int64_t ow = out.getDimSize(3);
    auto fits = [&](int64_t channels) {
      return ::sd::sdacc::windowedRowFits(hw, channels, h, w, win.kernelH, ow);
    };
    if (fits(c))
      return success();
    int64_t groups = 2;
    while (groups <= c && !fits((c + groups - 1) / groups))
      ++groups;
    if (groups > c) {
      win.op->emitRemark("stays as it is: one output row of one channel does "
                         "not fit half the buffers");
      return success();
    }
    const int64_t cg = (c + groups - 1) / groups;
    OpBuilder b(win.op);
    Location loc = win.op->getLoc();
    Value result = tensor::EmptyOp::create(b, loc, out.getShape(),
                                           out.getElementType());
    for (int64_t c0 = 0; c0 < c; c0 += cg) {
      const int64_t m = std::min(cg, c - c0);
      SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0),
                                           b.getIndexAttr(c0),
                                           b.getIndexAttr(0), b.getIndexAttr(0)};
      SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
      SmallVector<OpFoldResult> inSizes = {b.getIndexAttr(n), b.getIndexAttr(m),
                                           b.getIndexAttr(h), b.getIndexAttr(w)};
      Value slice = tensor::ExtractSliceOp::create(b, loc, win.source, offsets,
                                                   inSizes, strides);
      if (win.pad) {
        auto padType = cast<RankedTensorType>(win.pad.getType());
        Operation *pad = b.clone(*win.pad);
        pad->setOperand(0, slice);
        pad->getResult(0).setType(RankedTensorType::get(
            {n, m, padType.getDimSize(2), padType.getDimSize(3)},
            padType.getElementType()));
        slice = pad->getResult(0);
      }
      // A depthwise group's weights and biases: its channels' slices.
      Value weight, bias;
      if (auto dw = dyn_cast<QuantizedDepthwiseConv2DOp>(win.op)) {
        FailureOr<Value> wSlice = sliceConstant(b, loc, dw.getWeight(), c0, m);
        if (failed(wSlice))
          return dw.emitError("--sd-schedule: the weight is not a readable "
                              "constant");
        weight = *wSlice;
        if (dw.getBias()) {
          FailureOr<Value> bSlice = sliceConstant(b, loc, dw.getBias(), c0, m);
          if (failed(bSlice))
            return dw.emitError("--sd-schedule: the bias is not a readable "
                                "constant");
          bias = *bSlice;
        }
      }
      Operation *group = b.clone(*win.op);
      group->setOperand(0, slice);
      if (auto dw = dyn_cast<QuantizedDepthwiseConv2DOp>(group)) {
        dw.getWeightMutable().assign(weight);
        if (bias)
          dw.getBiasMutable().assign(bias);
      }
      group->getResult(0).setType(RankedTensorType::get(
          {n, m, out.getDimSize(2), ow}, out.getElementType()));
      SmallVector<OpFoldResult> outSizes = {
          b.getIndexAttr(n), b.getIndexAttr(m), b.getIndexAttr(out.getDimSize(2)),
          b.getIndexAttr(ow)};
      result = tensor::InsertSliceOp::create(b, loc, group->getResult(0),
                                             result, offsets, outSizes, strides);
    }
    win.op->getResult(0).replaceAllUsesWith(result);
    SmallVector<Value> constants(win.op->getOperands().drop_front());
    win.op->erase();
    // The whole layer's weights and biases, unless used elsewhere.
    for (Value v : constants)
      if (Operation *def = v.getDefiningOp(); def && def->use_empty())
        def->erase();
    if (win.pad && win.pad->use_empty())
      win.pad->erase();
    ++numSplit;
    numGroups += groups;
    return success();
  }
};

} // namespace
