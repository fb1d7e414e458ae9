//===- SDToCPU.cpp - Lower sd ops to vectorized CPU kernels ---------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Kernels that compute with SmartExchange weights while they stay compressed.
// The loop structure for y[m, o] = init[m, o] + sum_l x[m, l] * W[o, l]:
//
//   for o0 in 0..N step T                     (one tile of T weight rows)
//     Wt = rebuild(codes[o0:o0+T], basis[o0:o0+T])   : T x nb x 3R floats
//     for m in 0..M
//       acc[t] = 0 (vector<8xf32>) for t < T
//       for l in 0..K step 8: acc[t] += x[m, l:l+8] * Wt[t, l:l+8]
//       y[m, o0 + t] += reduce(acc[t])
//
// The rebuild reads 8 Ce rows (24 one-byte codes) at a time, turns each code
// into the float sign * 2^p by writing its exponent bits (no table lookup and
// no multiply), and forms the 24 weights with three fused multiply-adds
// against the block's basis rows laid out as repeating 3-lane patterns.
// Rebuilding a tile once and using it for every input row amortizes the
// decode across the batch; at batch 1 the tile stays in L2.
//
//===----------------------------------------------------------------------===//

#include "SD/Conversion/SDToCPU/SDToCPU.h"
#include "SD/Conversion/SDToLinalg/SDToLinalg.h"
#include "SD/Dialect/SD/IR/SDOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::sd {
#define GEN_PASS_DEF_CONVERTSDTOCPUPASS
#include "SD/Conversion/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;
using utils::IteratorType;

/// Lanes of the vector kernels: 8 Ce rows = 24 weights per rebuild step, and
/// 8 floats (one AVX2 register) per dot-product step.
static constexpr int64_t kRowsPerStep = 8;
static constexpr int64_t kLanes = 8;

namespace {

/// Small helpers over an ImplicitLocOpBuilder.
struct Emitter {
  ImplicitLocOpBuilder &b;

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value splatI32(int64_t lanes, int32_t v) {
    auto type = VectorType::get({lanes}, b.getI32Type());
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(type, b.getI32IntegerAttr(v).getValue()));
  }
  Value zeroF32Vector(int64_t lanes) {
    auto type = VectorType::get({lanes}, b.getF32Type());
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(type, b.getF32FloatAttr(0).getValue()));
  }
  Value read(VectorType type, Value source, ValueRange indices, Value pad,
             bool inBounds) {
    SmallVector<bool> bounds(type.getRank(), inBounds);
    return vector::TransferReadOp::create(b, type, source, indices, pad,
                                          ArrayRef<bool>(bounds));
  }
  Value write(Value vec, Value dest, ValueRange indices, bool inBounds) {
    auto type = cast<VectorType>(vec.getType());
    SmallVector<bool> bounds(type.getRank(), inBounds);
    auto map = AffineMap::getMinorIdentityMap(
        cast<ShapedType>(dest.getType()).getRank(), type.getRank(),
        b.getContext());
    return vector::TransferWriteOp::create(
               b, vec, dest, indices, AffineMapAttr::get(map),
               b.getBoolArrayAttr(bounds))
        .getResult();
  }

  /// vector<Nxi8> codes -> vector<Nxf32> values sign * 2^(minExp + |c| - 1),
  /// zero for code 0, by assembling IEEE-754 bits.
  Value decode(Value codes, int64_t minExp) {
    auto codesType = cast<VectorType>(codes.getType());
    int64_t lanes = codesType.getNumElements();
    auto i32Type = VectorType::get({lanes}, b.getI32Type());
    auto f32Type = VectorType::get({lanes}, b.getF32Type());
    Value c = arith::ExtSIOp::create(b, i32Type, codes);
    Value zero = splatI32(lanes, 0);
    Value neg = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, c, zero);
    Value magnitude =
        arith::SelectOp::create(b, neg, arith::SubIOp::create(b, zero, c), c);
    Value biased = arith::AddIOp::create(
        b, magnitude, splatI32(lanes, int32_t(minExp - 1 + 127)));
    Value bits = arith::ShLIOp::create(b, biased, splatI32(lanes, 23));
    Value sign = arith::SelectOp::create(b, neg, splatI32(lanes, INT32_MIN),
                                         zero);
    bits = arith::OrIOp::create(b, bits, sign);
    Value isZero = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, c, zero);
    bits = arith::SelectOp::create(b, isZero, zero, bits);
    return arith::BitcastOp::create(b, f32Type, bits);
  }
};

