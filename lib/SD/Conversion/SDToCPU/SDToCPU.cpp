//===- SDToCPU.cpp - Lower sd ops to vectorized CPU kernels ---------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Kernels that compute with SmartExchange and PermDNN weights while they stay
// compressed. The SmartExchange loop structure for
// y[m, o] = init[m, o] + sum_l x[m, l] * W[o, l]:
//
//   xp = planes(x)                            (once per call, M x nb*3*Rp)
//   for o0 in 0..N step T                     (one tile of T weight rows)
//     Wt = rebuild(codes[o0:o0+T], basis[o0:o0+T])   : T x nb*3*Rp floats
//     for m in 0..M
//       acc[t] = 0 (vector<8xf32>) for t < T
//       for l in 0..nb*3*Rp step 8: acc[t] += xp[m, l:l+8] * Wt[t, l:l+8]
//       y[m, o0 + t] += reduce(acc[t])
//
// Layout. The lowering stores each block's codes as three planes (column k of
// Ce for rows 0..Rp, with Rp = blockRows rounded up to 8 and zero codes in
// the padding): [O, nb, 3, Rp] bytes. x is rearranged the same way (planes of
// column j), so every vector access is a contiguous, in-bounds 8-lane load
// and a tile's weights come out as w_j = sum_k c_k * B[k, j]: nine fused
// multiply-adds against broadcast basis entries per 8 rows, no shuffles.
//
// Decode. When the exponents a weight uses span at most 7 levels (the
// paper's 4-bit code: sign + 3-bit exponent), each code is a nibble s<<3 | m
// (m = 0 for zero, else p - p0 + 1 with p0 the smallest exponent present),
// two per byte: byte j of each 16-row group holds row j in its low and row
// j + 8 in its high nibble, so one 8-byte load gives 16 rows without a
// shuffle. Placing s and m in the sign and exponent fields of a
// half-precision number (two shifts and masks per half) gives 2^(m - 15), or
// 0 for m = 0; the missing factor 2^(p0 + 14) is folded into the bases at
// compile time (exact: a power of two), so c * B is unchanged bit for bit.
// Wider spans keep one byte per code: the top byte of the IEEE
// half-precision value sign * 2^p (sign << 7 | (p + 15) << 2, exact since a
// power of two has a zero mantissa), decoded by a widen, a shift and a
// half-to-float conversion; exponent ranges outside half precision keep the
// dialect's signed codes and assemble f32 exponent bits instead.
//
// Rebuilding a tile once and using it for every input row amortizes the
// decode across the batch; at batch 1 the tile stays in L2. The layer's
// dense weight never exists in memory: only T rows at a time.
//
// Permuted-diagonal weights (PermDNN) need no rebuild: a block's p outputs
// are its p values times the block's input slice rotated by its offset, and
// a rotation by k is the contiguous load [k, k + p) of the slice written
// twice, so the input is doubled once per call and every block costs two
// p-lane loads (values, x), a multiply and an add per input row.
//
//===----------------------------------------------------------------------===//

#include "SD/Conversion/SDToCPU/SDToCPU.h"
#include "CodeStream.h"
#include "SD/Transforms/IntWeights.h"
#include "SD/Conversion/SDToLinalg/SDToLinalg.h"
#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <array>
#include <cmath>

