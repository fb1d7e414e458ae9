//===- Layout.cpp - How Ce*B blocks map back to a dense weight ------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Layout.h"
#include "SD/Compression/Limits.h"

#include <algorithm>
#include <sstream>

namespace sd::compression {

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t boundedProduct(const int64_t *dims, size_t rank, int64_t limit) {
  int64_t product = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (dims[i] <= 0 || dims[i] > limit / product)
      return -1;
    product *= dims[i];
  }
  return product;
}

int64_t BlockLayout::rowLength() const {
  int64_t length = 1;
  for (size_t i = 1; i < shape.size(); ++i)
    length *= shape[i];
  return length;
}

BlockLayout BlockLayout::canonical(std::vector<int64_t> shape,
                                   int64_t maxBlockRows) {
  BlockLayout layout;
  layout.shape = std::move(shape);
  int64_t rows = std::max<int64_t>(layout.usedRows(), 1);
  layout.numBlocks = ceilDiv(rows, std::max<int64_t>(maxBlockRows, 1));
  layout.blockRows = ceilDiv(rows, layout.numBlocks);
  return layout;
}

std::string BlockLayout::verify() const {
  std::ostringstream os;
  if (shape.size() < 2) {
    os << "weight must have rank >= 2 (outputs first), got rank "
       << shape.size();
    return os.str();
  }
  for (int64_t d : shape)
    if (d <= 0) {
      os << "weight dimensions must be static and positive";
      return os.str();
    }
  if (boundedProduct(shape, kMaxWeightElements) < 0) {
    os << "weight has more than " << kMaxWeightElements
       << " (2^31 - 1) elements";
    return os.str();
  }
  if (numBlocks < 1 || blockRows < 1) {
    os << "blocks must be at least 1 x 1, got " << numBlocks << " x "
       << blockRows;
    return os.str();
  }
  // Checked before paddedRows() and numCodes() multiply them.
  if (boundedProduct(codesShape(), kMaxWeightElements) < 0) {
    os << "blocks " << numBlocks << " x " << blockRows << " give "
       << "more than " << kMaxWeightElements << " (2^31 - 1) codes";
    return os.str();
  }
  if (paddedRows() < usedRows()) {
    os << "blocks " << numBlocks << " x " << blockRows << " cover "
       << paddedRows() << " rows of 3 but the weight needs " << usedRows()
       << " per output";
    return os.str();
  }
  if ((numBlocks - 1) * blockRows >= usedRows()) {
    os << "blocks " << numBlocks << " x " << blockRows
       << " leave the last block with only padding (the weight needs "
       << usedRows() << " rows of 3 per output)";
    return os.str();
  }
  return {};
}

std::vector<float> rebuildDense(const BlockLayout &layout,
                                const std::vector<float> &ce,
                                const std::vector<float> &b) {
  std::vector<float> dense(layout.numWeights(), 0.0f);
  const int64_t s = kBasisSize;
  for (int64_t o = 0; o < layout.numOutputs(); ++o)
    for (int64_t blk = 0; blk < layout.numBlocks; ++blk) {
      const float *basis = &b[((o * layout.numBlocks) + blk) * s * s];
      for (int64_t r = 0; r < layout.blockRows; ++r) {
        const float *row =
            &ce[(((o * layout.numBlocks) + blk) * layout.blockRows + r) * s];
        for (int64_t col = 0; col < s; ++col) {
          int64_t offset = layout.denseOffset(o, blk, r, col);
          if (offset < 0)
            continue;
          // Accumulate in the same k order as the linalg oracle.
          float acc = 0.0f;
          for (int64_t k = 0; k < s; ++k)
            acc += row[k] * basis[k * s + col];
          dense[offset] = acc;
        }
      }
    }
  return dense;
}

} // namespace sd::compression