/// The compressed weight behind a compute op.
struct SEWeight {
  SEWeightType type;
  Value codes; ///< [O, nb, 3R] i8 (codes collapsed per block).
  Value basis; ///< [O, nb, 3, 3] f32.
};

} // namespace

static FailureOr<SEWeight> materializeWeight(ImplicitLocOpBuilder &b,
                                             Value weight) {
  auto constant = weight.getDefiningOp<SEConstantOp>();
  if (!constant)
    return failure();
  SEWeight w;
  w.type = constant.getResult().getType();
  auto codesType = cast<ShapedType>(constant.getCodes().getType());
  if (!codesType.getElementType().isInteger(8))
    return failure();
  Value codes = arith::ConstantOp::create(b, constant.getCodes());
  w.codes = tensor::CollapseShapeOp::create(
      b, codes, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  w.basis = arith::ConstantOp::create(b, constant.getBasis());
  return w;
}

/// Rebuilds weight rows [o0, o0 + T) into a T x nb x 3R tensor.
static Value emitRebuildTile(ImplicitLocOpBuilder &b, const SEWeight &w,
                             Value o0, int64_t tileRows) {
  Emitter e{b};
  ::sd::compression::BlockLayout layout = w.type.getLayout();
  int64_t nb = layout.numBlocks, rows = layout.blockRows;
  int64_t width = kRowsPerStep * 3;
  Type f32 = b.getF32Type();
  Value tile = tensor::EmptyOp::create(
      b, ArrayRef<int64_t>{tileRows, nb, rows * 3}, f32);
  Value zeroI8 = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
  Value zeroF32 = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  auto codeVec = VectorType::get({width}, b.getI8Type());
  auto basisRow = VectorType::get({3}, f32);

  SmallVector<int64_t> pattern;
  for (int64_t l = 0; l < width; ++l)
    pattern.push_back(l % 3);
  SmallVector<SmallVector<int64_t>> pick(3);
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t l = 0; l < width; ++l)
      pick[k].push_back(3 * (l / 3) + k);

  auto tLoop = scf::ForOp::create(
      b, e.index(0), e.index(tileRows), e.index(1), ValueRange{tile},
      [&](OpBuilder &nb0, Location loc, Value t, ValueRange tArgs) {
        ImplicitLocOpBuilder b1(loc, nb0);
        Emitter e1{b1};
        Value o = e1.add(o0, t);
        auto blkLoop = scf::ForOp::create(
            b1, e1.index(0), e1.index(nb), e1.index(1), tArgs,
            [&](OpBuilder &nb1, Location loc1, Value blk, ValueRange bArgs) {
              ImplicitLocOpBuilder b2(loc1, nb1);
              Emitter e2{b2};
              // The block's basis rows as repeating 3-lane patterns.
              SmallVector<Value> patterns;
              for (int64_t k = 0; k < 3; ++k) {
                Value row = e2.read(basisRow, w.basis,
                                    {o, blk, e2.index(k), e2.index(0)},
                                    zeroF32, /*inBounds=*/true);
                patterns.push_back(
                    vector::ShuffleOp::create(b2, row, row, pattern));
              }
              auto rLoop = scf::ForOp::create(
                  b2, e2.index(0), e2.index(rows), e2.index(kRowsPerStep),
                  bArgs,
                  [&](OpBuilder &nb2, Location loc2, Value r0,
                      ValueRange rArgs) {
                    ImplicitLocOpBuilder b3(loc2, nb2);
                    Emitter e3{b3};
                    Value col = e3.mul(r0, e3.index(3));
                    // Rows past the block read as code 0 (weight 0).
                    Value codes = e3.read(codeVec, w.codes, {o, blk, col},
                                          zeroI8, /*inBounds=*/false);
                    Value acc = e3.zeroF32Vector(width);
                    for (int64_t k = 0; k < 3; ++k) {
                      Value ck =
                          vector::ShuffleOp::create(b3, codes, codes, pick[k]);
                      Value fk = e3.decode(ck, w.type.getMinExp());
                      acc = vector::FMAOp::create(b3, fk, patterns[k], acc);
                    }
                    Value next = e3.write(acc, rArgs[0], {t, blk, col},
                                          /*inBounds=*/false);
                    scf::YieldOp::create(b3, next);
                  });
              scf::YieldOp::create(b2, rLoop.getResults());
            });
        scf::YieldOp::create(b1, blkLoop.getResults());
      });
  return tLoop.getResult(0);
}

