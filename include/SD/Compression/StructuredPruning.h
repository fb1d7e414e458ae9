//===- StructuredPruning.h - SmartDeal vector-wise row pruning --*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// SmartDeal's structured sparsity: before decomposing, the rows of 3 of the
// block layout (for a 3x3 conv, the kernel rows W[o, cin, r, :]) are ranked by
// their L1 norm summed over a group of output filters (32 by default; the last
// group may be smaller), and the lowest-ranked rows are zeroed in every filter
// of the group, so the whole group shares its zero rows and the accelerator's
// row index skips them.
//
// Every group loses exactly k = floor(fraction * usedRows + 1e-9) rows (the
// 1e-9 keeps fractions such as 0.29 * 100 from losing a row to rounding).
// Ties in the score go to the lower row index (a stable sort).
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_STRUCTUREDPRUNING_H
#define SD_COMPRESSION_STRUCTUREDPRUNING_H

#include "SD/Compression/Layout.h"

#include <cstdint>
#include <vector>

namespace sd::compression {

/// Default number of output filters that share their pruned rows.
constexpr int64_t kDefaultPruningGroup = 32;

/// The rows structured pruning removes.
struct RowPruningMask {
  int64_t groupSize = kDefaultPruningGroup;
  int64_t numOutputs = 0;
  /// m0: rows of 3 per output that hold real weights.
  int64_t rowsPerOutput = 0;
  /// k: rows pruned in every group.
  int64_t prunedPerGroup = 0;
  /// [numGroups(), rowsPerOutput], 1 = pruned.
  std::vector<uint8_t> mask;

  int64_t numGroups() const {
    return groupSize > 0 ? (numOutputs + groupSize - 1) / groupSize : 0;
  }
  /// True when row `row` (< rowsPerOutput) of output `output` is pruned.
  bool isPruned(int64_t output, int64_t row) const {
    return !mask.empty() &&
           mask[(output / groupSize) * rowsPerOutput + row] != 0;
  }
};

/// k = floor(fraction * rows + 1e-9), clamped to [0, rows].
int64_t structuredPrunedRows(int64_t rows, double fraction);

/// Rank the rows of 3 of `weight` (row-major, layout.shape) per group of
/// `groupSize` outputs and mark the lowest `fraction` of them.
RowPruningMask selectStructuredRows(const float *weight,
                                    const BlockLayout &layout, double fraction,
                                    int64_t groupSize = kDefaultPruningGroup);

/// Zero the marked rows of `weight` in place.
void applyRowPruning(float *weight, const BlockLayout &layout,
                     const RowPruningMask &mask);

} // namespace sd::compression

#endif // SD_COMPRESSION_STRUCTUREDPRUNING_H
