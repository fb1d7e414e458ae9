//===- SDToLinalg.cpp - Reference lowering of sd to linalg ----------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The reference semantics of the sd dialect, written as upstream IR: every
// compressed weight is rebuilt densely and every compute op becomes the
// linalg op that defines it. Nothing here is meant to be fast; it is meant to
// be obviously right, so the real backends can be checked against it.
//
//===----------------------------------------------------------------------===//

#include "SD/Conversion/SDToLinalg/SDToLinalg.h"
#include "SD/Compression/Quantize.h"
#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/IR/SDQuantize.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::sd {
#define GEN_PASS_DEF_CONVERTSDTOLINALGPASS
#include "SD/Conversion/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;

using utils::IteratorType;

static Value zeroFilled(OpBuilder &b, Location loc, RankedTensorType type) {
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

//===----------------------------------------------------------------------===//
// Rebuilding weights
//===----------------------------------------------------------------------===//

/// [O, nb, rows, 3] -> [O, nb*rows*3] -> [O, L] -> [O, d1, ..., dn], in the
/// element type of `rows`.
static Value rowsToDense(OpBuilder &b, Location loc, Value rows,
                         SEWeightType type) {
  ::sd::compression::BlockLayout layout = type.getLayout();
  int64_t outputs = layout.numOutputs();
  int64_t length = layout.rowLength();
  Type elem = cast<ShapedType>(rows.getType()).getElementType();
  Value flat = tensor::CollapseShapeOp::create(
      b, loc, rows, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  if (layout.paddedRows() * ::sd::compression::kBasisSize != length)
    flat = tensor::ExtractSliceOp::create(
        b, loc, flat,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(outputs), b.getIndexAttr(length)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  auto dense = RankedTensorType::get(type.getShape(), elem);
  if (dense.getRank() == 2)
    return flat;
  ReassociationIndices tail;
  for (int64_t d = 1; d < dense.getRank(); ++d)
    tail.push_back(d);
  return tensor::ExpandShapeOp::create(
      b, loc, dense, flat, SmallVector<ReassociationIndices>{{0}, tail});
}

/// Dense W from Ce codes and bases: rows[o,b,r,j] = sum_k Ce[o,b,r,k] *
/// B[o,b,k,j], with Ce decoded through a table indexed by code + levels,
/// then the padding cut off and the rows reshaped to the weight's shape.
static Value rebuildSE(OpBuilder &b, Location loc, SEConstantOp constant) {
  SEWeightType type = constant.getResult().getType();
  ::sd::compression::ExponentRange range = type.getExponentRange();
  auto elemType = cast<FloatType>(type.getElementType());
  MLIRContext *ctx = b.getContext();

  Value codes = arith::ConstantOp::create(b, loc, constant.getCodes());
  Value basis = arith::ConstantOp::create(b, loc, constant.getBasis());

  SmallVector<Attribute> table;
  for (int code = -range.levels(); code <= range.levels(); ++code)
    table.push_back(
        b.getFloatAttr(elemType, ::sd::compression::decodeCode(code, range)));
  auto tableType = RankedTensorType::get({int64_t(table.size())}, elemType);
  Value tableValue = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(tableType, table));
  Value levels = arith::ConstantIndexOp::create(b, loc, range.levels());

  auto rowsType = RankedTensorType::get(type.getCodesShape(), elemType);
  AffineExpr o, blk, r, j, k;
  bindDims(ctx, o, blk, r, j, k);
  SmallVector<AffineMap> maps = {AffineMap::get(5, 0, {o, blk, r, k}, ctx),
                                 AffineMap::get(5, 0, {o, blk, k, j}, ctx),
                                 AffineMap::get(5, 0, {o, blk, r, j}, ctx)};
  SmallVector<IteratorType> iterators(4, IteratorType::parallel);
  iterators.push_back(IteratorType::reduction);
  Value rows = linalg::GenericOp::create(
                   b, loc, rowsType, ValueRange{codes, basis},
                   ValueRange{zeroFilled(b, loc, rowsType)}, maps, iterators,
                   [&](OpBuilder &nb, Location nloc, ValueRange args) {
                     Value index = arith::IndexCastOp::create(
                         nb, nloc, nb.getIndexType(), args[0]);
                     index = arith::AddIOp::create(nb, nloc, index, levels);
                     Value ce =
                         tensor::ExtractOp::create(nb, nloc, tableValue, index);
                     Value prod = arith::MulFOp::create(nb, nloc, ce, args[1]);
                     Value sum = arith::AddFOp::create(nb, nloc, args[2], prod);
                     linalg::YieldOp::create(nb, nloc, sum);
                   })
                   .getResult(0);

  return rowsToDense(b, loc, rows, type);
}

/// Dense W[m, n] = values[m/p, n/p, m%p] where n%p == (m%p + k) mod p with
/// k = offsets[m/p, n/p], else 0, in element type `elem` (integer values are
/// sign-extended to it).
static Value permDiagToDense(OpBuilder &b, Location loc,
                             PermDiagWeightType type, Value offsets,
                             Value values, Type elem) {
  RankedTensorType dense = type.getDenseType();
  MLIRContext *ctx = b.getContext();
  Value p = arith::ConstantIndexOp::create(b, loc, type.getBlockSize());
  Value empty = tensor::EmptyOp::create(b, loc, dense.getShape(), elem);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(2, ctx)};
  SmallVector<IteratorType> iterators(2, IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, RankedTensorType::get(dense.getShape(), elem),
             ValueRange{}, ValueRange{empty}, maps, iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value m = linalg::IndexOp::create(nb, nloc, 0);
               Value n = linalg::IndexOp::create(nb, nloc, 1);
               Value i = arith::DivUIOp::create(nb, nloc, m, p);
               Value c = arith::RemUIOp::create(nb, nloc, m, p);
               Value j = arith::DivUIOp::create(nb, nloc, n, p);
               Value col = arith::RemUIOp::create(nb, nloc, n, p);
               Value k = tensor::ExtractOp::create(nb, nloc, offsets,
                                                   ValueRange{i, j});
               k = arith::IndexCastOp::create(nb, nloc, nb.getIndexType(), k);
               Value target = arith::RemUIOp::create(
                   nb, nloc, arith::AddIOp::create(nb, nloc, c, k), p);
               Value hit = arith::CmpIOp::create(
                   nb, nloc, arith::CmpIPredicate::eq, target, col);
               Value q = tensor::ExtractOp::create(nb, nloc, values,
                                                   ValueRange{i, j, c});
               if (q.getType() != elem)
                 q = arith::ExtSIOp::create(nb, nloc, elem, q);
               Value zero =
                   arith::ConstantOp::create(nb, nloc, nb.getZeroAttr(elem));
               Value w = arith::SelectOp::create(nb, nloc, hit, q, zero);
               linalg::YieldOp::create(nb, nloc, w);
             })
      .getResult(0);
}