namespace mlir::sd {
#define GEN_PASS_DEF_CONVERTSDTOCPUPASS
#include "SD/Conversion/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;
using utils::IteratorType;

/// Lanes of the vector kernels: 8 floats, one AVX2 register.
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
    return vector::TransferWriteOp::create(b, vec, dest, indices,
                                           AffineMapAttr::get(map),
                                           b.getBoolArrayAttr(bounds))
        .getResult();
  }

  /// vector<Nxi8> half-precision top bytes -> vector<Nxf32>.
  Value decodeHalfBytes(Value bytes) {
    auto type = cast<VectorType>(bytes.getType());
    int64_t lanes = type.getNumElements();
    auto i16Type = VectorType::get({lanes}, b.getI16Type());
    Value wide = arith::ExtUIOp::create(b, i16Type, bytes);
    Value eight = arith::ConstantOp::create(
        b, DenseElementsAttr::get(i16Type, b.getI16IntegerAttr(8).getValue()));
    Value bits = arith::ShLIOp::create(b, wide, eight);
    Value half = arith::BitcastOp::create(
        b, VectorType::get({lanes}, b.getF16Type()), bits);
    return arith::ExtFOp::create(b, VectorType::get({lanes}, b.getF32Type()),
                                 half);
  }

  /// vector<Nxi8> bytes of two nibbles s<<3 | m -> the low (high = false) or
  /// high nibbles as vector<Nxf32> values (-1)^s * 2^(m - 15), 0 for m = 0:
  /// s and m moved into the sign and exponent fields of a half.
  Value decodeNibbles(Value bytes, bool high) {
    auto type = cast<VectorType>(bytes.getType());
    int64_t lanes = type.getNumElements();
    auto i16Type = VectorType::get({lanes}, b.getI16Type());
    auto splat = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(
          b, DenseElementsAttr::get(i16Type,
                                    b.getI16IntegerAttr(int16_t(v)).getValue()));
    };
    Value wide = arith::ExtUIOp::create(b, i16Type, bytes);
    // Sign bit 3 (low) or 7 (high) to bit 15; magnitude bits 0-2 or 4-6 to
    // the exponent's low bits 10-12.
    Value sign = arith::AndIOp::create(
        b, arith::ShLIOp::create(b, wide, splat(high ? 8 : 12)),
        splat(0x8000));
    Value mag = arith::AndIOp::create(
        b, arith::ShLIOp::create(b, wide, splat(high ? 6 : 10)),
        splat(0x1C00));
    Value bits = arith::OrIOp::create(b, sign, mag);
    Value half = arith::BitcastOp::create(
        b, VectorType::get({lanes}, b.getF16Type()), bits);
    return arith::ExtFOp::create(b, VectorType::get({lanes}, b.getF32Type()),
                                 half);
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
    Value sign =
        arith::SelectOp::create(b, neg, splatI32(lanes, INT32_MIN), zero);
    bits = arith::OrIOp::create(b, bits, sign);
    Value isZero = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, c, zero);
    bits = arith::SelectOp::create(b, isZero, zero, bits);
    return arith::BitcastOp::create(b, f32Type, bits);
  }
};

/// The compressed weight behind a compute op, in the kernels' layout.
struct SEWeight {
  SEWeightType type;
  Value codes;        ///< [O, nb, 3, Rp] i8 code planes ([.., Rp / 2] nibbles).
  Value basis;        ///< [O, nb, 3, 3] f32 (times 2^(p0 + 14) for nibbles).
  int64_t paddedRows; ///< Rp: block rows rounded up to 8 (16 for nibbles).
  bool halfBytes = false; ///< Codes hold half-precision top bytes.
  bool nibbles = false;   ///< Codes are 4-bit, two per byte.
};

} // namespace

/// The byte that makes the half-precision value of `code`: sign << 7 |
/// (p + 15) << 2, or 0 for zero.
static int8_t halfTopByte(int64_t code, ::sd::compression::ExponentRange r) {
  if (code == 0)
    return 0;
  int64_t p = ::sd::compression::codeExponent(code, r);
  return int8_t((code < 0 ? 0x80 : 0) | ((p + 15) << 2));
}

/// The bases times 2^shift, or failure when that is not exact in f32 (a
/// value would overflow or lose bits as a denormal).
static FailureOr<SmallVector<float>> scaleBasis(ArrayRef<float> basis,
                                                int shift) {
  SmallVector<float> out;
  for (float v : basis) {
    float s = std::ldexp(v, shift);
    if (!std::isfinite(s) || std::ldexp(s, -shift) != v ||
        (s != 0 && !std::isnormal(s)))
      return failure();
    out.push_back(s);
  }
  return out;
}

/// Packs [O*nb, rows, 3] codes into nibble planes [O*nb, 3, Rp/2] (Rp a
/// multiple of 16): byte g*8 + j of a plane holds row 16g + j (low nibble)
/// and row 16g + 8 + j (high nibble), each s << 3 | (|c| - minMag + 1).
static SmallVector<int8_t> packNibbles(ArrayRef<int64_t> codes, int64_t groups,
                                       int64_t rows, int64_t paddedRows,
                                       int64_t minMag) {
  SmallVector<int8_t> planes(groups * 3 * paddedRows / 2, 0);
  for (int64_t i = 0; i < groups; ++i)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < 3; ++k) {
        int64_t code = codes[(i * rows + r) * 3 + k];
        if (code == 0)
          continue;
        int64_t mag = code < 0 ? -code : code;
        uint8_t nibble = (code < 0 ? 8 : 0) | uint8_t(mag - minMag + 1);
        int64_t byte = (i * 3 + k) * paddedRows / 2 + (r / 16) * 8 + r % 8;
        planes[byte] = int8_t(uint8_t(planes[byte]) |
                              ((r % 16) < 8 ? nibble : uint8_t(nibble << 4)));
      }
  return planes;
}