/// acc[m, o0 + t] += sum_{l < K} x[m, l] * wt[t, l] for every m and t < T.
static Value emitDotTile(ImplicitLocOpBuilder &b, Value x, Value wt,
                         Value acc, Value o0, int64_t tileRows, int64_t k) {
  Emitter e{b};
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t m = xType.getDimSize(0);
  auto vecType = VectorType::get({kLanes}, b.getF32Type());
  Value zeroF32 = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  auto mLoop = scf::ForOp::create(
      b, e.index(0), e.index(m), e.index(1), ValueRange{acc},
      [&](OpBuilder &nb0, Location loc, Value row, ValueRange mArgs) {
        ImplicitLocOpBuilder b1(loc, nb0);
        Emitter e1{b1};
        SmallVector<Value> zeros(tileRows, e1.zeroF32Vector(kLanes));
        auto lLoop = scf::ForOp::create(
            b1, e1.index(0), e1.index(k), e1.index(kLanes), zeros,
            [&](OpBuilder &nb1, Location loc1, Value l, ValueRange accs) {
              ImplicitLocOpBuilder b2(loc1, nb1);
              Emitter e2{b2};
              // Past K, x reads as 0, which also hides the weights of the
              // zero-padded tail of each row.
              Value xv = e2.read(vecType, x, {row, l}, zeroF32, false);
              SmallVector<Value> next;
              for (int64_t t = 0; t < tileRows; ++t) {
                Value wv =
                    e2.read(vecType, wt, {e2.index(t), l}, zeroF32, false);
                next.push_back(vector::FMAOp::create(b2, xv, wv, accs[t]));
              }
              scf::YieldOp::create(b2, next);
            });
        Value out = mArgs[0];
        for (int64_t t = 0; t < tileRows; ++t) {
          Value sum = vector::ReductionOp::create(
              b1, vector::CombiningKind::ADD, lLoop.getResult(t));
          Value col = e1.add(o0, e1.index(t));
          Value old = tensor::ExtractOp::create(b1, out, ValueRange{row, col});
          Value updated = arith::AddFOp::create(b1, old, sum);
          out = tensor::InsertOp::create(b1, updated, out,
                                         ValueRange{row, col});
        }
        scf::YieldOp::create(b1, out);
      });
  return mLoop.getResult(0);
}

/// y = init + x * W^T for x [M, K], init [M, N], with W compressed.
static Value emitCompressedMatmul(ImplicitLocOpBuilder &b, const SEWeight &w,
                                  Value x, Value init, int64_t maxTileRows) {
  Emitter e{b};
  ::sd::compression::BlockLayout layout = w.type.getLayout();
  int64_t n = layout.numOutputs(), k = layout.rowLength();
  // The largest tile not above maxTileRows that divides N keeps every tile
  // full, so the kernels need no remainder loop over rows.
  int64_t tileRows = 1;
  for (int64_t t = std::min<int64_t>(maxTileRows, n); t >= 1; --t)
    if (n % t == 0) {
      tileRows = t;
      break;
    }
  auto oLoop = scf::ForOp::create(
      b, e.index(0), e.index(n), e.index(tileRows), ValueRange{init},
      [&](OpBuilder &nb0, Location loc, Value o0, ValueRange args) {
        ImplicitLocOpBuilder b1(loc, nb0);
        Value tile = emitRebuildTile(b1, w, o0, tileRows);
        Value flat = tensor::CollapseShapeOp::create(
            b1, tile, SmallVector<ReassociationIndices>{{0}, {1, 2}});
        Value out = emitDotTile(b1, x, flat, args[0], o0, tileRows, k);
        scf::YieldOp::create(b1, out);
      });
  return oLoop.getResult(0);
}