static Value rebuildPermDiag(OpBuilder &b, Location loc,
                             PermDiagConstantOp constant) {
  PermDiagWeightType type = constant.getResult().getType();
  Value offsets = arith::ConstantOp::create(b, loc, constant.getOffsets());
  Value values = arith::ConstantOp::create(b, loc, constant.getValues());
  return permDiagToDense(b, loc, type, offsets, values, type.getElementType());
}

FailureOr<Value> mlir::sd::buildDenseWeight(OpBuilder &builder, Location loc,
                                            Value weight) {
  Operation *def = weight.getDefiningOp();
  if (auto se = dyn_cast_or_null<SEConstantOp>(def))
    return rebuildSE(builder, loc, se);
  if (auto pd = dyn_cast_or_null<PermDiagConstantOp>(def))
    return rebuildPermDiag(builder, loc, pd);
  return failure();
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// out[..., n] += x[..., k] * w[n, k], then + bias[n].
static Value buildMatmul(OpBuilder &b, Location loc, Value x, Value w,
                         Value bias, Value init) {
  MLIRContext *ctx = b.getContext();
  auto initType = cast<RankedTensorType>(init.getType());
  int64_t batchRank = initType.getRank() - 1;
  unsigned numDims = batchRank + 2; // batch..., n, k
  SmallVector<AffineExpr> batch, xExprs, outExprs;
  for (int64_t d = 0; d < batchRank; ++d)
    batch.push_back(getAffineDimExpr(d, ctx));
  AffineExpr n = getAffineDimExpr(batchRank, ctx);
  AffineExpr k = getAffineDimExpr(batchRank + 1, ctx);
  xExprs = batch;
  xExprs.push_back(k);
  outExprs = batch;
  outExprs.push_back(n);
  SmallVector<AffineMap> maps = {AffineMap::get(numDims, 0, xExprs, ctx),
                                 AffineMap::get(numDims, 0, {n, k}, ctx),
                                 AffineMap::get(numDims, 0, outExprs, ctx)};
  SmallVector<IteratorType> iterators(batchRank + 1, IteratorType::parallel);
  iterators.push_back(IteratorType::reduction);
  Value out =
      linalg::GenericOp::create(
          b, loc, initType, ValueRange{x, w}, ValueRange{init}, maps, iterators,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value prod = arith::MulFOp::create(nb, nloc, args[0], args[1]);
            linalg::YieldOp::create(
                nb, nloc,
                arith::AddFOp::create(nb, nloc, args[2], prod).getResult());
          })
          .getResult(0);
  if (!bias)
    return out;
  return addChannelBias(b, loc, out, bias, initType.getRank() - 1);
}

