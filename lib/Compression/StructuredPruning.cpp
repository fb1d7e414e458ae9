//===- StructuredPruning.cpp - SmartDeal vector-wise row pruning ----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/StructuredPruning.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sd::compression {

int64_t structuredPrunedRows(int64_t rows, double fraction) {
  if (!(fraction > 0.0) || rows <= 0)
    return 0;
  // The epsilon absorbs fraction * rows landing just below an integer.
  double k = std::floor(fraction * double(rows) + 1e-9);
  return std::clamp<int64_t>(int64_t(k), 0, rows);
}

RowPruningMask selectStructuredRows(const float *weight,
                                    const BlockLayout &layout, double fraction,
                                    int64_t groupSize) {
  RowPruningMask result;
  result.groupSize = std::max<int64_t>(groupSize, 1);
  result.numOutputs = layout.numOutputs();
  result.rowsPerOutput = layout.usedRows();
  result.prunedPerGroup = structuredPrunedRows(result.rowsPerOutput, fraction);
  const int64_t rows = result.rowsPerOutput, length = layout.rowLength();
  result.mask.assign(size_t(result.numGroups() * rows), 0);
  if (result.prunedPerGroup == 0)
    return result;

  std::vector<double> score(static_cast<size_t>(rows));
  std::vector<int64_t> order(static_cast<size_t>(rows));
  for (int64_t group = 0; group < result.numGroups(); ++group) {
    const int64_t first = group * result.groupSize;
    const int64_t last = std::min(result.numOutputs, first + result.groupSize);
    std::fill(score.begin(), score.end(), 0.0);
    for (int64_t o = first; o < last; ++o)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t col = 0; col < kBasisSize; ++col) {
          const int64_t within = r * kBasisSize + col;
          if (within < length)
            score[r] += std::fabs(double(weight[o * length + within]));
        }
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t x, int64_t y) { return score[x] < score[y]; });
    uint8_t *groupMask = &result.mask[size_t(group * rows)];
    for (int64_t i = 0; i < result.prunedPerGroup; ++i)
      groupMask[order[i]] = 1;
  }
  return result;
}

void applyRowPruning(float *weight, const BlockLayout &layout,
                     const RowPruningMask &mask) {
  const int64_t length = layout.rowLength();
  for (int64_t o = 0; o < layout.numOutputs(); ++o)
    for (int64_t r = 0; r < mask.rowsPerOutput; ++r) {
      if (!mask.isPruned(o, r))
        continue;
      for (int64_t col = 0; col < kBasisSize; ++col) {
        const int64_t within = r * kBasisSize + col;
        if (within < length)
          weight[o * length + within] = 0.0f;
      }
    }
}

} // namespace sd::compression
