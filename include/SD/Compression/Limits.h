//===- Limits.h - Largest sizes the project accepts -------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Sizes that a file or an attribute declares are checked against these
// limits before anything is allocated or counted (docs/Testing.md lists
// every limit and who checks it).
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_LIMITS_H
#define SD_COMPRESSION_LIMITS_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sd::compression {

/// Largest weight, and largest code or value tensor of a compressed weight,
/// in elements, that the dialect, the passes and the readers accept:
/// 2^31 - 1. It keeps every count and byte size well inside int64 and every
/// element index in 32 bits, and is far above any real layer (the largest
/// fully connected layer of VGG-16 has 103M values).
constexpr int64_t kMaxWeightElements = (int64_t(1) << 31) - 1;

/// The product of `rank` dimensions, or -1 when one is not positive or the
/// product exceeds `limit` (checked before it could overflow).
int64_t boundedProduct(const int64_t *dims, size_t rank, int64_t limit);
inline int64_t boundedProduct(const std::vector<int64_t> &dims, int64_t limit) {
  return boundedProduct(dims.data(), dims.size(), limit);
}

} // namespace sd::compression

#endif // SD_COMPRESSION_LIMITS_H