Value mlir::sd::addChannelBias(OpBuilder &b, Location loc, Value value,
                               Value bias, unsigned channelDim) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(value.getType());
  unsigned rank = type.getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap biasMap =
      AffineMap::get(rank, 0, getAffineDimExpr(channelDim, ctx));
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{bias}, ValueRange{value},
             ArrayRef<AffineMap>{biasMap, identity},
             SmallVector<IteratorType>(rank, IteratorType::parallel),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nloc,
                   arith::AddFOp::create(nb, nloc, args[1], args[0])
                       .getResult());
             })
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// Quantized ops: exact integer arithmetic (docs/QuantizedArithmetic.md)
//===----------------------------------------------------------------------===//

namespace {
/// The integer operands of a quantized layer, materialized as constants.
struct IntegerLayer {
  Value weight; ///< Rebuilt int32 (int8 when dense) weight, dense shape.
  Value bias;   ///< int64 [O].
  ::sd::compression::Requantization requant;
  bool relu;
};
} // namespace

static Value splatConstant(OpBuilder &b, Location loc, Type type, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, v));
}

/// Quantizes the layer (the shared plain C++ rule) and rebuilds its integer
/// weight by shifts and adds: W[j] = sum_k sign(c_k) * (bq[k, j] << (|c_k|-1)).
/// The integer layer of a PermDNN weight: int8 values (one power-of-two
/// scale per layer) placed on their permuted diagonals, as int32.
static FailureOr<IntegerLayer>
buildPermDiagIntegerLayer(OpBuilder &b, Operation *op,
                          PermDiagConstantOp constant, Value bias,
                          double inputScale, double outputScale, bool relu) {
  Location loc = op->getLoc();
  PermDiagWeightType type = constant.getResult().getType();
  FailureOr<::sd::compression::QuantizedLayer> quantized =
      quantizeLayerOf(op, constant, bias, inputScale, outputScale, relu);
  if (failed(quantized))
    return failure();
  const ::sd::compression::QuantizedLayer &q = *quantized;
  auto valuesType = RankedTensorType::get(
      {type.getRowBlocks(), type.getColBlocks(), type.getBlockSize()},
      b.getI8Type());
  Value values = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(valuesType, ArrayRef<int8_t>(q.basis)));
  Value offsets = arith::ConstantOp::create(b, loc, constant.getOffsets());
  IntegerLayer layer;
  layer.weight = permDiagToDense(b, loc, type, offsets, values, b.getI32Type());
  auto biasType = RankedTensorType::get({type.getShape()[0]}, b.getI64Type());
  layer.bias = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(biasType, ArrayRef<int64_t>(q.bias)));
  layer.requant = q.requant;
  layer.relu = relu;
  return layer;
}

static FailureOr<IntegerLayer>
buildIntegerLayer(OpBuilder &b, Operation *op, Value weight, Value bias,
                  double inputScale, double outputScale, bool relu) {
  Location loc = op->getLoc();
  if (auto permDiag = weight.getDefiningOp<PermDiagConstantOp>())
    return buildPermDiagIntegerLayer(b, op, permDiag, bias, inputScale,
                                     outputScale, relu);
  if (auto denseType = dyn_cast<RankedTensorType>(weight.getType())) {
    // A dense weight: its int8 values, every product summed.
    FailureOr<::sd::compression::QuantizedLayer> q =
        quantizeDenseOf(op, weight, bias, inputScale, outputScale, relu);
    if (failed(q))
      return failure();
    IntegerLayer layer;
    layer.weight = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(
            RankedTensorType::get(denseType.getShape(), b.getI8Type()),
            ArrayRef<int8_t>(q->basis)));
    auto biasType =
        RankedTensorType::get({denseType.getDimSize(0)}, b.getI64Type());
    layer.bias = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(biasType, ArrayRef<int64_t>(q->bias)));
    layer.requant = q->requant;
    layer.relu = relu;
    return layer;
  }
  auto constant = weight.getDefiningOp<SEConstantOp>();
  if (!constant)
    return failure();
  SEWeightType type = constant.getResult().getType();
  int64_t outputs = type.getShape()[0];
  FailureOr<::sd::compression::QuantizedLayer> quantized =
      quantizeLayerOf(op, constant, bias, inputScale, outputScale, relu);
  if (failed(quantized))
    return failure();
  const ::sd::compression::QuantizedLayer &q = *quantized;

  MLIRContext *ctx = b.getContext();
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), i64 = b.getI64Type();
  Value codes = arith::ConstantOp::create(b, loc, constant.getCodes());
  auto bqType = RankedTensorType::get(type.getBasisShape(), i8);
  Value bq = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(bqType, ArrayRef<int8_t>(q.basis)));
  auto rowsType = RankedTensorType::get(type.getCodesShape(), i32);
  Value zero32 = splatConstant(b, loc, i32, 0);
  Value rowsInit =
      linalg::FillOp::create(
          b, loc, zero32,
          tensor::EmptyOp::create(b, loc, rowsType.getShape(), i32).getResult())
          .getResult(0);
  AffineExpr o, blk, r, j, k;
  bindDims(ctx, o, blk, r, j, k);
  SmallVector<AffineMap> maps = {AffineMap::get(5, 0, {o, blk, r, k}, ctx),
                                 AffineMap::get(5, 0, {o, blk, k, j}, ctx),
                                 AffineMap::get(5, 0, {o, blk, r, j}, ctx)};
  SmallVector<IteratorType> iterators(4, IteratorType::parallel);
  iterators.push_back(IteratorType::reduction);
  Value rows =
      linalg::GenericOp::create(
          b, loc, rowsType, ValueRange{codes, bq}, ValueRange{rowsInit}, maps,
          iterators,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value c = arith::ExtSIOp::create(nb, nloc, i32, args[0]);
            Value zero = splatConstant(nb, nloc, i32, 0);
            Value one = splatConstant(nb, nloc, i32, 1);
            Value neg = arith::CmpIOp::create(
                nb, nloc, arith::CmpIPredicate::slt, c, zero);
            Value mag = arith::SelectOp::create(
                nb, nloc, neg, arith::SubIOp::create(nb, nloc, zero, c), c);
            Value shift = arith::MaxSIOp::create(
                nb, nloc, arith::SubIOp::create(nb, nloc, mag, one), zero);
            Value bv = arith::ExtSIOp::create(nb, nloc, i32, args[1]);
            Value term = arith::ShLIOp::create(nb, nloc, bv, shift);
            term = arith::SelectOp::create(
                nb, nloc, neg, arith::SubIOp::create(nb, nloc, zero, term),
                term);
            Value isZero = arith::CmpIOp::create(
                nb, nloc, arith::CmpIPredicate::eq, c, zero);
            term = arith::SelectOp::create(nb, nloc, isZero, zero, term);
            linalg::YieldOp::create(
                nb, nloc,
                arith::AddIOp::create(nb, nloc, args[2], term).getResult());
          })
          .getResult(0);
  IntegerLayer layer;
  layer.weight = rowsToDense(b, loc, rows, type);
  auto biasType = RankedTensorType::get({outputs}, i64);
  layer.bias = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(biasType, ArrayRef<int64_t>(q.bias)));
  layer.requant = q.requant;
  layer.relu = relu;
  return layer;
}

