//===- Storage.h - Storage accounting of a Ce*B weight ----------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// How many bits a decomposed weight takes, in the reference code's formula and
// in the structured alternative:
//
//   entry bitmap (reference):
//     bits = nnz(Ce) * w + numel(Ce) * 1 + numel(B) * bB
//     w = ceil(log2 #distinct |Ce|) + 1        (magnitude index + sign)
//   row bitmap (the accelerator's index selector):
//     bits = nzRows(Ce) * 3 * w + rows(Ce) * 1 + numel(B) * bB
//     w = ceil(log2(#distinct |Ce| + 1)) + 1   (entries of a kept row may be 0)
//
// Either w may be replaced by a fixed code width (the paper's 4-bit Ce).
// bB is 8 for inference and 32 in training. numel(Ce) and rows(Ce) count the
// stored [O, nb, blockRows, 3] tensor, padding included; the ratio is
// 32 * numel(W) / bits with numel(W) the dense weight without padding.
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_STORAGE_H
#define SD_COMPRESSION_STORAGE_H

#include "SD/Compression/Codes.h"
#include "SD/Compression/Layout.h"

#include <cstdint>

namespace sd::compression {

/// Which index tells the decoder where the non-zero Ce values are.
enum class CeIndexKind {
  EntryBitmap, ///< 1 bit per Ce entry (reference formula).
  RowBitmap,   ///< 1 bit per Ce row of 3 (structured sparsity).
};

/// How to count.
struct StorageOptions {
  /// Bits per basis entry: 8 for inference, 32 in training.
  int basisBits = 8;
  CeIndexKind index = CeIndexKind::EntryBitmap;
  /// Bits per stored Ce value; 0 means the adaptive width of the formula.
  int codeBits = 0;
};

/// What the accounting needs to know about a decomposed weight.
struct CeCounts {
  int64_t numWeights = 0;         ///< Dense weight values (no padding).
  int64_t numCodes = 0;           ///< Ce entries, padding included.
  int64_t numRows = 0;            ///< Ce rows of 3, padding included.
  int64_t numBasis = 0;           ///< B entries.
  int64_t nnz = 0;                ///< Non-zero Ce entries.
  int64_t nonZeroRows = 0;        ///< Ce rows with at least one non-zero.
  int64_t distinctMagnitudes = 0; ///< Distinct |Ce| among non-zeros.
  int maxMagnitudeCode = 0;       ///< Largest |code| (to check a fixed width).
};

/// Bits of one weight, by part.
struct StorageReport {
  CeCounts counts;
  int valueBitsPerEntry = 0; ///< w actually used.
  int64_t valueBits = 0;
  int64_t indexBits = 0;
  int64_t basisBits = 0;
  int64_t totalBits = 0;
  int64_t denseBits = 0;         ///< 32 * numWeights.
  double compressionRatio = 0.0; ///< denseBits / totalBits.
  /// False when a fixed codeBits cannot hold every code present (a signed
  /// width w holds |code| <= 2^(w-1) - 1).
  bool codesFit = true;
};

/// Count the codes of a decomposed weight ([O, nb, blockRows, 3]).
CeCounts countCodes(const BlockLayout &layout, const int8_t *codes);

/// Bits of a weight with these counts.
StorageReport computeStorage(const CeCounts &counts,
                             const StorageOptions &options = {});

/// countCodes + computeStorage.
StorageReport computeStorage(const BlockLayout &layout, const int8_t *codes,
                             const StorageOptions &options = {});

/// Adaptive value width of the entry-bitmap formula: ceil(log2 d) + 1
/// (0 when d == 0).
int adaptiveEntryBits(int64_t distinctMagnitudes);

/// Adaptive value width of the row-bitmap formula: ceil(log2(d + 1)) + 1
/// (0 when d == 0).
int adaptiveRowBits(int64_t distinctMagnitudes);

} // namespace sd::compression

#endif // SD_COMPRESSION_STORAGE_H