/// The bases as a value: 8-bit integers times one scale per output row when
/// they lie exactly on such a grid (sd-round-basis leaves them so), f32
/// otherwise.
static Value materializeBasis(ImplicitLocOpBuilder &b, RankedTensorType type,
                              ArrayRef<float> values, StringRef name) {
  if (Value v = materializeOnIntegerGrid(b, b.getLoc(), type, values, {0},
                                         /*exact=*/true, name))
    return v;
  return arith::ConstantOp::create(b, makeFloatConstant(type, values, name));
}

static FailureOr<SEWeight> materializeWeight(ImplicitLocOpBuilder &b,
                                             Value weight, bool codeStream) {
  // The code stream's buffers are globals of the module.
  ModuleOp module = codeStream
                        ? weight.getParentRegion()->getParentOfType<ModuleOp>()
                        : ModuleOp();
  auto constant = weight.getDefiningOp<SEConstantOp>();
  if (!constant)
    return failure();
  FailureOr<SmallVector<int64_t>> codes = readIntegers(constant.getCodes());
  if (failed(codes))
    return failure();
  SEWeight w;
  w.type = constant.getResult().getType();
  ::sd::compression::BlockLayout layout = w.type.getLayout();
  ::sd::compression::ExponentRange range = w.type.getExponentRange();
  w.halfBytes = range.minExp >= -14 && range.maxExp <= 15;
  int64_t o = layout.numOutputs(), nb = layout.numBlocks;
  int64_t rows = layout.blockRows;
  std::string name = "sd_cpu_codes";
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getCodes()))
    name = resource.getRawHandle().getKey().str() + "_planes";

  // 4-bit codes when the magnitudes present span at most 7 levels and the
  // bases scaled by 2^(p0 + 14) stay exact.
  int64_t minMag = INT64_MAX, maxMag = 0;
  for (int64_t c : *codes)
    if (c != 0) {
      minMag = std::min(minMag, c < 0 ? -c : c);
      maxMag = std::max(maxMag, c < 0 ? -c : c);
    }
  if (maxMag == 0)
    minMag = maxMag = 1;
  if (maxMag - minMag + 1 <= 7) {
    FailureOr<SmallVector<float>> basis = readFloats(constant.getBasis());
    int p0 = ::sd::compression::codeExponent(int(minMag), range);
    FailureOr<SmallVector<float>> scaled =
        succeeded(basis) ? scaleBasis(*basis, p0 + 14)
                         : FailureOr<SmallVector<float>>(failure());
    if (succeeded(scaled)) {
      w.nibbles = true;
      w.halfBytes = false;
      w.paddedRows = llvm::alignTo(rows, 2 * kLanes);
      auto planesType =
          RankedTensorType::get({o, nb, 3, w.paddedRows / 2}, b.getI8Type());
      w.codes = materializeCodePlanes(
          b, planesType,
          packNibbles(*codes, o * nb, rows, w.paddedRows, minMag),
          {o * nb * 3, rows, w.paddedRows, /*nibbles=*/true}, name + "4",
          module);
      auto basisType = cast<RankedTensorType>(constant.getBasis().getType());
      w.basis = materializeBasis(b, basisType, *scaled, name + "_basis");
      return w;
    }
  }

  w.nibbles = false;
  w.paddedRows = llvm::alignTo(rows, kLanes);
  // [O, nb, rows, 3] -> planes [O, nb, 3, Rp], zero-padded.
  SmallVector<int8_t> planes(o * nb * 3 * w.paddedRows, 0);
  for (int64_t i = 0; i < o * nb; ++i)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < 3; ++k) {
        int64_t code = (*codes)[(i * rows + r) * 3 + k];
        planes[(i * 3 + k) * w.paddedRows + r] =
            w.halfBytes ? halfTopByte(code, range) : int8_t(code);
      }
  auto planesType =
      RankedTensorType::get({o, nb, 3, w.paddedRows}, b.getI8Type());
  w.codes = materializeCodePlanes(b, planesType, planes,
                                  {o * nb * 3, rows, w.paddedRows,
                                   /*nibbles=*/false},
                                  name, module);
  FailureOr<SmallVector<float>> basis = readFloats(constant.getBasis());
  if (failed(basis))
    return failure();
  w.basis = materializeBasis(
      b, cast<RankedTensorType>(constant.getBasis().getType()), *basis,
      name + "_basis");
  return w;
}