/// An int64 tensor of `shape` holding bias[c] along dimension `channelDim`.
static Value broadcastBias(OpBuilder &b, Location loc, Value bias,
                           ArrayRef<int64_t> shape, unsigned channelDim) {
  MLIRContext *ctx = b.getContext();
  unsigned rank = shape.size();
  auto type = RankedTensorType::get(shape, b.getI64Type());
  Value empty = tensor::EmptyOp::create(b, loc, shape, b.getI64Type());
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{bias}, ValueRange{empty},
             ArrayRef<AffineMap>{
                 AffineMap::get(rank, 0, getAffineDimExpr(channelDim, ctx)),
                 AffineMap::getMultiDimIdentityMap(rank, ctx)},
             SmallVector<IteratorType>(rank, IteratorType::parallel),
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc, args[0]);
             })
      .getResult(0);
}

/// The tail every requantization shares: round `t` (int64, already scaled by
/// the multiplier) by 2^shift half up, clamp to [relu ? 0 : -127, 127] and
/// narrow to int8.
static Value roundShiftToInt8(OpBuilder &b, Location loc, Value t,
                              int64_t shift, bool relu) {
  Type i64 = b.getI64Type();
  auto c = [&](int64_t v) { return splatConstant(b, loc, i64, v); };
  t = arith::AddIOp::create(b, loc, t, c(int64_t(1) << (shift - 1)));
  t = arith::ShRSIOp::create(b, loc, t, c(shift));
  t = arith::MaxSIOp::create(b, loc, t, c(relu ? 0 : -127));
  t = arith::MinSIOp::create(b, loc, t, c(127));
  return arith::TruncIOp::create(b, loc, b.getI8Type(), t);
}

static DenseIntElementsAttr i64VectorAttr(OpBuilder &b,
                                          ArrayRef<int64_t> values) {
  return DenseIntElementsAttr::get(
      RankedTensorType::get({int64_t(values.size())}, b.getI64Type()), values);
}

