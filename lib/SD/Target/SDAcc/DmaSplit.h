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

#include "SD/Target/SDAcc/ISA.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

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

/// Calls emit(dram, buf, length, count, stride) once per instruction of a
/// transfer of `count` rows of `length` bytes, DRAM rows `stride` apart and
/// packed in the buffer. Contiguous rows merge into one row first (fewer
/// instructions); rows or strides too long for the fields go row by row.
template <typename EmitFn>
void forEachDma(int64_t dram, int64_t buf, int64_t length, int64_t count,
                int64_t stride, EmitFn &&emit) {
  if (length <= 0 || count <= 0)
    return;
  const DmaLimits &max = DmaLimits::get();
  if (count > 1 && stride == length) {
    length *= count;
    count = 1;
  }
  if (count == 1 || length > max.length || stride > max.stride) {
    for (int64_t r = 0; r < count; ++r)
      for (int64_t off = 0; off < length; off += max.length)
        emit(dram + r * stride + off, buf + r * length + off,
             std::min(max.length, length - off), int64_t(1), int64_t(0));
    return;
  }
  for (int64_t r0 = 0; r0 < count; r0 += max.count) {
    const int64_t rows = std::min(max.count, count - r0);
    emit(dram + r0 * stride, buf + r0 * length, length, rows,
         rows > 1 ? stride : 0);
  }
}

} // namespace sd::sdacc

#endif // SD_LIB_TARGET_SDACC_DMASPLIT_H
