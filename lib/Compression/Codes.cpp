//===- Codes.cpp - Power-of-two coefficient codes -------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Codes.h"

#include <cmath>

namespace sd::compression {

unsigned minCodeBits(ExponentRange range) {
  // Signed width w holds magnitudes up to 2^(w-1) - 1.
  unsigned bits = 2;
  while (((int64_t(1) << (bits - 1)) - 1) < range.levels())
    ++bits;
  return bits;
}

double decodeCode(int code, ExponentRange range) {
  if (code == 0)
    return 0.0;
  double magnitude = std::ldexp(1.0, codeExponent(code, range));
  return code < 0 ? -magnitude : magnitude;
}

std::optional<int> encodeExact(double value, ExponentRange range) {
  if (value == 0.0)
    return 0;
  int exp = 0;
  double mantissa = std::frexp(std::fabs(value), &exp);
  // frexp gives |value| = mantissa * 2^exp with mantissa in [0.5, 1).
  if (mantissa != 0.5 || !range.contains(exp - 1))
    return std::nullopt;
  return encodeCode(value < 0 ? -1 : 1, exp - 1, range);
}

} // namespace sd::compression