/// int64 accumulators -> int8 outputs (the requantization rule).
static Value requantize(OpBuilder &b, Location loc, Value acc,
                        const IntegerLayer &layer) {
  MLIRContext *ctx = b.getContext();
  auto accType = cast<RankedTensorType>(acc.getType());
  unsigned rank = accType.getRank();
  Type i8 = b.getI8Type(), i64 = b.getI64Type();
  auto outType = RankedTensorType::get(accType.getShape(), i8);
  Value empty = tensor::EmptyOp::create(b, loc, accType.getShape(), i8);
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  return linalg::GenericOp::create(
             b, loc, outType, ValueRange{acc}, ValueRange{empty},
             ArrayRef<AffineMap>{id, id},
             SmallVector<IteratorType>(rank, IteratorType::parallel),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               int64_t limit = (int64_t(1) << 47) - 1;
               Value a = arith::MaxSIOp::create(
                   nb, nloc, args[0], splatConstant(nb, nloc, i64, -limit));
               a = arith::MinSIOp::create(nb, nloc, a,
                                          splatConstant(nb, nloc, i64, limit));
               Value t = arith::MulIOp::create(
                   nb, nloc, a,
                   splatConstant(nb, nloc, i64, layer.requant.multiplier));
               linalg::YieldOp::create(
                   nb, nloc,
                   roundShiftToInt8(nb, nloc, t, layer.requant.shift,
                                    layer.relu));
             })
      .getResult(0);
}

namespace {

struct LowerQuantizedMatmul : OpRewritePattern<QuantizedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<IntegerLayer> layer =
        buildIntegerLayer(rewriter, op, op.getWeight(), op.getBias(),
                          op.getInputScale().convertToDouble(),
                          op.getOutputScale().convertToDouble(), op.getRelu());
    if (failed(layer))
      return rewriter.notifyMatchFailure(op, "weight is not quantizable");
    MLIRContext *ctx = op.getContext();
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    unsigned rank = resultType.getRank();
    Value acc = broadcastBias(rewriter, loc, layer->bias, resultType.getShape(),
                              rank - 1);
    SmallVector<AffineExpr> lead, xExprs, outExprs;
    for (unsigned d = 0; d + 1 < rank; ++d)
      lead.push_back(getAffineDimExpr(d, ctx));
    AffineExpr n = getAffineDimExpr(rank - 1, ctx);
    AffineExpr k = getAffineDimExpr(rank, ctx);
    xExprs = lead;
    xExprs.push_back(k);
    outExprs = lead;
    outExprs.push_back(n);
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    iterators.push_back(IteratorType::reduction);
    Type i64 = rewriter.getI64Type();
    acc = linalg::GenericOp::create(
              rewriter, loc, acc.getType(),
              ValueRange{op.getInput(), layer->weight}, ValueRange{acc},
              ArrayRef<AffineMap>{AffineMap::get(rank + 1, 0, xExprs, ctx),
                                  AffineMap::get(rank + 1, 0, {n, k}, ctx),
                                  AffineMap::get(rank + 1, 0, outExprs, ctx)},
              iterators,
              [&](OpBuilder &nb, Location nloc, ValueRange args) {
                Value x = arith::ExtSIOp::create(nb, nloc, i64, args[0]);
                Value w = arith::ExtSIOp::create(nb, nloc, i64, args[1]);
                Value p = arith::MulIOp::create(nb, nloc, x, w);
                linalg::YieldOp::create(
                    nb, nloc,
                    arith::AddIOp::create(nb, nloc, args[2], p).getResult());
              })
              .getResult(0);
    rewriter.replaceOp(op, requantize(rewriter, loc, acc, *layer));
    return success();
  }
};

struct LowerQuantizedConv : OpRewritePattern<QuantizedConv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizedConv2DOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<IntegerLayer> layer =
        buildIntegerLayer(rewriter, op, op.getWeight(), op.getBias(),
                          op.getInputScale().convertToDouble(),
                          op.getOutputScale().convertToDouble(), op.getRelu());
    if (failed(layer))
      return rewriter.notifyMatchFailure(op, "weight is not quantizable");
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Value acc =
        broadcastBias(rewriter, loc, layer->bias, resultType.getShape(), 1);
    // linalg's convolution sign-extends both operands to the i64 output.
    acc = linalg::Conv2DNchwFchwOp::create(
              rewriter, loc, TypeRange{acc.getType()},
              ValueRange{op.getInput(), layer->weight}, ValueRange{acc},
              i64VectorAttr(rewriter, op.getStrides()),
              i64VectorAttr(rewriter, op.getDilations()))
              .getResult(0);
    rewriter.replaceOp(op, requantize(rewriter, loc, acc, *layer));
    return success();
  }
};