/// Rearranges x [M, K] into planes [M, nb*3*Rp]: for each block, column j of
/// its rows of 3, zero-padded, matching the code planes.
static Value toPlanes(ImplicitLocOpBuilder &b, Value x, const SEWeight &w) {
  ::sd::compression::BlockLayout layout = w.type.getLayout();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t m = type.getDimSize(0), k = layout.rowLength();
  int64_t nb = layout.numBlocks, rows = layout.blockRows, rp = w.paddedRows;
  Type f32 = b.getF32Type();
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  auto idx = [&](int64_t v) -> OpFoldResult { return b.getIndexAttr(v); };
  int64_t padded = nb * rows * 3;
  if (padded != k)
    x = tensor::PadOp::create(b, RankedTensorType::get({m, padded}, f32), x,
                              ArrayRef<OpFoldResult>{idx(0), idx(0)},
                              ArrayRef<OpFoldResult>{idx(0), idx(padded - k)},
                              zero);
  Value x4 = tensor::ExpandShapeOp::create(
      b, RankedTensorType::get({m, nb, rows, 3}, f32), x,
      SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  if (rp != rows)
    x4 = tensor::PadOp::create(
        b, RankedTensorType::get({m, nb, rp, 3}, f32), x4,
        ArrayRef<OpFoldResult>{idx(0), idx(0), idx(0), idx(0)},
        ArrayRef<OpFoldResult>{idx(0), idx(0), idx(rp - rows), idx(0)}, zero);
  Value empty =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{m, nb, 3, rp}, f32);
  Value planes =
      linalg::TransposeOp::create(b, x4, empty, ArrayRef<int64_t>{0, 1, 3, 2})
          .getResult()[0];
  return tensor::CollapseShapeOp::create(
      b, planes, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
}

/// Rebuilds weight rows [o0, o0 + T) as planes: a T x nb x 3 x Rp tensor
/// with w[t, blk, j, r] = sum_k c[o0 + t, blk, k, r] * B[o0 + t, blk, k, j].
static Value emitRebuildTile(ImplicitLocOpBuilder &b, const SEWeight &w,
                             Value o0, int64_t tileRows) {
  Emitter e{b};
  ::sd::compression::BlockLayout layout = w.type.getLayout();
  int64_t nb = layout.numBlocks, rp = w.paddedRows;
  Type f32 = b.getF32Type();
  Value tile =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{tileRows, nb, 3, rp}, f32);
  Value zeroI8 = arith::ConstantOp::create(b, b.getI8IntegerAttr(0));
  auto codeVec = VectorType::get({kLanes}, b.getI8Type());
  auto floatVec = VectorType::get({kLanes}, f32);

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
              // The block's 3x3 basis, each entry broadcast to all lanes.
              Value basis[3][3];
              for (int64_t k = 0; k < 3; ++k)
                for (int64_t j = 0; j < 3; ++j) {
                  Value v = tensor::ExtractOp::create(
                      b2, w.basis,
                      ValueRange{o, blk, e2.index(k), e2.index(j)});
                  basis[k][j] = vector::BroadcastOp::create(b2, floatVec, v);
                }
              // Nibble planes give 16 rows per 8-byte load.
              int64_t step = w.nibbles ? 2 * kLanes : kLanes;
              auto rLoop = scf::ForOp::create(
                  b2, e2.index(0), e2.index(rp), e2.index(step), bArgs,
                  [&](OpBuilder &nb2, Location loc2, Value r0,
                      ValueRange rArgs) {
                    ImplicitLocOpBuilder b3(loc2, nb2);
                    Emitter e3{b3};
                    // Rows [r0, r0 + 8) and, for nibbles, [r0 + 8, r0 + 16).
                    SmallVector<std::array<Value, 3>> c(w.nibbles ? 2 : 1);
                    Value byteRow =
                        w.nibbles
                            ? arith::DivUIOp::create(b3, r0, e3.index(2))
                                  .getResult()
                            : r0;
                    for (int64_t k = 0; k < 3; ++k) {
                      Value bytes =
                          e3.read(codeVec, w.codes,
                                  {o, blk, e3.index(k), byteRow}, zeroI8,
                                  /*inBounds=*/true);
                      if (w.nibbles) {
                        c[0][k] = e3.decodeNibbles(bytes, /*high=*/false);
                        c[1][k] = e3.decodeNibbles(bytes, /*high=*/true);
                      } else {
                        c[0][k] = w.halfBytes
                                      ? e3.decodeHalfBytes(bytes)
                                      : e3.decode(bytes, w.type.getMinExp());
                      }
                    }
                    Value out = rArgs[0];
                    for (auto [half, ck] : llvm::enumerate(c)) {
                      Value row = e3.add(r0, e3.index(int64_t(half) * kLanes));
                      for (int64_t j = 0; j < 3; ++j) {
                        Value acc =
                            arith::MulFOp::create(b3, ck[0], basis[0][j]);
                        acc =
                            vector::FMAOp::create(b3, ck[1], basis[1][j], acc);
                        acc =
                            vector::FMAOp::create(b3, ck[2], basis[2][j], acc);
                        out = e3.write(acc, out, {t, blk, e3.index(j), row},
                                       /*inBounds=*/true);
                      }
                    }
                    scf::YieldOp::create(b3, out);
                  });
              scf::YieldOp::create(b2, rLoop.getResults());
            });
        scf::YieldOp::create(b1, blkLoop.getResults());
      });
  return tLoop.getResult(0);
}

