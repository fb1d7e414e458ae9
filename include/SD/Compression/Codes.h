//===- Codes.h - Power-of-two coefficient codes -----------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// A SmartExchange coefficient Ce[i,k] is zero or +-2^p with p in a declared
// range [minExp, maxExp]. It is stored as a small signed integer code c:
//
//   c == 0  ->  0
//   c != 0  ->  sign(c) * 2^(minExp + |c| - 1)
//
// so |c| counts exponent levels from the bottom of the range and the sign is
// the sign of the value. A range of L = maxExp - minExp + 1 levels needs a
// signed integer of ceil(log2(L + 1)) + 1 bits (the paper's 4-bit Ce holds 7
// levels). This header is plain C++: the dialect verifier, the decomposition
// library, the CPU lowering and the simulator all decode through it.
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_CODES_H
#define SD_COMPRESSION_CODES_H

#include <cstdint>
#include <optional>

namespace sd::compression {

/// An inclusive range of power-of-two exponents.
struct ExponentRange {
  int minExp = -8;
  int maxExp = 5;

  /// Number of distinct magnitudes (exponent levels) in the range.
  int levels() const { return maxExp - minExp + 1; }
  bool isValid() const { return minExp <= maxExp; }
  bool contains(int exp) const { return exp >= minExp && exp <= maxExp; }
};

/// Smallest signed integer width (in bits) that holds every code of `range`.
unsigned minCodeBits(ExponentRange range);

/// True when `code` denotes zero or a power of two inside `range`.
inline bool isValidCode(int code, ExponentRange range) {
  return code >= -range.levels() && code <= range.levels();
}

/// Code of sign * 2^exp (sign is +1 or -1). `exp` must lie in `range`.
inline int encodeCode(int sign, int exp, ExponentRange range) {
  int magnitude = exp - range.minExp + 1;
  return sign < 0 ? -magnitude : magnitude;
}

/// Exponent of a non-zero code.
inline int codeExponent(int code, ExponentRange range) {
  return range.minExp + (code < 0 ? -code : code) - 1;
}

/// Exact value of `code` (zero for code 0). Valid codes only.
double decodeCode(int code, ExponentRange range);

/// Code of `value` when it is exactly zero or +-2^p with p in `range`;
/// std::nullopt otherwise.
std::optional<int> encodeExact(double value, ExponentRange range);

} // namespace sd::compression

#endif // SD_COMPRESSION_CODES_H