/// y = clamp((a * M_a + b * M_b + 2^(S-1)) >> S, lo, 127), elementwise.
struct LowerQuantizedAdd : OpRewritePattern<QuantizedAddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizedAddOp op,
                                PatternRewriter &rewriter) const override {
    ::sd::compression::AddRequantization r;
    std::string error;
    if (!::sd::compression::computeAddRequantization(
            op.getLhsScale().convertToDouble(),
            op.getRhsScale().convertToDouble(),
            op.getOutputScale().convertToDouble(), r, error))
      return rewriter.notifyMatchFailure(op, error);
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getResult().getType());
    unsigned rank = type.getRank();
    Type i8 = rewriter.getI8Type(), i64 = rewriter.getI64Type();
    bool relu = op.getRelu();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, op.getContext());
    Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(), i8);
    Value out =
        linalg::GenericOp::create(
            rewriter, loc, type, ValueRange{op.getLhs(), op.getRhs()},
            ValueRange{empty}, ArrayRef<AffineMap>{id, id, id},
            SmallVector<IteratorType>(rank, IteratorType::parallel),
            [&](OpBuilder &nb, Location nloc, ValueRange args) {
              auto c = [&](int64_t v) { return splatConstant(nb, nloc, i64, v); };
              Value a = arith::ExtSIOp::create(nb, nloc, i64, args[0]);
              Value b = arith::ExtSIOp::create(nb, nloc, i64, args[1]);
              Value t = arith::AddIOp::create(
                  nb, nloc, arith::MulIOp::create(nb, nloc, a, c(r.multiplierA)),
                  arith::MulIOp::create(nb, nloc, b, c(r.multiplierB)));
              linalg::YieldOp::create(
                  nb, nloc, roundShiftToInt8(nb, nloc, t, r.shift, relu));
            })
            .getResult(0);
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// Max over each window; the padding holds -128, below every int8 value the
/// format produces, so it never wins (every window holds an input).
struct LowerQuantizedMaxPool : OpRewritePattern<QuantizedMaxPool2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizedMaxPool2DOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type i8 = rewriter.getI8Type();
    auto type = cast<RankedTensorType>(op.getResult().getType());
    ArrayRef<int64_t> pad = op.getPadding();
    Value lowest = splatConstant(rewriter, loc, i8, -128);
    Value input = op.getInput();
    if (llvm::any_of(pad, [](int64_t p) { return p != 0; })) {
      auto inType = cast<RankedTensorType>(input.getType());
      SmallVector<int64_t> shape(inType.getShape());
      shape[2] += pad[0] + pad[2];
      shape[3] += pad[1] + pad[3];
      SmallVector<OpFoldResult> low = {rewriter.getIndexAttr(0),
                                       rewriter.getIndexAttr(0),
                                       rewriter.getIndexAttr(pad[0]),
                                       rewriter.getIndexAttr(pad[1])};
      SmallVector<OpFoldResult> high = {rewriter.getIndexAttr(0),
                                        rewriter.getIndexAttr(0),
                                        rewriter.getIndexAttr(pad[2]),
                                        rewriter.getIndexAttr(pad[3])};
      input = tensor::PadOp::create(rewriter, loc,
                                    RankedTensorType::get(shape, i8), input,
                                    low, high, lowest)
                  .getResult();
    }
    Value init = linalg::FillOp::create(
                     rewriter, loc, lowest,
                     tensor::EmptyOp::create(rewriter, loc, type.getShape(), i8)
                         .getResult())
                     .getResult(0);
    Value window = tensor::EmptyOp::create(rewriter, loc, op.getKernel(), i8);
    SmallVector<int64_t> ones = {1, 1};
    Value out = linalg::PoolingNchwMaxOp::create(
                    rewriter, loc, TypeRange{type}, ValueRange{input, window},
                    ValueRange{init}, i64VectorAttr(rewriter, op.getStrides()),
                    i64VectorAttr(rewriter, ones))
                    .getResult(0);
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// int64 window sums, then the accumulator requantization.
struct LowerQuantizedAvgPool : OpRewritePattern<QuantizedAvgPool2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizedAvgPool2DOp op,
                                PatternRewriter &rewriter) const override {
    IntegerLayer layer;
    std::string error;
    ArrayRef<int64_t> kernel = op.getKernel();
    if (!::sd::compression::computeRequantization(
            op.getInputScale().convertToDouble() /
                (op.getOutputScale().convertToDouble() *
                 double(kernel[0] * kernel[1])),
            layer.requant, error))
      return rewriter.notifyMatchFailure(op, error);
    layer.relu = op.getRelu();
    Location loc = op.getLoc();
    Type i64 = rewriter.getI64Type();
    auto type = cast<RankedTensorType>(op.getResult().getType());
    Value zero = splatConstant(rewriter, loc, i64, 0);
    Value init = linalg::FillOp::create(
                     rewriter, loc, zero,
                     tensor::EmptyOp::create(rewriter, loc, type.getShape(), i64)
                         .getResult())
                     .getResult(0);
    Value window = tensor::EmptyOp::create(rewriter, loc, kernel, i64);
    SmallVector<int64_t> ones = {1, 1};
    // linalg's pooling sign-extends the i8 input to the i64 accumulator.
    Value sums = linalg::PoolingNchwSumOp::create(
                     rewriter, loc, TypeRange{init.getType()},
                     ValueRange{op.getInput(), window}, ValueRange{init},
                     i64VectorAttr(rewriter, op.getStrides()),
                     i64VectorAttr(rewriter, ones))
                     .getResult(0);
    rewriter.replaceOp(op, requantize(rewriter, loc, sums, layer));
    return success();
  }
};

