//===- CodeStream.cpp - Ce codes stored as an entry bitmap plus values ----===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The code planes the SmartExchange kernels read hold 4 bits (or a byte) for
// every Ce entry, zero or not, plus the padding of each plane to 16 rows.
// The decomposition report counts less: one bit per entry (is it non-zero?)
// and ceil(log2 D) + 1 bits per non-zero for D distinct magnitudes. This
// stores a weight that way,
//
//   data = bitmap[ceil(E/8)] | values[ceil(nnz*w/8) + 1] | table[2^w]
//
// one i8 constant, entries in plane order (plane g, row r: e = g*rows + r),
// each non-zero an index of w = ceil(log2 D') bits (D' distinct non-zero
// plane codes; signs included, so w matches the report's rule) into a table
// of the plane codes themselves. The first call rebuilds the planes with one
// sequential loop over the entries (branch-free: the bit selects the table
// entry or zero, and advances the value position) into a zero-initialized
// module buffer (.bss: no bytes in the file), which every call's unchanged
// kernels then read, so results are bit-identical to the stored planes and
// later calls pay nothing for the decode. (Decoding on every call cost a
// scalar pass over all entries per call: about a second for a 4096-wide MLP,
// ten times its kernels.) An atomic state word makes exactly one caller
// decode while concurrent first callers wait.
//
//===----------------------------------------------------------------------===//

#include "CodeStream.h"

#include "SD/Dialect/SD/IR/SDElements.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <map>

using namespace mlir;
using namespace mlir::sd;

namespace {

/// Byte index and bit shift of row r of plane g in the planes.
std::pair<int64_t, int> planePosition(const CodePlaneLayout &l, int64_t g,
                                      int64_t r) {
  if (!l.nibbles)
    return {g * l.paddedRows + r, 0};
  return {g * (l.paddedRows / 2) + (r / 16) * 8 + r % 8, (r % 16) < 8 ? 0 : 4};
}

} // namespace

