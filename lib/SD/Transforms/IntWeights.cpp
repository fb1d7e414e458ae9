//===- IntWeights.cpp - Keep int-k weights as packed k-bit integers -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Layers a plan quantizes to int-k arrive as f32 weight constants whose
// values are q * s[c] (one scale per output channel c, |q| < 2^(k-1)).
// Compiled as they are, the library would store 32 bits per weight. This
// pass finds such constants (convolution filters, FC weights in either
// layout) and replaces each by
//
//   W = s[c] * decode(planes)
//
// where the planes hold q as k-bit two's-complement integers, exactly k bits
// per weight, and decode is a linalg.generic the CPU pipeline tiles and
// vectorizes like any other: the library stores the packed bits and the
// scales, and every call rebuilds the f32 weight from them before the layer
// that reads it.
//
// Plane layout. The n values (row-major, padded with zeros to 8M) are
// indexed f = a*M + i with a = 4*a1 + 2*a2 + a3 in [0, 8) and i in [0, M).
// k is split into fields of 4, 2 and 1 bits (8 = one byte, 7 = 4+2+1,
// 6 = 4+2, 5 = 4+1, 4, 3 = 2+1, 2). A w-bit field plane holds 8/w values per
// byte: value a of column i sits at bits w*(a mod 8/w) of byte
// [a / (8/w)][i], so a 4-bit plane is [2][2][M] bytes indexed (a1, a2, i), a
// 2-bit plane [2][M] indexed (a1, i), a 1-bit plane [M] indexed (i). Every
// plane is read through a projected-permutation map of the decode loop
// (a1, a2, a3, i), so the vectorizer sees contiguous byte loads along i and
// shifts that are constant per tile: no gathers.
//
//===----------------------------------------------------------------------===//

#include "SD/Transforms/IntWeights.h"
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

/// An integer grid found for a constant: w[..] ~ q[..] * scales[c], with c
/// the index along `channelDim`, every |q| < 2^(bits-1).
struct IntegerGrid {
  int64_t channelDim = 0;
  int bits = 0;
  SmallVector<int8_t> q;
  SmallVector<float> scales;
};

/// The fewest bits of a two's-complement integer holding -top..top.
int bitsFor(int top) {
  int k = 2;
  while ((1 << (k - 1)) - 1 < top)
    ++k;
  return k;
}

/// Finds q and per-channel scales along `channelDim` of `shape`, or fails
/// when some channel is not on a grid of at most 255 levels through zero.
/// A channel with largest magnitude a takes the smallest top in [1, 127]
/// with s = a / top reproducing every value to 2^-18 * a, so a layer the
/// plan rounded to int-k is found at k bits or fewer. With `exact`, q * s
/// must give every value exactly in f32.
FailureOr<IntegerGrid> findIntegerGrid(ArrayRef<float> w,
                                       ArrayRef<int64_t> shape,
                                       int64_t channelDim, bool exact) {
  IntegerGrid grid;
  grid.channelDim = channelDim;
  int64_t channels = shape[channelDim];
  int64_t inner = 1;
  for (int64_t d = channelDim + 1; d < int64_t(shape.size()); ++d)
    inner *= shape[d];
  int64_t outer = int64_t(w.size()) / (channels * inner);
  auto at = [&](int64_t c, int64_t j) {
    return (j / inner) * channels * inner + c * inner + j % inner;
  };
  int64_t per = outer * inner;
  grid.q.assign(w.size(), 0);
  grid.scales.assign(channels, 1.0f);
  int top = 1;
  for (int64_t c = 0; c < channels; ++c) {
    float a = 0;
    for (int64_t j = 0; j < per; ++j)
      a = std::max(a, std::fabs(w[at(c, j)]));
    if (!std::isfinite(a))
      return failure();
    if (a == 0)
      continue;
    double tol = exact ? 0.0 : std::ldexp(double(a), -18);
    bool found = false;
    for (int t = 1; t <= 127 && !found; ++t) {
      float s = a / float(t);
      bool ok = true;
      for (int64_t j = 0; j < per && ok; ++j) {
        float v = w[at(c, j)];
        double r = std::nearbyint(double(v) / s);
        ok = std::fabs(r) <= t &&
             (exact ? float(r) * s == v : std::fabs(r * s - v) <= tol);
        if (ok)
          grid.q[at(c, j)] = int8_t(r);
      }
      if (ok) {
        grid.scales[c] = s;
        top = std::max(top, t);
        found = true;
      }
    }
    if (!found)
      return failure();
  }
  grid.bits = bitsFor(top);
  return grid;
}