/// bias + per-channel window sums of int8 x int8 in int64, requantized.
struct LowerQuantizedDepthwise : OpRewritePattern<QuantizedDepthwiseConv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizedDepthwiseConv2DOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<::sd::compression::QuantizedLayer> q = quantizeDepthwiseOf(op);
    if (failed(q))
      return rewriter.notifyMatchFailure(op, "weight is not quantizable");
    Location loc = op.getLoc();
    auto wType = cast<RankedTensorType>(op.getWeight().getType());
    // linalg's NCHW depthwise convolution takes the filter as C x R x S.
    auto wqType = RankedTensorType::get(
        {wType.getDimSize(0), wType.getDimSize(2), wType.getDimSize(3)},
        rewriter.getI8Type());
    Value wq = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(wqType, ArrayRef<int8_t>(q->basis)));
    IntegerLayer layer;
    layer.requant = q->requant;
    layer.relu = op.getRelu();
    auto biasType =
        RankedTensorType::get({wType.getDimSize(0)}, rewriter.getI64Type());
    layer.bias = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(biasType, ArrayRef<int64_t>(q->bias)));
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Value acc =
        broadcastBias(rewriter, loc, layer.bias, resultType.getShape(), 1);
    SmallVector<int64_t> ones = {1, 1};
    // The convolution sign-extends input and filter to the i64 output.
    acc = linalg::DepthwiseConv2DNchwChwOp::create(
              rewriter, loc, TypeRange{acc.getType()},
              ValueRange{op.getInput(), wq}, ValueRange{acc},
              i64VectorAttr(rewriter, op.getStrides()),
              i64VectorAttr(rewriter, ones))
              .getResult(0);
    rewriter.replaceOp(op, requantize(rewriter, loc, acc, layer));
    return success();
  }
};

/// Rewrites a weight-consuming op through a dense rebuild of its weight.
template <typename OpTy> struct LowerMatmulLike : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    FailureOr<Value> w =
        buildDenseWeight(rewriter, op.getLoc(), op.getWeight());
    if (failed(w))
      return rewriter.notifyMatchFailure(op, "weight is not a constant");
    rewriter.replaceOp(op, buildMatmul(rewriter, op.getLoc(), op.getInput(), *w,
                                       op.getBias(), op.getInit()));
    return success();
  }
};

struct LowerConv2D : OpRewritePattern<ShiftAddConv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ShiftAddConv2DOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<Value> w = buildDenseWeight(rewriter, loc, op.getWeight());
    if (failed(w))
      return rewriter.notifyMatchFailure(op, "weight is not a constant");
    Attribute strides = i64VectorAttr(rewriter, op.getStrides());
    Attribute dilations = i64VectorAttr(rewriter, op.getDilations());
    Type resultType = op.getInit().getType();
    Value out;
    unsigned channelDim;
    if (op.getLayout() == ConvLayout::nchw) {
      out = linalg::Conv2DNchwFchwOp::create(
                rewriter, loc, TypeRange{resultType},
                ValueRange{op.getInput(), *w}, ValueRange{op.getInit()},
                strides, dilations)
                .getResult(0);
      channelDim = 1;
    } else {
      // linalg's NHWC convolution wants the filter as F x R x S x C.
      auto denseType = cast<RankedTensorType>(w->getType());
      SmallVector<int64_t> perm = {0, 2, 3, 1};
      SmallVector<int64_t> shape;
      for (int64_t d : perm)
        shape.push_back(denseType.getDimSize(d));
      Value empty = tensor::EmptyOp::create(rewriter, loc, shape,
                                            denseType.getElementType());
      Value fhwc = linalg::TransposeOp::create(rewriter, loc, *w, empty, perm)
                       .getResult()[0];
      out = linalg::Conv2DNhwcFhwcOp::create(
                rewriter, loc, TypeRange{resultType},
                ValueRange{op.getInput(), fhwc}, ValueRange{op.getInit()},
                strides, dilations)
                .getResult(0);
      channelDim = 3;
    }
    if (op.getBias())
      out = addChannelBias(rewriter, loc, out, op.getBias(), channelDim);
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct LowerRebuild : OpRewritePattern<RebuildOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RebuildOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<Value> w =
        buildDenseWeight(rewriter, op.getLoc(), op.getWeight());
    if (failed(w))
      return rewriter.notifyMatchFailure(op, "weight is not a constant");
    rewriter.replaceOp(op, *w);
    return success();
  }
};

/// An elementwise linalg.generic from `input` to a tensor of `elem`.
static Value elementwise(OpBuilder &b, Location loc, Value input, Type elem,
                         function_ref<Value(OpBuilder &, Location, Value)> fn) {
  auto type = cast<RankedTensorType>(input.getType());
  unsigned rank = type.getRank();
  Value empty = tensor::EmptyOp::create(b, loc, type.getShape(), elem);
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  return linalg::GenericOp::create(
             b, loc, empty.getType(), ValueRange{input}, ValueRange{empty},
             ArrayRef<AffineMap>{id, id},
             SmallVector<IteratorType>(rank, IteratorType::parallel),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc, fn(nb, nloc, args[0]));
             })
      .getResult(0);
}

