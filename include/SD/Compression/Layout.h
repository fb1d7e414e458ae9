//===- Layout.h - How Ce*B blocks map back to a dense weight ----*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The SmartExchange block layout, shared by the dialect, the decomposition
// library, the backends and the simulator.
//
// A weight of shape [O, d1, ..., dn] is viewed per output o as a row-major
// vector of L = d1*...*dn values, zero-padded to a multiple of 3 and cut into
// rows of 3. For a conv weight Cout x Cin x R x 3 row (cin, r) is exactly the
// 1x3 kernel row W[o, cin, r, :]; for a fully connected N x K weight (and a
// 1x1 conv) the rows run along K. The m0 = ceil(L / 3) rows of each output
// are split into `numBlocks` blocks of `blockRows` rows each (the last block
// is padded with zero rows); every block has its own 3 x 3 basis B. So Ce is
// stored as [O, numBlocks, blockRows, 3] codes and B as [O, numBlocks, 3, 3].
//
// The canonical choice, as in the authors' reference code, takes the fewest
// blocks of at most maxBlockRows (192) rows and spreads rows evenly:
//   nb = ceil(m0 / maxBlockRows), blockRows = ceil(m0 / nb).
// e.g. K = 4096: m0 = 1366, 8 blocks of 171 rows (K padded to 4104).
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_LAYOUT_H
#define SD_COMPRESSION_LAYOUT_H

#include <cstdint>
#include <string>
#include <vector>

namespace sd::compression {

/// Width of a Ce row and side of every basis B.
constexpr int64_t kBasisSize = 3;
/// Default largest block, in rows of Ce (64 input channels of a 3x3 conv).
constexpr int64_t kDefaultMaxBlockRows = 192;

/// Block partition of one weight tensor.
struct BlockLayout {
  std::vector<int64_t> shape; ///< Dense weight shape [O, ...].
  int64_t numBlocks = 1;      ///< Blocks per output.
  int64_t blockRows = 1;      ///< Ce rows per block.

  /// The canonical layout of `shape` (fewest blocks of <= maxBlockRows rows).
  static BlockLayout canonical(std::vector<int64_t> shape,
                               int64_t maxBlockRows = kDefaultMaxBlockRows);

  /// Empty when the layout is well formed, else a sentence saying why not.
  std::string verify() const;

  int64_t numOutputs() const { return shape.empty() ? 0 : shape[0]; }
  /// L: dense values per output.
  int64_t rowLength() const;
  /// m0: Ce rows per output that hold real weights (ceil(L / 3)).
  int64_t usedRows() const {
    return (rowLength() + kBasisSize - 1) / kBasisSize;
  }
  /// Ce rows per output including padding rows.
  int64_t paddedRows() const { return numBlocks * blockRows; }
  /// Number of dense weight values.
  int64_t numWeights() const { return numOutputs() * rowLength(); }
  /// Number of Ce entries ([O, nb, blockRows, 3]).
  int64_t numCodes() const { return numOutputs() * paddedRows() * kBasisSize; }
  /// Number of basis entries ([O, nb, 3, 3]).
  int64_t numBasis() const {
    return numOutputs() * numBlocks * kBasisSize * kBasisSize;
  }
  /// Shape of the Ce code tensor.
  std::vector<int64_t> codesShape() const {
    return {numOutputs(), numBlocks, blockRows, kBasisSize};
  }
  /// Shape of the basis tensor.
  std::vector<int64_t> basisShape() const {
    return {numOutputs(), numBlocks, kBasisSize, kBasisSize};
  }
  /// Row-major offset into the dense weight of Ce position (o, b, r, col), or
  /// -1 when that position is padding.
  int64_t denseOffset(int64_t o, int64_t b, int64_t r, int64_t col) const {
    int64_t within = (b * blockRows + r) * kBasisSize + col;
    return within < rowLength() ? o * rowLength() + within : -1;
  }
};

/// Rebuild the dense weight (row-major, layout.numWeights() values) from
/// decoded coefficients `ce` ([O, nb, blockRows, 3]) and bases `b`
/// ([O, nb, 3, 3]). This is the reference meaning of a decomposed weight.
std::vector<float> rebuildDense(const BlockLayout &layout,
                                const std::vector<float> &ce,
                                const std::vector<float> &b);

} // namespace sd::compression

#endif // SD_COMPRESSION_LAYOUT_H