/// The dot products of input rows `rows` with the T tile rows, added into
/// acc[row, o0 + t]. Two input rows share every weight load.
static Value emitDotRows(ImplicitLocOpBuilder &b, Value x, Value wt, Value acc,
                         Value o0, int64_t tileRows, int64_t k,
                         ArrayRef<Value> rows) {
  Emitter e{b};
  auto vecType = VectorType::get({kLanes}, b.getF32Type());
  Value zeroF32 = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  size_t n = rows.size();
  SmallVector<Value> zeros(n * tileRows, e.zeroF32Vector(kLanes));
  auto lLoop = scf::ForOp::create(
      b, e.index(0), e.index(k), e.index(kLanes), zeros,
      [&](OpBuilder &nb1, Location loc1, Value l, ValueRange accs) {
        ImplicitLocOpBuilder b2(loc1, nb1);
        Emitter e2{b2};
        // Planes are padded to whole vectors, with zeros in x where the
        // weight rows are padding.
        SmallVector<Value> xv;
        for (Value row : rows)
          xv.push_back(e2.read(vecType, x, {row, l}, zeroF32, true));
        SmallVector<Value> next(n * tileRows);
        for (int64_t t = 0; t < tileRows; ++t) {
          Value wv = e2.read(vecType, wt, {e2.index(t), l}, zeroF32, true);
          for (size_t r = 0; r < n; ++r)
            next[r * tileRows + t] =
                vector::FMAOp::create(b2, xv[r], wv, accs[r * tileRows + t]);
        }
        scf::YieldOp::create(b2, next);
      });
  Value out = acc;
  for (size_t r = 0; r < n; ++r)
    for (int64_t t = 0; t < tileRows; ++t) {
      Value sum = vector::ReductionOp::create(
          b, vector::CombiningKind::ADD, lLoop.getResult(r * tileRows + t));
      Value col = e.add(o0, e.index(t));
      Value old = tensor::ExtractOp::create(b, out, ValueRange{rows[r], col});
      Value updated = arith::AddFOp::create(b, old, sum);
      out = tensor::InsertOp::create(b, updated, out, ValueRange{rows[r], col});
    }
  return out;
}

/// acc[m, o0 + t] += sum_{l < k} x[m, l] * wt[t, l] for every m and t < T,
/// with k a multiple of the vector width: input rows in pairs, then the odd
/// one out.
static Value emitDotTile(ImplicitLocOpBuilder &b, Value x, Value wt, Value acc,
                         Value o0, int64_t tileRows, int64_t k) {
  Emitter e{b};
  int64_t m = cast<RankedTensorType>(x.getType()).getDimSize(0);
  int64_t paired = m - m % 2;
  Value out = acc;
  if (paired > 0) {
    auto mLoop = scf::ForOp::create(
        b, e.index(0), e.index(paired), e.index(2), ValueRange{acc},
        [&](OpBuilder &nb0, Location loc, Value row, ValueRange mArgs) {
          ImplicitLocOpBuilder b1(loc, nb0);
          Emitter e1{b1};
          Value next = e1.add(row, e1.index(1));
          scf::YieldOp::create(b1, emitDotRows(b1, x, wt, mArgs[0], o0,
                                               tileRows, k, {row, next}));
        });
    out = mLoop.getResult(0);
  }
  if (m % 2)
    out = emitDotRows(b, x, wt, out, o0, tileRows, k, {e.index(m - 1)});
  return out;
}

