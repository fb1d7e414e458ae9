//===- VectorizeDense.cpp - Tile and vectorize the dense linalg ops -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The layers a model keeps dense (stems, int-k layers, attention matmuls)
// and its elementwise parts reach the CPU pipeline as linalg ops on tensors;
// lowered as they are, they become scalar loops. This pass gives them the
// upstream code-generation recipe instead:
//
//   1. NCHW convolutions become im2col + a matmul-like generic (as
//      linalg::rewriteInIm2Col does, but with the filter cast in the
//      matmul so i8 filters work; 1x1 kernels need no copy), and NCHW
//      depthwise convolutions one elementwise generic over their window
//      taps (shifted slices of the input);
//   2. every linalg op is tiled (scf::tileUsingSCF) so its tile is one vector
//      along the output's contiguous dimension and, for contractions, a
//      small block of output rows by a chunk of the reduction;
//   3. each tile is vectorized (linalg::vectorize); tiles whose shapes the
//      vectorizer rejects stay as they are and become loops later;
//   4. accumulator reads and writes are hoisted out of the reduction loops,
//      and multi-dimensional vector reductions become 1-D ones.
//
// Tile sizes divide the loop ranges (the largest divisor not above the
// target), so every tile is static and needs no masks.
//
//===----------------------------------------------------------------------===//

#include "SD/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mlir::sd {
#define GEN_PASS_DEF_SDVECTORIZEDENSEPASS
#include "SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;

namespace {

/// The largest divisor of `n` not above `target` (1 for dynamic sizes).
int64_t divisorUpTo(int64_t n, int64_t target) {
  if (ShapedType::isDynamic(n) || n <= 0)
    return 1;
  for (int64_t t = std::min(n, target); t > 1; --t)
    if (n % t == 0)
      return t;
  return 1;
}

/// The tile of a contraction along the output's contiguous dimension (size
/// `n`): a divisor of n up to 4 vectors of `lanes` that does the most work
/// per vector operation (t / ceil(t / lanes)), the largest of those up to 3
/// vectors. Up to 3 vectors of 4 rows keep 12 accumulators in registers:
/// 24 columns of the recognizer's 1x1 convolutions (1.3x faster than 8) and
/// 25 of its 6625-class head, where 8 does not divide (1.6x faster than 5).
int64_t contractionVectorTile(int64_t n, int64_t lanes) {
  if (ShapedType::isDynamic(n) || n <= 0)
    return 1;
  int64_t best = 1;
  double bestScore = 0;
  for (int64_t t = 1; t <= std::min(n, 4 * lanes); ++t) {
    if (n % t)
      continue;
    double score = double(t) / double((t + lanes - 1) / lanes);
    bool better = score > bestScore + 1e-9 ||
                  (score > bestScore - 1e-9 && t <= 3 * lanes);
    if (better) {
      best = t;
      bestScore = std::max(bestScore, score);
    }
  }
  return best;
}

/// Tile sizes for `op`: the loop that indexes the output's last dimension
/// gets a vector (up to `lanes`; see contractionVectorTile for
/// contractions), the loop of the output's second-to-last
/// dimension a block of `rows` for contractions, reductions a chunk of
/// `depth`, everything else 1. Empty when the op should be left alone.
SmallVector<int64_t> tileSizesFor(linalg::LinalgOp op, int64_t lanes,
                                  int64_t rows, int64_t depth) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.empty() || op.getNumDpsInits() != 1)
    return {};
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<int64_t> sizes(ranges.size(), 1);
  bool reduces = llvm::any_of(iters, [](utils::IteratorType t) {
    return t == utils::IteratorType::reduction;
  });
  int64_t outRank = outMap.getNumResults();
  auto dimOf = [&](int64_t result) -> std::optional<unsigned> {
    if (result < 0 || result >= outRank)
      return std::nullopt;
    if (auto d = dyn_cast<AffineDimExpr>(outMap.getResult(result)))
      return d.getPosition();
    return std::nullopt;
  };
  if (std::optional<unsigned> inner = dimOf(outRank - 1))
    sizes[*inner] = linalg::isaContractionOpInterface(op)
                        ? contractionVectorTile(ranges[*inner], lanes)
                        : divisorUpTo(ranges[*inner], lanes);
  if (reduces) {
    if (std::optional<unsigned> outer = dimOf(outRank - 2))
      sizes[*outer] = divisorUpTo(ranges[*outer], rows);
    for (auto [i, t] : llvm::enumerate(iters))
      if (t == utils::IteratorType::reduction)
        sizes[i] = divisorUpTo(ranges[i], depth);
  }
  return sizes;
}

