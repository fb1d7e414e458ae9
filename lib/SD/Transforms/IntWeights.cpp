//===- IntWeights.cpp - Keep int-k weights as integers in the artifact ----===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Layers a plan quantizes to int-k arrive as convolutions whose f32 weights
// are q * s[o] (per output channel o, |q| < 2^(k-1)). Compiled as they are,
// the library would store 32 bits per weight. This pass finds such weights
// (every channel on a grid of at most 255 levels through zero) and rewrites
//
//   y = conv(x, W) + init     into     y = init + s[o] * conv(x, q)
//
// with q an i8 constant (the named convolution casts it to f32 as it reads
// it) and s one f32 per output channel, so the artifact holds one byte per
// weight and the kernels read the integers.
//
//===----------------------------------------------------------------------===//

#include "SD/Transforms/Passes.h"
#include "SD/Dialect/SD/IR/SDElements.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace mlir::sd {
#define GEN_PASS_DEF_SDINTWEIGHTSPASS
#include "SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;

namespace {

/// Integers q and scales s with w[o, i] ~ q[o, i] * s[o] (channels first),
/// or failure when some channel is not on such a grid. A channel with
/// largest magnitude a has |q| <= Q for one Q in [1, 127] and s = a / Q; the
/// grid must reproduce every value to 2^-18 * a.
LogicalResult findIntegerGrid(ArrayRef<float> w, int64_t channels,
                              SmallVectorImpl<int8_t> &q,
                              SmallVectorImpl<float> &scales) {
  int64_t per = int64_t(w.size()) / channels;
  q.assign(w.size(), 0);
  scales.assign(channels, 1.0f);
  for (int64_t o = 0; o < channels; ++o) {
    ArrayRef<float> ch = w.slice(o * per, per);
    float a = 0;
    for (float v : ch)
      a = std::max(a, std::fabs(v));
    if (!std::isfinite(a))
      return failure();
    if (a == 0)
      continue;
    bool found = false;
    for (int top = 127; top >= 1 && !found; --top) {
      float s = a / float(top);
      double tol = std::ldexp(double(a), -18);
      bool ok = true;
      for (int64_t i = 0; i < per && ok; ++i) {
        double r = std::nearbyint(double(ch[i]) / s);
        ok = std::fabs(r) <= top && std::fabs(r * s - ch[i]) <= tol;
        if (ok)
          q[o * per + i] = int8_t(r);
      }
      if (ok) {
        scales[o] = s;
        found = true;
      }
    }
    if (!found)
      return failure();
  }
  return success();
}

/// init + scale[channel] * z, with the channel at dimension `channelDim`.
Value addScaled(OpBuilder &b, Location loc, Value z, Value scales, Value init,
                int64_t channelDim) {
  auto type = cast<RankedTensorType>(init.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap ch = AffineMap::get(rank, 0, getAffineDimExpr(channelDim, ctx));
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{z, scales}, ValueRange{init},
             ArrayRef<AffineMap>{id, ch, id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [](OpBuilder &nb, Location l, ValueRange args) {
               Value prod = arith::MulFOp::create(nb, l, args[0], args[1]);
               linalg::YieldOp::create(
                   nb, l, arith::AddFOp::create(nb, l, args[2], prod).getResult());
             })
      .getResult(0);
}

/// Rewrites a convolution `op` (NCHW, filter channels first) whose filter is
/// an f32 constant on an integer grid.
template <typename ConvOp>
struct IntegerFilter : OpRewritePattern<ConvOp> {
  IntegerFilter(MLIRContext *ctx, int64_t minWeights)
      : OpRewritePattern<ConvOp>(ctx), minWeights(minWeights) {}

  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    Value filter = op.getInputs()[1];
    auto filterType = dyn_cast<RankedTensorType>(filter.getType());
    auto constant = filter.getDefiningOp<arith::ConstantOp>();
    if (!constant || !filterType || !filterType.getElementType().isF32() ||
        !filterType.hasStaticShape() ||
        filterType.getNumElements() < minWeights)
      return rewriter.notifyMatchFailure(op, "no large f32 constant filter");
    auto attr = dyn_cast<ElementsAttr>(constant.getValue());
    FailureOr<SmallVector<float>> values =
        attr ? readFloats(attr) : FailureOr<SmallVector<float>>(failure());
    if (failed(values))
      return rewriter.notifyMatchFailure(op, "filter values unreadable");
    int64_t channels = filterType.getDimSize(0);
    SmallVector<int8_t> q;
    SmallVector<float> scales;
    if (failed(findIntegerGrid(*values, channels, q, scales)))
      return rewriter.notifyMatchFailure(op, "filter is not on an int grid");

    Location loc = op.getLoc();
    std::string name = "sd_int_weight";
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
      name = resource.getRawHandle().getKey().str() + "_i8";
    Value qConst = arith::ConstantOp::create(
        rewriter, loc,
        makeIntegerConstant(filterType.clone(rewriter.getI8Type()), q, name));
    Value sConst = arith::ConstantOp::create(
        rewriter, loc,
        makeFloatConstant(RankedTensorType::get({channels},
                                                rewriter.getF32Type()),
                          scales, name + "_scale"));
    Value init = op.getOutputs()[0];
    auto initType = cast<RankedTensorType>(init.getType());
    Value zero = arith::ConstantOp::create(rewriter, loc,
                                           rewriter.getZeroAttr(
                                               initType.getElementType()));
    Value empty = tensor::EmptyOp::create(rewriter, loc, initType.getShape(),
                                          initType.getElementType());
    Value zeroed =
        linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    Value z = ConvOp::create(rewriter, loc, TypeRange{initType},
                             ValueRange{op.getInputs()[0], qConst},
                             ValueRange{zeroed}, op.getStrides(),
                             op.getDilations())
                  .getResult(0);
    rewriter.replaceOp(op, addScaled(rewriter, loc, z, sConst, init,
                                     /*channelDim=*/1));
    return success();
  }

  int64_t minWeights;
};

struct SDIntWeightsPass
    : mlir::sd::impl::SDIntWeightsPassBase<SDIntWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // One walk, no greedy driver: each convolution is looked at once.
    SmallVector<Operation *> convs;
    getOperation()->walk([&](Operation *op) {
      if (isa<linalg::Conv2DNchwFchwOp, linalg::DepthwiseConv2DNchwChwOp>(op))
        convs.push_back(op);
    });
    IntegerFilter<linalg::Conv2DNchwFchwOp> conv(ctx, minWeights);
    IntegerFilter<linalg::DepthwiseConv2DNchwChwOp> depthwise(ctx, minWeights);
    PatternRewriter rewriter(ctx);
    for (Operation *op : convs) {
      rewriter.setInsertionPoint(op);
      if (auto c = dyn_cast<linalg::Conv2DNchwFchwOp>(op))
        (void)conv.matchAndRewrite(c, rewriter);
      else
        (void)depthwise.matchAndRewrite(
            cast<linalg::DepthwiseConv2DNchwChwOp>(op), rewriter);
    }
  }
};

} // namespace