/// y = init + x * W^T for x [M, K], init [M, N], with W compressed.
static Value emitCompressedMatmul(ImplicitLocOpBuilder &b, const SEWeight &w,
                                  Value x, Value init, int64_t maxTileRows) {
  Emitter e{b};
  ::sd::compression::BlockLayout layout = w.type.getLayout();
  int64_t n = layout.numOutputs();
  int64_t k = layout.numBlocks * 3 * w.paddedRows;
  Value xp = toPlanes(b, x, w);
  // The largest tile not above maxTileRows that divides N keeps every tile
  // full, so the kernels need no remainder loop over rows.
  int64_t tileRows = 1;
  for (int64_t t = std::min<int64_t>(maxTileRows, n); t >= 1; --t)
    if (n % t == 0) {
      tileRows = t;
      break;
    }
  // Tiles of output columns are independent: one scf.forall (OpenMP
  // threads in the CPU pipeline), each iteration rebuilding its own tile and
  // writing its columns of y.
  int64_t m = cast<RankedTensorType>(init.getType()).getDimSize(0);
  auto forall = scf::ForallOp::create(
      b, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(n)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(tileRows)}, ValueRange{init},
      std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forall.getTerminator());
    Value o0 = forall.getInductionVar(0);
    Value shared = forall.getRegionIterArgs()[0];
    SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), o0};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(m),
                                    b.getIndexAttr(tileRows)};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    Value cols =
        tensor::ExtractSliceOp::create(b, shared, offsets, sizes, strides);
    Value tile = emitRebuildTile(b, w, o0, tileRows);
    Value flat = tensor::CollapseShapeOp::create(
        b, tile, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
    Value out = emitDotTile(b, xp, flat, cols, e.index(0), tileRows, k);
    b.setInsertionPointToEnd(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, out, shared, offsets, sizes,
                                          strides);
  }
  return forall.getResult(0);
}

/// Reshapes a [d0, ..., dr-1] tensor to 2-D [prod(d0..dr-2), dr-1].
static Value to2D(ImplicitLocOpBuilder &b, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getRank() == 2)
    return v;
  if (type.getRank() == 1)
    return tensor::ExpandShapeOp::create(
        b,
        RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType()),
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
  LowerMatmulToCPU(MLIRContext *ctx, int64_t tileRows, bool codeStream)
      : OpRewritePattern(ctx, /*benefit=*/2), tileRows(tileRows),
        codeStream(codeStream) {}

  LogicalResult matchAndRewrite(ShiftAddMatmulOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    SEWeightType type = op.getWeight().getType();
    if (type.getMinExp() < -126 || type.getMaxExp() > 127)
      return rewriter.notifyMatchFailure(op, "exponents outside f32 range");
    FailureOr<SEWeight> w = materializeWeight(b, op.getWeight(), codeStream);
    if (failed(w))
      return rewriter.notifyMatchFailure(op,
                                         "weight is not a readable constant");
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
  bool codeStream;
};

struct LowerConvToCPU : OpRewritePattern<ShiftAddConv2DOp> {
  LowerConvToCPU(MLIRContext *ctx, int64_t tileRows, bool codeStream)
      : OpRewritePattern(ctx, /*benefit=*/2), tileRows(tileRows),
        codeStream(codeStream) {}

  LogicalResult matchAndRewrite(ShiftAddConv2DOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    MLIRContext *ctx = op.getContext();
    SEWeightType type = op.getWeight().getType();
    if (type.getMinExp() < -126 || type.getMaxExp() > 127)
      return rewriter.notifyMatchFailure(op, "exponents outside f32 range");
    FailureOr<SEWeight> w = materializeWeight(b, op.getWeight(), codeStream);
    if (failed(w))
      return rewriter.notifyMatchFailure(op,
                                         "weight is not a readable constant");
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
    Value cols = linalg::GenericOp::create(
                     b, colsInit.getType(), ValueRange{op.getInput()},
                     ValueRange{colsInit},
                     ArrayRef<AffineMap>{
                         xMap, AffineMap::getMultiDimIdentityMap(6, ctx)},
                     SmallVector<IteratorType>(6, IteratorType::parallel),
                     [](OpBuilder &nb, Location loc, ValueRange args) {
                       linalg::YieldOp::create(nb, loc, args[0]);
                     })
                     .getResult(0);
    Value cols2 = tensor::CollapseShapeOp::create(
        b, cols, SmallVector<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});

    auto zType = RankedTensorType::get({n * ho * wo, f}, f32);
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
    Value zInit =
        linalg::FillOp::create(
            b, zero,
            tensor::EmptyOp::create(b, zType.getShape(), f32).getResult())
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
                  arith::AddFOp::create(nb, loc, args[1], args[0]).getResult());
            })
            .getResult(0);
    if (op.getBias())
      out = addChannelBias(b, op.getLoc(), out, op.getBias(), nchw ? 1 : 3);
    rewriter.replaceOp(op, out);
    return success();
  }

  int64_t tileRows;
  bool codeStream;
};

} // namespace

//===----------------------------------------------------------------------===//
// Permuted-diagonal kernel
//===----------------------------------------------------------------------===//