/// A contraction with unit loops (the batch of one of an im2col matmul or
/// a batch_matmul) as a generic without them. With the unit loops, the
/// vectorized tile is a multi-reduction over broadcast and transposed
/// operands, which the contraction lowering turns into shuffles (3x slower
/// on the recognizer's 480x480 1x1 convolution); without, it is a plain
/// (m, k) x (k, n) vector.contract. Other ops are returned as they are.
/// Applied before tiling (reshapes) and again to each tile (rank-reducing
/// slices), where a batch larger than one leaves a unit batch loop.
linalg::LinalgOp withoutUnitDims(
    RewriterBase &rewriter, linalg::LinalgOp op,
    linalg::ControlDropUnitDims::RankReductionStrategy strategy =
        linalg::ControlDropUnitDims::RankReductionStrategy::
            ReassociativeReshape) {
  if (!linalg::isaContractionOpInterface(op) ||
      !llvm::is_contained(op.getStaticLoopRanges(), 1))
    return op;
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic) {
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(rewriter, op);
    if (failed(g))
      return op;
    generic = *g;
  }
  rewriter.setInsertionPoint(generic);
  linalg::ControlDropUnitDims control;
  control.rankReductionStrategy = strategy;
  FailureOr<linalg::DropUnitDimsResult> dropped =
      linalg::dropUnitDims(rewriter, generic, control);
  if (failed(dropped))
    return generic;
  rewriter.replaceOp(generic, dropped->replacements);
  return cast<linalg::LinalgOp>(dropped->resultOp.getOperation());
}

/// Tiles `op` with `sizes` (0: not tiled) into loops of `type`; returns the
/// tiled op, or null when tiling fails (then `op` is untouched).
Operation *tileOnce(RewriterBase &rewriter, Operation *op,
                    ArrayRef<int64_t> sizes,
                    scf::SCFTilingOptions::LoopType type) {
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(op->getContext(), sizes));
  options.setLoopType(type);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(op), options);
  if (failed(tiled) || tiled->tiledOps.size() != 1)
    return nullptr;
  rewriter.replaceOp(op, tiled->replacements);
  return tiled->tiledOps.front();
}

/// The input, filter and output of a convolution on static tensors, with
/// their types, or nothing.
struct ConvOperands {
  Value x, w, init;
  RankedTensorType xType, wType, outType;
};
std::optional<ConvOperands> staticConvOperands(linalg::LinalgOp op) {
  ConvOperands c{op.getDpsInputs()[0], op.getDpsInputs()[1],
                 op.getDpsInits()[0]};
  c.xType = dyn_cast<RankedTensorType>(c.x.getType());
  c.wType = dyn_cast<RankedTensorType>(c.w.getType());
  c.outType = dyn_cast<RankedTensorType>(c.init.getType());
  if (!c.xType || !c.wType || !c.outType || !c.xType.hasStaticShape() ||
      !c.wType.hasStaticShape() || !c.outType.hasStaticShape() ||
      !op.hasPureTensorSemantics())
    return std::nullopt;
  return c;
}