/// The field widths k is stored in, lowest bits first.
SmallVector<int> fieldWidths(int bits) {
  if (bits == 8)
    return {8};
  SmallVector<int> widths;
  for (int w : {4, 2, 1})
    if (bits >= w) {
      widths.push_back(w);
      bits -= w;
    }
  return widths;
}

/// Shape of a w-bit plane for M columns (see the file comment).
SmallVector<int64_t> planeShape(int w, int64_t m) {
  switch (w) {
  case 8:
    return {2, 2, 2, m};
  case 4:
    return {2, 2, m};
  case 2:
    return {2, m};
  default:
    return {m};
  }
}

/// The w-bit plane's bytes of the k-bit integers q (field at bit `offset`).
SmallVector<int8_t> packPlane(ArrayRef<int8_t> q, int bits, int w, int offset,
                              int64_t m) {
  int64_t perByte = 8 / w;
  SmallVector<uint8_t> plane(size_t(m * w), 0);
  unsigned mask = (1u << w) - 1;
  for (int64_t f = 0; f < int64_t(q.size()); ++f) {
    unsigned u = unsigned(uint8_t(q[f])) & ((1u << bits) - 1);
    int64_t a = f / m, i = f % m;
    unsigned field = (u >> offset) & mask;
    plane[(a / perByte) * m + i] |= uint8_t(field << (w * (a % perByte)));
  }
  return SmallVector<int8_t>(plane.begin(), plane.end());
}

/// The f32 tensor of `type` that the packed planes and scales decode to.
Value buildDecode(OpBuilder &b, Location loc, const IntegerGrid &grid,
                  RankedTensorType type, StringRef name) {
  MLIRContext *ctx = b.getContext();
  int64_t n = type.getNumElements();
  int64_t m = (n + 7) / 8;
  SmallVector<int> widths = fieldWidths(grid.bits);

  SmallVector<Value> planes;
  SmallVector<AffineMap> maps;
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  int offset = 0;
  for (int w : widths) {
    auto planeType = RankedTensorType::get(planeShape(w, m), b.getI8Type());
    std::string planeName =
        (name + "_int" + Twine(grid.bits) + "_p" + Twine(offset)).str();
    planes.push_back(arith::ConstantOp::create(
        b, loc,
        makeIntegerConstant(planeType,
                            packPlane(grid.q, grid.bits, w, offset, m),
                            planeName)));
    SmallVector<AffineExpr> exprs;
    if (w == 8)
      exprs = {d(0), d(1), d(2), d(3)};
    else if (w == 4)
      exprs = {d(0), d(1), d(3)};
    else if (w == 2)
      exprs = {d(0), d(3)};
    else
      exprs = {d(3)};
    maps.push_back(AffineMap::get(4, 0, exprs, ctx));
    offset += w;
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(4, ctx));

  Type f32 = b.getF32Type();
  auto wideType = RankedTensorType::get({2, 2, 2, m}, f32);
  Value empty = tensor::EmptyOp::create(b, loc, wideType.getShape(), f32);
  int bits = grid.bits;
  Value ints =
      linalg::GenericOp::create(
          b, loc, wideType, planes, ValueRange{empty}, maps,
          SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Type i32 = nb.getI32Type();
            auto c32 = [&](int64_t v) {
              return arith::ConstantIntOp::create(nb, l, i32, v).getResult();
            };
            auto idx = [&](int64_t dim) {
              Value i = linalg::IndexOp::create(nb, l, dim);
              return arith::IndexCastOp::create(nb, l, i32, i).getResult();
            };
            // a = 4*a1 + 2*a2 + a3: which of the 8 values of column i.
            Value a = arith::AddIOp::create(
                nb, l,
                arith::AddIOp::create(
                    nb, l, arith::MulIOp::create(nb, l, idx(0), c32(4)),
                    arith::MulIOp::create(nb, l, idx(1), c32(2))),
                idx(2));
            Value u = c32(0);
            int off = 0;
            for (auto [p, w] : llvm::enumerate(widths)) {
              Value byte = arith::ExtUIOp::create(nb, l, i32, args[p]);
              if (w != 8) {
                int64_t perByte = 8 / w;
                Value shift = arith::MulIOp::create(
                    nb, l, arith::AndIOp::create(nb, l, a, c32(perByte - 1)),
                    c32(w));
                byte = arith::AndIOp::create(
                    nb, l, arith::ShRUIOp::create(nb, l, byte, shift),
                    c32((1 << w) - 1));
              }
              if (off)
                byte = arith::ShLIOp::create(nb, l, byte, c32(off));
              u = arith::OrIOp::create(nb, l, u, byte);
              off += w;
            }
            // Sign-extend the k-bit field.
            Value q = arith::ShRSIOp::create(
                nb, l, arith::ShLIOp::create(nb, l, u, c32(32 - bits)),
                c32(32 - bits));
            linalg::YieldOp::create(
                nb, l, arith::SIToFPOp::create(nb, l, f32, q).getResult());
          })
          .getResult(0);

  // [2, 2, 2, M] -> [8M] -> [n] -> the constant's shape.
  Value flat = tensor::CollapseShapeOp::create(
      b, loc, ints, SmallVector<ReassociationIndices>{{0, 1, 2, 3}});
  if (8 * m != n)
    flat = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({n}, f32), flat,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(n)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  Value shaped = flat;
  if (type.getRank() != 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < type.getRank(); ++i)
      all.push_back(i);
    shaped = tensor::ExpandShapeOp::create(b, loc, type, flat,
                                           SmallVector<ReassociationIndices>{
                                               all});
  }

  // W = q * s[c].
  int64_t rank = type.getRank();
  auto scaleType = RankedTensorType::get(
      {type.getDimSize(grid.channelDim)}, f32);
  Value scales = arith::ConstantOp::create(
      b, loc,
      makeFloatConstant(scaleType, grid.scales,
                        (name + "_int" + Twine(bits) + "_scale").str()));
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap ch = AffineMap::get(rank, 0, d(grid.channelDim));
  Value out = tensor::EmptyOp::create(b, loc, type.getShape(), f32);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{shaped, scales}, ValueRange{out},
             ArrayRef<AffineMap>{id, ch, id},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   nb, l,
                   arith::MulFOp::create(nb, l, args[0], args[1]).getResult());
             })
      .getResult(0);
}