/// y[rows[r], i*p : i*p + p] += sum_j q_ij * rot_{k_ij}(x_j) for every row
/// block i, where rot_k(x_j)[c] = x[j*p + (c + k) mod p] is the contiguous
/// p-lane load xx[row, j, k : k + p] of the doubled input. Each block's
/// values and offset are loaded once for all the given input rows.
static Value emitPermDiagRows(ImplicitLocOpBuilder &b, Value xx, Value offsets,
                              Value values, Value y, int64_t p,
                              int64_t rowBlocks, int64_t colBlocks,
                              ArrayRef<Value> rows) {
  Emitter e{b};
  auto vecType = VectorType::get({p}, b.getF32Type());
  Value zeroF32 = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  auto iLoop = scf::ForOp::create(
      b, e.index(0), e.index(rowBlocks), e.index(1), ValueRange{y},
      [&](OpBuilder &nb0, Location loc0, Value i, ValueRange iArgs) {
        ImplicitLocOpBuilder b1(loc0, nb0);
        Emitter e1{b1};
        Value col0 = e1.mul(i, e1.index(p));
        // Accumulating from init, block column by block column, adds the
        // products in the oracle's order (a dense row's non-zeros, left to
        // right, after init), so the results are bit-identical to it.
        SmallVector<Value> accs;
        for (Value row : rows)
          accs.push_back(
              e1.read(vecType, iArgs[0], {row, col0}, zeroF32, true));
        auto jLoop = scf::ForOp::create(
            b1, e1.index(0), e1.index(colBlocks), e1.index(1), accs,
            [&](OpBuilder &nb1, Location loc1, Value j, ValueRange jArgs) {
              ImplicitLocOpBuilder b2(loc1, nb1);
              Emitter e2{b2};
              Value k = arith::IndexCastOp::create(
                  b2, b2.getIndexType(),
                  tensor::ExtractOp::create(b2, offsets, ValueRange{i, j}));
              Value q =
                  e2.read(vecType, values, {i, j, e2.index(0)}, zeroF32, true);
              SmallVector<Value> next;
              for (auto [row, acc] : llvm::zip(rows, jArgs)) {
                Value xv = e2.read(vecType, xx, {row, j, k}, zeroF32, true);
                // Separate multiply and add (no FMA): the oracle rounds the
                // product before adding it.
                Value prod = arith::MulFOp::create(b2, q, xv);
                next.push_back(arith::AddFOp::create(b2, acc, prod));
              }
              scf::YieldOp::create(b2, next);
            });
        Value out = iArgs[0];
        for (auto [row, acc] : llvm::zip(rows, jLoop.getResults()))
          out = e1.write(acc, out, {row, col0}, true);
        scf::YieldOp::create(b1, out);
      });
  return iLoop.getResult(0);
}

namespace {

/// Permuted-diagonal matmul in O(M * N / p) with vector loads and no index
/// memory: output row i*p + c takes, from each block column j, the input
/// j*p + (c + k_ij) mod p. Over the p rows of a block that is x_j rotated by
/// k_ij, which is the contiguous slice [k, k + p) of x_j written twice in a
/// row; so the input is doubled once per call (O(M * N)) and every block is
/// one p-lane load of values, one of x, a multiply and an add per input row.
/// `rowsPerLoad` input rows share each load of a block's values and offset.
struct LowerPermDiagToCPU : OpRewritePattern<PermDiagMatmulOp> {
  LowerPermDiagToCPU(MLIRContext *ctx, int64_t rowsPerLoad)
      : OpRewritePattern(ctx, /*benefit=*/2), rowsPerLoad(rowsPerLoad) {}

