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
//      matmul so i8 filters work; 1x1 kernels need no copy);
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
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
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

/// Tile sizes for `op`: the loop that indexes the output's last dimension
/// gets a vector (up to `lanes`), the loop of the output's second-to-last
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
    sizes[*inner] = divisorUpTo(ranges[*inner], lanes);
  if (reduces) {
    if (std::optional<unsigned> outer = dimOf(outRank - 2))
      sizes[*outer] = divisorUpTo(ranges[*outer], rows);
    for (auto [i, t] : llvm::enumerate(iters))
      if (t == utils::IteratorType::reduction)
        sizes[i] = divisorUpTo(ranges[i], depth);
  }
  return sizes;
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
    Value x = op.getInputs()[0], w = op.getInputs()[1];
    Value init = op.getOutputs()[0];
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    auto wType = dyn_cast<RankedTensorType>(w.getType());
    auto outType = dyn_cast<RankedTensorType>(init.getType());
    if (!xType || !wType || !outType || !xType.hasStaticShape() ||
        !wType.hasStaticShape() || !outType.hasStaticShape() ||
        !op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "needs static tensors");
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

struct SDVectorizeDensePass
    : mlir::sd::impl::SDVectorizeDensePassBase<SDVectorizeDensePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();

    // 1. Convolutions as im2col + matmul.
    {
      RewritePatternSet patterns(ctx);
      patterns.add<ConvToMatmul>(ctx);
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
