//===- Storage.cpp - Storage accounting of a Ce*B weight ------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Storage.h"

#include <algorithm>
#include <cstdlib>

namespace sd::compression {

static int ceilLog2(int64_t n) {
  int bits = 0;
  while ((int64_t(1) << bits) < n)
    ++bits;
  return bits;
}

int adaptiveEntryBits(int64_t distinctMagnitudes) {
  return distinctMagnitudes > 0 ? ceilLog2(distinctMagnitudes) + 1 : 0;
}

int adaptiveRowBits(int64_t distinctMagnitudes) {
  return distinctMagnitudes > 0 ? ceilLog2(distinctMagnitudes + 1) + 1 : 0;
}

CeCounts countCodes(const BlockLayout &layout, const int8_t *codes) {
  CeCounts counts;
  counts.numWeights = layout.numWeights();
  counts.numCodes = layout.numCodes();
  counts.numRows = counts.numCodes / kBasisSize;
  counts.numBasis = layout.numBasis();
  // |code| identifies the magnitude, so distinct magnitudes are distinct |c|.
  bool seen[129] = {false};
  for (int64_t row = 0; row < counts.numRows; ++row) {
    bool nonZero = false;
    for (int64_t k = 0; k < kBasisSize; ++k) {
      int code = codes[row * kBasisSize + k];
      if (code == 0)
        continue;
      nonZero = true;
      ++counts.nnz;
      int magnitude = std::abs(code);
      seen[magnitude] = true;
      counts.maxMagnitudeCode = std::max(counts.maxMagnitudeCode, magnitude);
    }
    counts.nonZeroRows += nonZero;
  }
  for (bool flag : seen)
    counts.distinctMagnitudes += flag;
  return counts;
}

StorageReport computeStorage(const CeCounts &counts,
                             const StorageOptions &options) {
  StorageReport report;
  report.counts = counts;
  const bool rowIndex = options.index == CeIndexKind::RowBitmap;
  report.valueBitsPerEntry = options.codeBits > 0 ? options.codeBits
                             : rowIndex
                                 ? adaptiveRowBits(counts.distinctMagnitudes)
                                 : adaptiveEntryBits(counts.distinctMagnitudes);
  if (options.codeBits > 0)
    report.codesFit =
        counts.maxMagnitudeCode <= (int64_t(1) << (options.codeBits - 1)) - 1;
  const int64_t storedValues =
      rowIndex ? counts.nonZeroRows * kBasisSize : counts.nnz;
  report.valueBits = storedValues * report.valueBitsPerEntry;
  report.indexBits = rowIndex ? counts.numRows : counts.numCodes;
  report.basisBits = counts.numBasis * options.basisBits;
  report.totalBits = report.valueBits + report.indexBits + report.basisBits;
  report.denseBits = 32 * counts.numWeights;
  report.compressionRatio =
      report.totalBits > 0 ? double(report.denseBits) / double(report.totalBits)
                           : 0.0;
  return report;
}

StorageReport computeStorage(const BlockLayout &layout, const int8_t *codes,
                             const StorageOptions &options) {
  return computeStorage(countCodes(layout, codes), options);
}

} // namespace sd::compression