  LogicalResult matchAndRewrite(PermDiagMatmulOp op,
                                PatternRewriter &rewriter) const override {
    auto constant = op.getWeight().getDefiningOp<PermDiagConstantOp>();
    if (!constant)
      return rewriter.notifyMatchFailure(op, "weight is not a constant");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e{b};
    PermDiagWeightType type = constant.getResult().getType();
    int64_t p = type.getBlockSize();
    int64_t rb = type.getRowBlocks(), cb = type.getColBlocks();
    int64_t outs = type.getShape()[0], n = type.getShape()[1];
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    Value x = to2D(b, op.getInput());
    Value init = to2D(b, op.getInit());
    int64_t m = cast<RankedTensorType>(x.getType()).getDimSize(0);
    if (ShapedType::isDynamic(m))
      return rewriter.notifyMatchFailure(op, "dynamic batch");
    Type f32 = b.getF32Type();
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
    auto idx = [&](int64_t v) -> OpFoldResult { return b.getIndexAttr(v); };

    // xx[m, j, t] = x[m, j*p + t mod p] for t < 2p; columns past N are 0.
    if (cb * p != n)
      x = tensor::PadOp::create(b, RankedTensorType::get({m, cb * p}, f32), x,
                                ArrayRef<OpFoldResult>{idx(0), idx(0)},
                                ArrayRef<OpFoldResult>{idx(0), idx(cb * p - n)},
                                zero);
    Value x3 = tensor::ExpandShapeOp::create(
        b, RankedTensorType::get({m, cb, p}, f32), x,
        SmallVector<ReassociationIndices>{{0}, {1, 2}});
    Value xx = tensor::EmptyOp::create(b, ArrayRef<int64_t>{m, cb, 2 * p}, f32);
    SmallVector<OpFoldResult> sizes = {idx(m), idx(cb), idx(p)};
    SmallVector<OpFoldResult> ones = {idx(1), idx(1), idx(1)};
    for (int64_t half = 0; half < 2; ++half)
      xx = tensor::InsertSliceOp::create(
          b, x3, xx, SmallVector<OpFoldResult>{idx(0), idx(0), idx(half * p)},
          sizes, ones);

    // The output padded to whole row blocks; the padding rows are dropped.
    Value y = init;
    if (rb * p != outs)
      y = tensor::PadOp::create(
          b, RankedTensorType::get({m, rb * p}, f32), y,
          ArrayRef<OpFoldResult>{idx(0), idx(0)},
          ArrayRef<OpFoldResult>{idx(0), idx(rb * p - outs)}, zero);
    // Offsets are below p: one byte each when p <= 128, so the index data
    // is 1/p^2 of a byte per weight.
    Value offsets;
    FailureOr<SmallVector<int64_t>> ks = readIntegers(constant.getOffsets());
    if (succeeded(ks) && p <= 128) {
      SmallVector<int8_t> narrow(ks->begin(), ks->end());
      std::string name = "sd_cpu_offsets";
      if (auto resource =
              dyn_cast<DenseResourceElementsAttr>(constant.getValues()))
        name = resource.getRawHandle().getKey().str() + "_k8";
      offsets = arith::ConstantOp::create(
          b, makeIntegerConstant(RankedTensorType::get({rb, cb}, b.getI8Type()),
                                 narrow, name));
    } else {
      offsets = arith::ConstantOp::create(b, constant.getOffsets());
    }
    Value values = arith::ConstantOp::create(b, constant.getValues());

    int64_t group = std::max<int64_t>(1, std::min(rowsPerLoad, m));
    int64_t grouped = m - m % group;
    if (grouped > 0) {
      auto mLoop = scf::ForOp::create(
          b, e.index(0), e.index(grouped), e.index(group), ValueRange{y},
          [&](OpBuilder &nb0, Location loc, Value row0, ValueRange mArgs) {
            ImplicitLocOpBuilder b1(loc, nb0);
            Emitter e1{b1};
            SmallVector<Value> rows;
            for (int64_t r = 0; r < group; ++r)
              rows.push_back(e1.add(row0, e1.index(r)));
            scf::YieldOp::create(b1,
                                 emitPermDiagRows(b1, xx, offsets, values,
                                                  mArgs[0], p, rb, cb, rows));
          });
      y = mLoop.getResult(0);
    }
    if (m % group) {
      SmallVector<Value> rows;
      for (int64_t r = grouped; r < m; ++r)
        rows.push_back(e.index(r));
      y = emitPermDiagRows(b, xx, offsets, values, y, p, rb, cb, rows);
    }
    if (rb * p != outs)
      y = tensor::ExtractSliceOp::create(
          b, cast<RankedTensorType>(init.getType()), y,
          SmallVector<OpFoldResult>{idx(0), idx(0)},
          SmallVector<OpFoldResult>{idx(m), idx(outs)},
          SmallVector<OpFoldResult>{idx(1), idx(1)});
    y = from2D(b, y, initType);
    if (op.getBias())
      y = addChannelBias(b, op.getLoc(), y, op.getBias(),
                         initType.getRank() - 1);
    rewriter.replaceOp(op, y);
    return success();
  }

  int64_t rowsPerLoad;
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
    if (permdiagRows < 1) {
      emitError(root->getLoc()) << "permdiag-rows must be at least 1";
      return signalPassFailure();
    }
    if (failed(verifyConstantData(root, "the CPU code")))
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    // The code stream adds globals to the module, so it needs the module
    // as the root (a function-level run keeps the code planes).
    populateSDToCPUPatterns(patterns, tileRows, permdiagRows,
                            codeStream && isa<ModuleOp>(root));
    // What has no kernel (standalone rebuilds, quantized ops, weights the
    // kernels reject) takes the reference path.
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
                                       int64_t tileRows, int64_t permdiagRows,
                                       bool codeStream) {
  patterns.add<LowerMatmulToCPU, LowerConvToCPU>(patterns.getContext(),
                                                 tileRows, codeStream);
  patterns.add<LowerPermDiagToCPU>(patterns.getContext(), permdiagRows);
}