/// Reshapes a [d0, ..., dr-1] tensor to 2-D [prod(d0..dr-2), dr-1].
static Value to2D(ImplicitLocOpBuilder &b, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getRank() == 2)
    return v;
  if (type.getRank() == 1)
    return tensor::ExpandShapeOp::create(
        b, RankedTensorType::get({1, type.getDimSize(0)},
                                 type.getElementType()),
        v, SmallVector<ReassociationIndices>{{0, 1}});
  ReassociationIndices lead;
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    lead.push_back(d);
  return tensor::CollapseShapeOp::create(
      b, v, SmallVector<ReassociationIndices>{lead, {type.getRank() - 1}});
}

static Value from2D(ImplicitLocOpBuilder &b, Value v, RankedTensorType type) {
  if (type.getRank() == 2)
    return v;
  if (type.getRank() == 1)
    return tensor::CollapseShapeOp::create(
        b, v, SmallVector<ReassociationIndices>{{0, 1}});
  ReassociationIndices lead;
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    lead.push_back(d);
  return tensor::ExpandShapeOp::create(
      b, type, v,
      SmallVector<ReassociationIndices>{lead, {type.getRank() - 1}});
}

namespace {

struct LowerMatmulToCPU : OpRewritePattern<ShiftAddMatmulOp> {
  LowerMatmulToCPU(MLIRContext *ctx, int64_t tileRows)
      : OpRewritePattern(ctx, /*benefit=*/2), tileRows(tileRows) {}

  LogicalResult matchAndRewrite(ShiftAddMatmulOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    SEWeightType type = op.getWeight().getType();
    if (type.getMinExp() < -126 || type.getMaxExp() > 127)
      return rewriter.notifyMatchFailure(op, "exponents outside f32 range");
    FailureOr<SEWeight> w = materializeWeight(b, op.getWeight());
    if (failed(w))
      return rewriter.notifyMatchFailure(op, "weight is not an i8 constant");
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    Value y = emitCompressedMatmul(b, *w, to2D(b, op.getInput()),
                                   to2D(b, op.getInit()), tileRows);
    y = from2D(b, y, initType);
    if (op.getBias())
      y = addChannelBias(b, op.getLoc(), y, op.getBias(),
                         initType.getRank() - 1);
    rewriter.replaceOp(op, y);
    return success();
  }

  int64_t tileRows;
};

struct LowerConvToCPU : OpRewritePattern<ShiftAddConv2DOp> {
  LowerConvToCPU(MLIRContext *ctx, int64_t tileRows)
      : OpRewritePattern(ctx, /*benefit=*/2), tileRows(tileRows) {}

