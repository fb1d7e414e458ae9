//===- DmaSplit.h - DMA transfers cut to the dma fields' widths -*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Every builder (SmartExchange and dense layers, PermDNN layers, pooling and
// adds) moves 2-D blocks of bytes; one routine turns a block into dma_load /
// dma_store instructions whose length, count and stride fit the widths that
// Instructions.def gives those fields, so a wider field there widens every
// builder's transfers.
//
//===----------------------------------------------------------------------===//

#ifndef SD_LIB_TARGET_SDACC_DMASPLIT_H
#define SD_LIB_TARGET_SDACC_DMASPLIT_H

#include "SD/Accel/ISA.h"
#include "SD/Accel/ProgramBuilder.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace sd::sdacc {

/// The largest length, count and DRAM stride both dma_load and dma_store
/// encode.
struct DmaLimits {
  int64_t length = INT64_MAX, count = INT64_MAX, stride = INT64_MAX;

  static const DmaLimits &get() {
    static const DmaLimits limits = [] {
      DmaLimits l;
      for (Opcode op : {Opcode::DmaLoad, Opcode::DmaStore})
        for (const FieldDesc &f : findInstruction(unsigned(op))->fields) {
          if (!std::strcmp(f.name, "length"))
            l.length = std::min(l.length, f.maxValue());
          else if (!std::strcmp(f.name, "count"))
            l.count = std::min(l.count, f.maxValue());
          else if (!std::strcmp(f.name, "dram_stride"))
            l.stride = std::min(l.stride, f.maxValue());
        }
      return l;
    }();
    return limits;
  }
};

/// Appends to `out` the dma_store (`store`) or dma_load of `kind` moving
/// `count` rows of `length` bytes, DRAM rows `stride` apart and packed in the
/// buffer, and counts the DRAM bytes in `sched`. Contiguous rows merge into
/// one row first (fewer instructions); rows or strides too long for the
/// fields go row by row.
inline void emitDma(std::vector<Instruction> &out, LayerSchedule &sched,
                    bool store, DmaKind kind, int64_t dram, int64_t buf,
                    int64_t length, int64_t count, int64_t stride) {
  if (length <= 0 || count <= 0)
    return;
  if (store)
    sched.dramOutputBytes += length * count;
  else if (kind == DmaKind::Act)
    sched.dramInputBytes += length * count;
  else
    sched.dramWeightBytes += length * count;
  auto one = [&](int64_t d, int64_t b, int64_t n, int64_t rows, int64_t s) {
    if (store)
      out.push_back(Instruction(Opcode::DmaStore, {d, b, n, rows, s}));
    else
      out.push_back(
          Instruction(Opcode::DmaLoad, {int64_t(kind), d, b, n, rows, s}));
  };
  const DmaLimits &max = DmaLimits::get();
  if (count > 1 && stride == length) {
    length *= count;
    count = 1;
  }
  if (count == 1 || length > max.length || stride > max.stride) {
    for (int64_t r = 0; r < count; ++r)
      for (int64_t off = 0; off < length; off += max.length)
        one(dram + r * stride + off, buf + r * length + off,
            std::min(max.length, length - off), 1, 0);
    return;
  }
  for (int64_t r0 = 0; r0 < count; r0 += max.count) {
    const int64_t rows = std::min(max.count, count - r0);
    one(dram + r0 * stride, buf + r0 * length, length, rows,
        rows > 1 ? stride : 0);
  }
}

} // namespace sd::sdacc

#endif // SD_LIB_TARGET_SDACC_DMASPLIT_H