/// conv_2d_nchw_fchw as im2col + a matmul-like generic:
///   cols[n, c, r, s, oh, ow] = x[n, c, oh*sh + r*dh, ow*sw + s*dw]
///   y[n, f, p] += cast(W[f, k]) * cols[n, k, p]
/// (k = (c, r, s), p = (oh, ow)). The filter may be of another element type
/// than the output (i8 integers, sd-int-weights): the matmul casts it as it
/// reads it. A 1x1 stride-1 kernel needs no im2col copy.
struct ConvToMatmul : OpRewritePattern<linalg::Conv2DNchwFchwOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::Conv2DNchwFchwOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<ConvOperands> conv = staticConvOperands(op);
    if (!conv)
      return rewriter.notifyMatchFailure(op, "needs static tensors");
    auto [x, w, init, xType, wType, outType] = *conv;
    // Integer convolutions (the quantized mode) keep their exact lowering.
    if (!isa<FloatType>(outType.getElementType()) ||
        xType.getElementType() != outType.getElementType())
      return rewriter.notifyMatchFailure(op, "needs a float input and output");
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t n = xType.getDimSize(0), c = xType.getDimSize(1);
    int64_t f = wType.getDimSize(0), kh = wType.getDimSize(2),
            kw = wType.getDimSize(3);
    int64_t oh = outType.getDimSize(2), ow = outType.getDimSize(3);
    SmallVector<int64_t> st(op.getStrides().getValues<int64_t>());
    SmallVector<int64_t> dl(op.getDilations().getValues<int64_t>());
    Type elem = outType.getElementType();
    int64_t k = c * kh * kw, p = oh * ow;

    Value cols;
    if (kh == 1 && kw == 1 && st[0] == 1 && st[1] == 1 &&
        xType.getDimSize(2) == oh && xType.getDimSize(3) == ow) {
      cols = tensor::CollapseShapeOp::create(
          rewriter, loc, RankedTensorType::get({n, k, p}, elem), x,
          SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    } else {
      AffineExpr dn, dc, dr, ds, dh, dw;
      bindDims(ctx, dn, dc, dr, ds, dh, dw);
      AffineMap xMap = AffineMap::get(
          6, 0,
          {dn, dc, dh * st[0] + dr * dl[0], dw * st[1] + ds * dl[1]}, ctx);
      Value empty = tensor::EmptyOp::create(
          rewriter, loc, ArrayRef<int64_t>{n, c, kh, kw, oh, ow}, elem);
      Value col6 =
          linalg::GenericOp::create(
              rewriter, loc, empty.getType(), ValueRange{x}, ValueRange{empty},
              ArrayRef<AffineMap>{xMap,
                                  AffineMap::getMultiDimIdentityMap(6, ctx)},
              SmallVector<utils::IteratorType>(6,
                                               utils::IteratorType::parallel),
              [](OpBuilder &b, Location l, ValueRange args) {
                linalg::YieldOp::create(b, l, args[0]);
              })
              .getResult(0);
      cols = tensor::CollapseShapeOp::create(
          rewriter, loc, RankedTensorType::get({n, k, p}, elem), col6,
          SmallVector<ReassociationIndices>{{0}, {1, 2, 3}, {4, 5}});
    }
    Value w2 = tensor::CollapseShapeOp::create(
        rewriter, loc, RankedTensorType::get({f, k}, wType.getElementType()),
        w, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
    Value init3 = tensor::CollapseShapeOp::create(
        rewriter, loc, RankedTensorType::get({n, f, p}, elem), init,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    AffineExpr an, af, ap, ak;
    bindDims(ctx, an, af, ap, ak);
    bool intFilter = isa<IntegerType>(wType.getElementType());
    Value y3 =
        linalg::GenericOp::create(
            rewriter, loc, init3.getType(), ValueRange{w2, cols},
            ValueRange{init3},
            ArrayRef<AffineMap>{AffineMap::get(4, 0, {af, ak}, ctx),
                                AffineMap::get(4, 0, {an, ak, ap}, ctx),
                                AffineMap::get(4, 0, {an, af, ap}, ctx)},
            {utils::IteratorType::parallel, utils::IteratorType::parallel,
             utils::IteratorType::parallel, utils::IteratorType::reduction},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value wv = args[0];
              if (intFilter)
                wv = arith::SIToFPOp::create(b, l, args[2].getType(), wv);
              else if (wv.getType() != args[2].getType())
                wv = arith::ExtFOp::create(b, l, args[2].getType(), wv);
              Value prod = arith::MulFOp::create(b, l, wv, args[1]);
              linalg::YieldOp::create(
                  b, l, arith::AddFOp::create(b, l, args[2], prod).getResult());
            })
            .getResult(0);
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(
        op, outType, y3, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    return success();
  }
};

/// depthwise_conv_2d_nchw_chw with unit width stride and dilation as one
/// elementwise generic over the output with one input per window tap:
///   y[n, c, oh, ow] = init + x_00 * w[c, 0, 0] + x_01 * w[c, 0, 1] + ...
///   x_rs = x[n, c, oh*sh + r*dh, ow + s]   (a slice of x, strided in h)
/// Every map is a projected permutation, so the tile along ow vectorizes
/// into contiguous (unaligned) loads of x and broadcasts of the taps, where
/// the windowed op is left to scalar loops. The taps are added in the
/// (r, s) order of linalg's own loops, with the same multiply and add, so
/// the result has the bits of the reference lowering.
struct DepthwiseToTaps : OpRewritePattern<linalg::DepthwiseConv2DNchwChwOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::DepthwiseConv2DNchwChwOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<ConvOperands> conv = staticConvOperands(op);
    if (!conv)
      return rewriter.notifyMatchFailure(op, "needs static tensors");
    auto [x, w, init, xType, wType, outType] = *conv;
    Type elem = outType.getElementType();
    if (!isa<FloatType>(elem) || xType.getElementType() != elem ||
        wType.getElementType() != elem)
      return rewriter.notifyMatchFailure(op, "needs one float element type");
    SmallVector<int64_t> st(op.getStrides().getValues<int64_t>());
    SmallVector<int64_t> dl(op.getDilations().getValues<int64_t>());
    // A strided width would make every x load a gather.
    if (st[1] != 1 || dl[1] != 1)
      return rewriter.notifyMatchFailure(op, "needs unit width stride");
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    int64_t n = xType.getDimSize(0), c = xType.getDimSize(1);
    int64_t kh = wType.getDimSize(1), kw = wType.getDimSize(2);
    int64_t oh = outType.getDimSize(2), ow = outType.getDimSize(3);
    SmallVector<Value> inputs;
    auto tapType = RankedTensorType::get({c}, elem);
    for (int64_t r = 0; r < kh; ++r)
      for (int64_t s = 0; s < kw; ++s) {
        inputs.push_back(tensor::ExtractSliceOp::create(
            rewriter, loc, x,
            getAsIndexOpFoldResult(ctx, {0, 0, r * dl[0], s}),
            getAsIndexOpFoldResult(ctx, {n, c, oh, ow}),
            getAsIndexOpFoldResult(ctx, {1, 1, st[0], 1})));
        inputs.push_back(tensor::ExtractSliceOp::create(
            rewriter, loc, tapType, w, getAsIndexOpFoldResult(ctx, {0, r, s}),
            getAsIndexOpFoldResult(ctx, {c, 1, 1}),
            getAsIndexOpFoldResult(ctx, {1, 1, 1})));
      }
    AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
    AffineMap channel = AffineMap::get(4, 0, {getAffineDimExpr(1, ctx)}, ctx);
    SmallVector<AffineMap> maps;
    for (int64_t t = 0; t < kh * kw; ++t)
      maps.append({id, channel});
    maps.push_back(id);
    rewriter.replaceOpWithNewOp<linalg::GenericOp>(
        op, outType, inputs, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value acc = args.back();
          for (int64_t t = 0; t < kh * kw; ++t)
            acc = arith::AddFOp::create(
                b, l, acc,
                arith::MulFOp::create(b, l, args[2 * t], args[2 * t + 1]));
          linalg::YieldOp::create(b, l, acc);
        });
    return success();
  }
};