/// Packed bytes plus scales of a grid over `type`.
int64_t packedBytes(const IntegerGrid &grid, RankedTensorType type) {
  int64_t m = (type.getNumElements() + 7) / 8;
  return m * grid.bits + 4 * type.getDimSize(grid.channelDim);
}

} // namespace

Value mlir::sd::materializeOnIntegerGrid(OpBuilder &b, Location loc,
                                         RankedTensorType type,
                                         ArrayRef<float> values,
                                         ArrayRef<int64_t> channelDims,
                                         bool exact, StringRef name) {
  FailureOr<IntegerGrid> grid = failure();
  for (int64_t dim : channelDims)
    if (failed(grid))
      grid = findIntegerGrid(values, type.getShape(), dim, exact);
  // Per-channel scales only pay off when a channel holds many weights.
  if (failed(grid) ||
      2 * packedBytes(*grid, type) > 4 * type.getNumElements())
    return Value();
  return buildDecode(b, loc, *grid, type, name);
}

namespace {

struct SDIntWeightsPass
    : mlir::sd::impl::SDIntWeightsPassBase<SDIntWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<arith::ConstantOp> constants;
    getOperation()->walk([&](arith::ConstantOp op) {
      auto type = dyn_cast<RankedTensorType>(op.getType());
      // Weights feed linalg ops (directly or through a transpose or a
      // broadcast, which are linalg ops too).
      bool feedsLinalg = llvm::any_of(op->getUsers(), [](Operation *user) {
        return isa<linalg::LinalgOp>(user);
      });
      if (type && type.getElementType().isF32() && type.hasStaticShape() &&
          type.getRank() >= 2 && type.getNumElements() >= minWeights &&
          feedsLinalg)
        constants.push_back(op);
    });
    OpBuilder b(&getContext());
    for (arith::ConstantOp op : constants) {
      auto type = cast<RankedTensorType>(op.getType());
      auto attr = dyn_cast<ElementsAttr>(op.getValue());
      FailureOr<SmallVector<float>> values =
          attr ? readFloats(attr) : FailureOr<SmallVector<float>>(failure());
      if (failed(values))
        continue;
      std::string name = "sd_weight";
      if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
        name = resource.getRawHandle().getKey().str();
      b.setInsertionPoint(op);
      // Output channels lead in convolution filters and N x K FC weights,
      // and trail in K x N ones.
      Value decoded = materializeOnIntegerGrid(
          b, op.getLoc(), type, *values, {0, type.getRank() - 1},
          /*exact=*/false, name);
      if (!decoded)
        continue;
      op.getResult().replaceAllUsesWith(decoded);
      op.erase();
    }
  }
};

} // namespace