/// yq = clamp(round_half_away(x / scale), -127, 127), in f64. The rounding
/// is exact: after the clamp |y| <= 127, so y - trunc(y) is computed exactly.
struct LowerQuantize : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    double scale = op.getScale().convertToDouble();
    Value out = elementwise(
        rewriter, op.getLoc(), op.getInput(), rewriter.getI8Type(),
        [&](OpBuilder &b, Location loc, Value x) -> Value {
          Type f64 = b.getF64Type(), i64 = b.getI64Type();
          auto f = [&](double v) {
            return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
          };
          Value y = arith::ExtFOp::create(b, loc, f64, x);
          y = arith::DivFOp::create(b, loc, y, f(scale));
          y = arith::MaximumFOp::create(b, loc, y, f(-127.0));
          y = arith::MinimumFOp::create(b, loc, y, f(127.0));
          Value t = arith::FPToSIOp::create(b, loc, i64, y);
          Value r = arith::SubFOp::create(
              b, loc, y, arith::SIToFPOp::create(b, loc, f64, t));
          Value up = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE,
                                           r, f(0.5));
          Value down = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OLE, r, f(-0.5));
          Value one = splatConstant(b, loc, i64, 1);
          Value zero = splatConstant(b, loc, i64, 0);
          Value minusOne = splatConstant(b, loc, i64, -1);
          Value step = arith::SelectOp::create(
              b, loc, up, one,
              arith::SelectOp::create(b, loc, down, minusOne, zero));
          t = arith::AddIOp::create(b, loc, t, step);
          return arith::TruncIOp::create(b, loc, b.getI8Type(), t);
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// y = f32(xq) * f32(scale).
struct LowerDequantize : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    float scale = float(op.getScale().convertToDouble());
    Value out = elementwise(
        rewriter, op.getLoc(), op.getInput(), rewriter.getF32Type(),
        [&](OpBuilder &b, Location loc, Value x) -> Value {
          Value y = arith::SIToFPOp::create(b, loc, b.getF32Type(), x);
          return arith::MulFOp::create(
              b, loc, y,
              arith::ConstantOp::create(b, loc, b.getF32FloatAttr(scale)));
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct ConvertSDToLinalgPass
    : mlir::sd::impl::ConvertSDToLinalgPassBase<ConvertSDToLinalgPass> {
  void runOnOperation() override {
    Operation *root = getOperation();
    if (failed(verifyConstantData(root, "the CPU code")))
      return signalPassFailure();
    root->walk([&](Operation *op) {
      if (isa<RebuildOp, ShiftAddMatmulOp, ShiftAddConv2DOp, PermDiagMatmulOp,
              QuantizedMatmulOp, QuantizedConv2DOp>(op))
        ++numRebuilt;
    });
    RewritePatternSet patterns(&getContext());
    populateSDToLinalgPatterns(patterns);
    if (failed(applyPatternsGreedily(root, std::move(patterns))))
      return signalPassFailure();
    // Whatever is left could not be lowered: say which op and why. A
    // constant is reported only when something outside sd uses it; compute
    // ops name their weight's problem (a quantization error was reported by
    // the pattern already).
    bool failedAny = false;
    root->walk([&](Operation *op) {
      if (!isa<SDDialect>(op->getDialect()))
        return;
      if (isa<SEConstantOp, PermDiagConstantOp>(op)) {
        bool foreignUser = llvm::any_of(op->getUsers(), [](Operation *user) {
          return !isa<SDDialect>(user->getDialect());
        });
        if (foreignUser) {
          op->emitError() << "cannot lower '" << op->getName()
                          << "': its weight is used by ops outside the sd "
                             "dialect";
          failedAny = true;
        }
        return;
      }
      Value weight = op->getNumOperands() > 1 ? op->getOperand(1) : Value();
      if (weight && isa_and_nonnull<SEConstantOp, PermDiagConstantOp>(
                        weight.getDefiningOp()))
        op->emitError() << "cannot lower '" << op->getName() << "'";
      else
        op->emitError() << "cannot lower '" << op->getName()
                        << "': its weight is not defined by sd.se_constant "
                           "or sd.permdiag_constant in this function";
      failedAny = true;
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace

void mlir::sd::populateSDToLinalgPatterns(RewritePatternSet &patterns) {
  patterns
      .add<LowerMatmulLike<ShiftAddMatmulOp>, LowerMatmulLike<PermDiagMatmulOp>,
           LowerConv2D, LowerRebuild, LowerQuantizedMatmul, LowerQuantizedConv,
           LowerQuantizedAdd, LowerQuantizedMaxPool, LowerQuantizedAvgPool,
           LowerQuantizedDepthwise, LowerQuantize, LowerDequantize>(
          patterns.getContext());
}