Value mlir::sd::materializeCodePlanes(ImplicitLocOpBuilder &b,
                                      RankedTensorType type,
                                      ArrayRef<int8_t> planes,
                                      const CodePlaneLayout &layout,
                                      StringRef name, ModuleOp module) {
  auto constant = [&]() -> Value {
    return arith::ConstantOp::create(
        b, makeIntegerConstant(type, planes, name));
  };
  if (!module)
    return constant();
  // The plane code of every entry, and the distinct non-zero ones.
  int64_t entries = layout.groups * layout.rows;
  SmallVector<uint8_t> code(entries);
  std::map<uint8_t, int> distinct;
  int64_t nnz = 0;
  for (int64_t g = 0; g < layout.groups; ++g)
    for (int64_t r = 0; r < layout.rows; ++r) {
      auto [byte, shift] = planePosition(layout, g, r);
      uint8_t c = uint8_t(planes[byte]) >> shift;
      if (layout.nibbles)
        c &= 0xF;
      code[g * layout.rows + r] = c;
      if (c) {
        distinct.emplace(c, 0);
        ++nnz;
      }
    }
  int width = 1;
  while ((int64_t(1) << width) < int64_t(distinct.size()))
    ++width;
  int index = 0;
  for (auto &entry : distinct)
    entry.second = index++;

  int64_t bitmapBytes = (entries + 7) / 8;
  int64_t valueBytes = (nnz * width + 7) / 8 + 1; // +1: two-byte reads
  int64_t tableSize = int64_t(1) << width;
  int64_t total = bitmapBytes + valueBytes + tableSize;
  if (total >= type.getNumElements())
    return constant();

  SmallVector<int8_t> data(total, 0);
  int64_t pos = 0;
  for (int64_t e = 0; e < entries; ++e) {
    if (!code[e])
      continue;
    data[e / 8] |= int8_t(1 << (e % 8));
    unsigned v = unsigned(distinct[code[e]]);
    for (int i = 0; i < width; ++i, ++pos)
      if (v >> i & 1)
        data[bitmapBytes + pos / 8] |= int8_t(1 << (pos % 8));
  }
  for (auto [c, i] : distinct)
    data[bitmapBytes + valueBytes + i] = int8_t(c);
  // Module-level buffers: the stream (read-only), the planes it decodes to
  // (zero until then; .bss, so no bytes in the file) and a state word
  // (0 not decoded, 1 decoding, 2 ready).
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), idx = b.getIndexType();
  int64_t flatSize = type.getNumElements();
  auto streamType = MemRefType::get({total}, i8);
  auto flatType = MemRefType::get({flatSize}, i8);
  auto stateType = MemRefType::get({}, i32);
  auto global = [&](StringRef suffix, MemRefType t, Attribute init,
                    bool constant) -> memref::GlobalOp {
    std::string symbol = (name + suffix).str();
    for (int n = 1; module.lookupSymbol(symbol); ++n)
      symbol = (name + suffix + "_" + Twine(n)).str();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    return memref::GlobalOp::create(b, symbol, b.getStringAttr("private"), t,
                                    init, constant, b.getI64IntegerAttr(64));
  };
  auto zeros = [&](MemRefType t) -> Attribute {
    return DenseElementsAttr::get(
        RankedTensorType::get(t.getShape(), t.getElementType()),
        b.getIntegerAttr(t.getElementType(), 0));
  };
  memref::GlobalOp streamGlobal = global(
      "_stream", streamType,
      makeIntegerConstant(RankedTensorType::get({total}, i8), data,
                          (name + "_stream").str()),
      /*constant=*/true);
  memref::GlobalOp flatGlobal =
      global("_decoded", flatType, zeros(flatType), /*constant=*/false);
  memref::GlobalOp stateGlobal =
      global("_state", stateType, zeros(stateType), /*constant=*/false);
  Value stored =
      memref::GetGlobalOp::create(b, streamType, streamGlobal.getSymName());
  Value flat = memref::GetGlobalOp::create(b, flatType, flatGlobal.getSymName());
  Value state =
      memref::GetGlobalOp::create(b, stateType, stateGlobal.getSymName());

  auto cIdx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto cI32 = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i32, v);
  };
  Value zero8 = arith::ConstantIntOp::create(b, i8, 0);
  Value c0 = cIdx(0), c1 = cIdx(1);

  // Claim the decode atomically: max(state, 1) turns 0 into 1 and leaves 1
  // and 2, so exactly one caller sees 0 and decodes; the others wait below
  // until it publishes 2.
  Value claimed = memref::AtomicRMWOp::create(
      b, arith::AtomicRMWKind::maxu, cI32(1), state, ValueRange{});
  Value mine =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, claimed, cI32(0));
  auto decode = scf::IfOp::create(b, mine, /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(decode.thenBlock());
    // One loop over planes g and rows r, carrying the value bit position.
    auto outer = scf::ForOp::create(
        b, c0, cIdx(layout.groups), c1, ValueRange{c0},
        [&](OpBuilder &ob, Location loc, Value g, ValueRange outerArgs) {
          ImplicitLocOpBuilder ib(loc, ob);
          auto inner = scf::ForOp::create(
              ib, c0, cIdx(layout.rows), c1, outerArgs,
              [&](OpBuilder &nb, Location l, Value r, ValueRange args) {
                ImplicitLocOpBuilder x(l, nb);
                Value pos = args[0];
                auto load = [&](Value at) -> Value {
                  Value v = memref::LoadOp::create(x, stored, at);
                  return arith::ExtUIOp::create(x, i32, v);
                };
                auto toI32 = [&](Value v) -> Value {
                  return arith::IndexCastOp::create(x, i32, v);
                };
                // Is entry e = g*rows + r non-zero?
                Value e = arith::AddIOp::create(
                    x, arith::MulIOp::create(x, g, cIdx(layout.rows)), r);
                Value bitmapByte = load(arith::ShRUIOp::create(x, e, cIdx(3)));
                Value bit = arith::AndIOp::create(
                    x,
                    arith::ShRUIOp::create(
                        x, bitmapByte,
                        toI32(arith::AndIOp::create(x, e, cIdx(7)))),
                    cI32(1));
                // The w-bit index at bit `pos` of the values.
                Value at = arith::AddIOp::create(
                    x, cIdx(bitmapBytes),
                    arith::ShRUIOp::create(x, pos, cIdx(3)));
                Value word = arith::OrIOp::create(
                    x, load(at),
                    arith::ShLIOp::create(
                        x, load(arith::AddIOp::create(x, at, c1)), cI32(8)));
                Value v = arith::AndIOp::create(
                    x,
                    arith::ShRUIOp::create(
                        x, word,
                        toI32(arith::AndIOp::create(x, pos, cIdx(7)))),
                    cI32(tableSize - 1));
                Value tableAt = arith::AddIOp::create(
                    x, cIdx(bitmapBytes + valueBytes),
                    arith::IndexCastOp::create(x, idx, v));
                Value c = memref::LoadOp::create(x, stored, tableAt);
                Value isSet = arith::CmpIOp::create(
                    x, arith::CmpIPredicate::ne, bit, cI32(0));
                c = arith::SelectOp::create(x, isSet, c, zero8);
                // Its place in the planes (see planePosition).
                Value byteAt, shift;
                if (layout.nibbles) {
                  Value half = cIdx(layout.paddedRows / 2);
                  Value group16 = arith::DivUIOp::create(x, r, cIdx(16));
                  byteAt = arith::AddIOp::create(
                      x,
                      arith::AddIOp::create(
                          x, arith::MulIOp::create(x, g, half),
                          arith::MulIOp::create(x, group16, cIdx(8))),
                      arith::RemUIOp::create(x, r, cIdx(8)));
                  Value high = arith::DivUIOp::create(
                      x, arith::RemUIOp::create(x, r, cIdx(16)), cIdx(8));
                  shift = arith::IndexCastOp::create(
                      x, i8, arith::MulIOp::create(x, high, cIdx(4)));
                } else {
                  byteAt = arith::AddIOp::create(
                      x, arith::MulIOp::create(x, g, cIdx(layout.paddedRows)),
                      r);
                  shift = zero8;
                }
                Value old = memref::LoadOp::create(x, flat, byteAt);
                Value merged = arith::OrIOp::create(
                    x, old, arith::ShLIOp::create(x, c, shift));
                memref::StoreOp::create(x, merged, flat, byteAt);
                Value nextPos = arith::AddIOp::create(
                    x, pos,
                    arith::MulIOp::create(
                        x, arith::IndexCastOp::create(x, idx, bit),
                        cIdx(width)));
                scf::YieldOp::create(x, ValueRange{nextPos});
              });
          scf::YieldOp::create(ib, inner.getResults());
        });
    (void)outer;
    // Publish (an atomic exchange orders the plane stores before it).
    memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::assign, cI32(2),
                                state, ValueRange{});
  }
  // Wait until the planes are published (returns at once after the first
  // call).
  auto wait = scf::WhileOp::create(
      b, TypeRange{}, ValueRange{},
      [&](OpBuilder &ob, Location loc, ValueRange) {
        ImplicitLocOpBuilder x(loc, ob);
        Value now = memref::AtomicRMWOp::create(
            x, arith::AtomicRMWKind::ori, cI32(0), state, ValueRange{});
        Value pending =
            arith::CmpIOp::create(x, arith::CmpIPredicate::ne, now, cI32(2));
        scf::ConditionOp::create(x, pending, ValueRange{});
      },
      [&](OpBuilder &ob, Location loc, ValueRange) {
        scf::YieldOp::create(ob, loc);
      });
  (void)wait;
  Value planesFlat = bufferization::ToTensorOp::create(
      b, RankedTensorType::get({flatSize}, i8), flat, /*restrict=*/true);
  SmallVector<ReassociationIndices> all(1);
  for (int64_t i = 0; i < type.getRank(); ++i)
    all[0].push_back(i);
  return tensor::ExpandShapeOp::create(b, type, planesFlat, all);
}