  LogicalResult matchAndRewrite(ShiftAddConv2DOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = op.getContext();
    SEWeightType type = op.getWeight().getType();
    if (type.getMinExp() < -126 || type.getMaxExp() > 127)
      return rewriter.notifyMatchFailure(op, "exponents outside f32 range");
    FailureOr<SEWeight> w = materializeWeight(b, op.getWeight());
    if (failed(w))
      return rewriter.notifyMatchFailure(op, "weight is not an i8 constant");
    auto xType = cast<RankedTensorType>(op.getInput().getType());
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    if (!xType.hasStaticShape() || !initType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    bool nchw = op.getLayout() == ConvLayout::nchw;
    ArrayRef<int64_t> wShape = type.getShape(); // F, C, R, S
    int64_t n = xType.getDimSize(0);
    int64_t ho = initType.getDimSize(nchw ? 2 : 1);
    int64_t wo = initType.getDimSize(nchw ? 3 : 2);
    int64_t f = wShape[0], c = wShape[1], r = wShape[2], s = wShape[3];
    Type f32 = b.getF32Type();

    // im2col: cols[n, ho, wo, c, r, s] = x at the tap, ordered like W rows.
    AffineExpr dn, dh, dw, dc, dr, ds;
    bindDims(ctx, dn, dh, dw, dc, dr, ds);
    AffineExpr h = dh * op.getStrides()[0] + dr * op.getDilations()[0];
    AffineExpr wcol = dw * op.getStrides()[1] + ds * op.getDilations()[1];
    AffineMap xMap = nchw ? AffineMap::get(6, 0, {dn, dc, h, wcol}, ctx)
                          : AffineMap::get(6, 0, {dn, h, wcol, dc}, ctx);
    Value colsInit =
        tensor::EmptyOp::create(b, ArrayRef<int64_t>{n, ho, wo, c, r, s}, f32);
    Value cols =
        linalg::GenericOp::create(
            b, colsInit.getType(), ValueRange{op.getInput()},
            ValueRange{colsInit},
            ArrayRef<AffineMap>{xMap,
                                AffineMap::getMultiDimIdentityMap(6, ctx)},
            SmallVector<IteratorType>(6, IteratorType::parallel),
            [](OpBuilder &nb, Location loc, ValueRange args) {
              linalg::YieldOp::create(nb, loc, args[0]);
            })
            .getResult(0);
    Value cols2 = tensor::CollapseShapeOp::create(
        b, cols, SmallVector<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});

    auto zType = RankedTensorType::get({n * ho * wo, f}, f32);
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
    Value zInit = linalg::FillOp::create(
                      b, zero, tensor::EmptyOp::create(b, zType.getShape(), f32)
                                   .getResult())
                      .getResult(0);
    Value z = emitCompressedMatmul(b, *w, cols2, zInit, tileRows);
    Value z4 = tensor::ExpandShapeOp::create(
        b, RankedTensorType::get({n, ho, wo, f}, f32), z,
        SmallVector<ReassociationIndices>{{0, 1, 2}, {3}});

    // out = init + z, with z read in the output layout.
    AffineExpr on, o1, o2, o3;
    bindDims(ctx, on, o1, o2, o3);
    AffineMap zMap = nchw ? AffineMap::get(4, 0, {on, o2, o3, o1}, ctx)
                          : AffineMap::getMultiDimIdentityMap(4, ctx);
    Value out =
        linalg::GenericOp::create(
            b, initType, ValueRange{z4}, ValueRange{op.getInit()},
            ArrayRef<AffineMap>{zMap,
                                AffineMap::getMultiDimIdentityMap(4, ctx)},
            SmallVector<IteratorType>(4, IteratorType::parallel),
            [](OpBuilder &nb, Location loc, ValueRange args) {
              linalg::YieldOp::create(
                  nb, loc,
                  arith::AddFOp::create(nb, loc, args[1], args[0])
                      .getResult());
            })
            .getResult(0);
    if (op.getBias())
      out = addChannelBias(b, op.getLoc(), out, op.getBias(), nchw ? 1 : 3);
    rewriter.replaceOp(op, out);
    return success();
  }

  int64_t tileRows;
};

struct ConvertSDToCPUPass
    : mlir::sd::impl::ConvertSDToCPUPassBase<ConvertSDToCPUPass> {
  using Base::Base;

  void runOnOperation() override {
    Operation *root = getOperation();
    if (tileRows < 1) {
      emitError(root->getLoc()) << "tile-rows must be at least 1";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateSDToCPUPatterns(patterns, tileRows);
    // What has no kernel yet (permuted-diagonal matmuls, standalone
    // rebuilds, weights the kernels reject) takes the reference path.
    populateSDToLinalgPatterns(patterns);
    if (failed(applyPatternsGreedily(root, std::move(patterns))))
      return signalPassFailure();
    WalkResult result = root->walk([&](Operation *op) {
      if (!isa<SDDialect>(op->getDialect()))
        return WalkResult::advance();
      op->emitError() << "cannot lower '" << op->getName()
                      << "' to the CPU: its weight is not defined by a "
                         "constant sd op in this function";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

void mlir::sd::populateSDToCPUPatterns(RewritePatternSet &patterns,
                                       int64_t tileRows) {
  patterns.add<LowerMatmulToCPU, LowerConvToCPU>(patterns.getContext(),
                                                 tileRows);
}