/// tensor.pad with a constant value as a filled buffer with the source
/// inserted into it, the fill placed before the source's producer:
///   %f = linalg.fill(v, tensor.empty)      (before the producer)
///   %p = tensor.insert_slice %src into %f[low]
/// The fill is tiled and vectorized like any linalg op, and since the
/// buffer exists before the producer runs, empty-tensor elimination lets
/// the producer write its tile straight into the padded buffer: no copy
/// (bufferized as it is, a pad is a scalar copy loop after the fill).
struct PadToFilledInsert : OpRewritePattern<tensor::PadOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::PadOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getResultType();
    Attribute value;
    Value pad = op.getConstantPaddingValue();
    if (!type.hasStaticShape() || !op.getSourceType().hasStaticShape() ||
        !pad || !matchPattern(pad, m_Constant(&value)) ||
        llvm::any_of(op.getStaticLow(), ShapedType::isDynamic))
      return rewriter.notifyMatchFailure(op, "needs a static constant pad");
    Location loc = op.getLoc();
    Operation *producer = op.getSource().getDefiningOp();
    if (producer && producer->getBlock() == op->getBlock())
      rewriter.setInsertionPoint(producer);
    Value v = arith::ConstantOp::create(rewriter, loc, cast<TypedAttr>(value));
    Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                          type.getElementType());
    Value filled =
        linalg::FillOp::create(rewriter, loc, v, empty).getResult(0);
    rewriter.setInsertionPoint(op);
    SmallVector<OpFoldResult> sizes =
        getAsIndexOpFoldResult(op.getContext(), op.getSourceType().getShape());
    SmallVector<OpFoldResult> strides(type.getRank(),
                                      rewriter.getIndexAttr(1));
    rewriter.replaceOpWithNewOp<tensor::InsertSliceOp>(
        op, op.getSource(), filled, op.getMixedLowPad(), sizes, strides);
    return success();
  }
};

