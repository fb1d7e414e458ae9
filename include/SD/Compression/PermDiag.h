//===- PermDiag.h - PermDNN projection onto permuted diagonals --*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// A PermDNN weight cuts an M x N matrix (zero-padded to multiples of p) into
// p x p blocks that are each a permuted diagonal: block (i, j) has one offset
// k in [0, p) and row c holds q[c] at column (c + k) mod p. Projecting a dense
// weight picks, per block, the offset whose diagonal keeps the most energy
// (sum of squares) and keeps those p values as they are, which is the
// Frobenius-nearest permuted-diagonal block. Plain C++, no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_PERMDIAG_H
#define SD_COMPRESSION_PERMDIAG_H

#include <cstdint>
#include <string>
#include <vector>

namespace sd::compression {

/// A projected weight and what the projection kept.
struct PermDiagWeight {
  int64_t rows = 0, cols = 0, blockSize = 0;
  int64_t rowBlocks = 0, colBlocks = 0;
  std::vector<int32_t> offsets; ///< [rowBlocks, colBlocks].
  std::vector<float> values;    ///< [rowBlocks, colBlocks, p].
  double keptEnergy = 0.0;      ///< ||projection||^2 / ||W||^2.
  double relativeError = 0.0;   ///< ||W - projection||_F / ||W||_F.
  std::string error;            ///< Non-empty when nothing was produced.

  /// Bits stored: 32 per value plus ceil(log2 p) per offset.
  int64_t storedBits() const;
  /// 32 * rows * cols / storedBits().
  double compressionRatio() const;
};

/// Projects the row-major `rows` x `cols` weight onto p x p permuted-diagonal
/// blocks. Ties between offsets go to the smallest offset (deterministic).
PermDiagWeight projectPermDiag(const float *weight, int64_t rows, int64_t cols,
                               int64_t blockSize);

/// The dense matrix a permuted-diagonal weight stands for (padding dropped).
std::vector<float> rebuildPermDiag(const PermDiagWeight &w);

} // namespace sd::compression

#endif // SD_COMPRESSION_PERMDIAG_H
