//===- PermDiag.cpp - PermDNN projection onto permuted diagonals ----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/PermDiag.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sd::compression {

int64_t PermDiagWeight::storedBits() const {
  int64_t offsetBits = 0;
  while ((int64_t(1) << offsetBits) < blockSize)
    ++offsetBits;
  return int64_t(values.size()) * 32 + int64_t(offsets.size()) * offsetBits;
}

double PermDiagWeight::compressionRatio() const {
  int64_t bits = storedBits();
  return bits ? 32.0 * double(rows) * double(cols) / double(bits) : 0.0;
}

PermDiagWeight projectPermDiag(const float *weight, int64_t rows, int64_t cols,
                               int64_t p) {
  PermDiagWeight w;
  if (rows < 1 || cols < 1 || p < 1) {
    w.error = "rows, columns and the block size must be positive";
    return w;
  }
  // A block larger than the whole matrix is nothing but padding, and the
  // projection's cost grows like p^2 per block.
  if (p > std::max(rows, cols)) {
    w.error = "block size p = " + std::to_string(p) + " is larger than the " +
              std::to_string(rows) + "x" + std::to_string(cols) + " weight";
    return w;
  }
  w.rows = rows;
  w.cols = cols;
  w.blockSize = p;
  w.rowBlocks = (rows + p - 1) / p;
  w.colBlocks = (cols + p - 1) / p;
  w.offsets.assign(w.rowBlocks * w.colBlocks, 0);
  w.values.assign(w.rowBlocks * w.colBlocks * p, 0.0f);
  auto at = [&](int64_t r, int64_t c) -> double {
    return r < rows && c < cols ? double(weight[r * cols + c]) : 0.0;
  };
  double total = 0, kept = 0;
  for (int64_t i = 0; i < rows * cols; ++i)
    total += double(weight[i]) * double(weight[i]);
  for (int64_t i = 0; i < w.rowBlocks; ++i)
    for (int64_t j = 0; j < w.colBlocks; ++j) {
      int64_t best = 0;
      double bestEnergy = -1;
      for (int64_t k = 0; k < p; ++k) {
        double energy = 0;
        for (int64_t c = 0; c < p; ++c) {
          double v = at(i * p + c, j * p + (c + k) % p);
          energy += v * v;
        }
        if (energy > bestEnergy) {
          bestEnergy = energy;
          best = k;
        }
      }
      int64_t block = i * w.colBlocks + j;
      w.offsets[block] = int32_t(best);
      for (int64_t c = 0; c < p; ++c)
        w.values[block * p + c] = float(at(i * p + c, j * p + (c + best) % p));
      kept += bestEnergy;
    }
  w.keptEnergy = total > 0 ? kept / total : 1.0;
  w.relativeError =
      total > 0 ? std::sqrt(std::max(0.0, total - kept) / total) : 0.0;
  return w;
}

std::vector<float> rebuildPermDiag(const PermDiagWeight &w) {
  std::vector<float> dense(w.rows * w.cols, 0.0f);
  int64_t p = w.blockSize;
  for (int64_t i = 0; i < w.rowBlocks; ++i)
    for (int64_t j = 0; j < w.colBlocks; ++j) {
      int64_t block = i * w.colBlocks + j;
      for (int64_t c = 0; c < p; ++c) {
        int64_t r = i * p + c, col = j * p + (c + w.offsets[block]) % p;
        if (r < w.rows && col < w.cols)
          dense[r * w.cols + col] = w.values[block * p + c];
      }
    }
  return dense;
}

} // namespace sd::compression