struct SDVectorizeDensePass
    : mlir::sd::impl::SDVectorizeDensePassBase<SDVectorizeDensePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();

    // 1. Convolutions as im2col + matmul.
    {
      RewritePatternSet patterns(ctx);
      patterns.add<ConvToMatmul, DepthwiseToTaps, PadToFilledInsert>(ctx);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }

    // 2 + 3. Tile every linalg op and vectorize its tile.
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && !op->getParentOfType<scf::ForOp>())
        ops.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (linalg::LinalgOp op : ops) {
      op = withoutUnitDims(rewriter, op);
      SmallVector<int64_t> sizes = tileSizesFor(op, lanes, rows, depth);
      if (sizes.empty())
        continue;
      // Only ops whose tile the vectorizer takes are worth tiling; the rest
      // stay whole (they become plain loops).
      if (failed(linalg::vectorizeOpPrecondition(op)))
        continue;
      // Parallel dimensions as one scf.forall (spread over the cores later),
      // then the reduction dimensions of the tile as scf.for.
      SmallVector<int64_t> outer(sizes), inner(sizes.size(), 0);
      bool reduces = false;
      for (auto [i, t] : llvm::enumerate(op.getIteratorTypesArray()))
        if (t == utils::IteratorType::reduction) {
          inner[i] = sizes[i];
          outer[i] = 0;
          reduces = true;
        }
      rewriter.setInsertionPoint(op);
      Operation *tile = tileOnce(rewriter, op, outer,
                                 scf::SCFTilingOptions::LoopType::ForallOp);
      if (!tile)
        continue;
      if (reduces)
        tile = tileOnce(rewriter, tile, inner,
                        scf::SCFTilingOptions::LoopType::ForOp);
      if (!tile)
        continue;
      tile = withoutUnitDims(rewriter, cast<linalg::LinalgOp>(tile),
                             linalg::ControlDropUnitDims::
                                 RankReductionStrategy::ExtractInsertSlice);
      rewriter.setInsertionPoint(tile);
      FailureOr<linalg::VectorizationResult> vec =
          linalg::vectorize(rewriter, tile);
      if (succeeded(vec))
        rewriter.replaceOp(tile, vec->replacements);
    }

    // 4. Cleanups: fold the slices around the transfers and hoist the
    // accumulators out of the reduction loops.
    {
      RewritePatternSet patterns(ctx);
      vector::populateVectorReductionToContractPatterns(patterns);
      vector::populateSinkVectorOpsPatterns(patterns);
      vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
      vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
      tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
      // A tile of a window tap is a slice of a slice of the input.
      tensor::populateMergeConsecutiveInsertExtractSlicePatterns(patterns);
      // Reads that broadcast (per-channel scalars: biases, scales, depthwise
      // taps) become a minor-identity read plus vector.broadcast; left as
      // they are, the transfer lowering fills the vector lane by lane.
      vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
      vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
      scf::ForOp::getCanonicalizationPatterns(patterns, ctx);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }
    func.walk([&](scf::ForOp loop) {
      IRRewriter r(ctx);
      (void)hoistLoopInvariantSubsets(r, loop);
    });
    // Multi-dimensional reductions (pooling, row sums) become 1-D vector
    // reductions, which the LLVM lowering knows.
    {
      RewritePatternSet patterns(ctx);
      vector::populateVectorMultiReductionLoweringPatterns(
          patterns, vector::VectorMultiReductionLowering::InnerReduction);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }
  }
};

} // namespace
