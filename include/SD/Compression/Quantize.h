//===- Quantize.h - The accelerator's integer number format -----*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// docs/QuantizedArithmetic.md in code: how a SmartExchange layer with float
// bases and biases becomes int8 bases, int64 biases and a requantization
// multiplier, and the integer arithmetic both the CPU quantized mode and the
// accelerator simulator must reproduce bit for bit. Plain C++, shared by the
// compiler (which computes the parameters once) and the tests.
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_QUANTIZE_H
#define SD_COMPRESSION_QUANTIZE_H

#include "SD/Compression/Codes.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd::compression {

/// Multiplier M in [2^14, 2^15) and shift S >= 1 with M * 2^-S ~ m.
struct Requantization {
  int64_t multiplier = 1 << 14;
  int64_t shift = 1;
};

/// The integer parameters of one layer.
struct QuantizedLayer {
  std::vector<int8_t> basis; ///< bq, same shape as the float bases.
  int64_t fracBitsB = 0;     ///< f_B: B = bq * 2^-f_B.
  std::vector<int64_t> bias; ///< bi per output channel (zeros without bias).
  Requantization requant;
  bool relu = false;
  /// Empty on success, else why the layer cannot be quantized.
  std::string error;
};

/// round half away from zero (C's std::round), as an integer.
int64_t roundHalfAway(double v);

/// The largest f with maxAbs * 2^f <= 127 (f in [-24, 30]).
int64_t fractionBitsFor(double maxAbs);

/// M and S for the real multiplier `m` (0 < m < 2^13); fails otherwise.
bool computeRequantization(double m, Requantization &out, std::string &error);

/// Quantizes a layer's bases and bias for input scale `inputScale` and output
/// scale `outputScale` (real = scale * int8), per docs/QuantizedArithmetic.md.
QuantizedLayer quantizeLayer(const std::vector<float> &basis,
                             const std::vector<float> &bias,
                             int64_t outChannels, ExponentRange range,
                             double inputScale, double outputScale, bool relu);

/// Quantizes a PermDNN layer: its block values become int8 `wq =
/// clamp(round_half_away(q * 2^f_W), -127, 127)` with one f_W per layer
/// (returned in `basis` and `fracBitsB`), so an accumulator unit is
/// s_x * 2^-f_W: the SmartExchange rule with exponent 0 and the values in
/// the place of B (docs/QuantizedArithmetic.md).
QuantizedLayer quantizePermDiagLayer(const std::vector<float> &values,
                                     const std::vector<float> &bias,
                                     int64_t outChannels, double inputScale,
                                     double outputScale, bool relu);

/// The rebuilt integer weight of one Ce row entry: sum over k of
/// sign(c_k) * (bq[k] << (|c_k| - 1)).
inline int32_t rebuildInteger(const int8_t codes[3], const int8_t bq[3]) {
  int32_t w = 0;
  for (int k = 0; k < 3; ++k) {
    int c = codes[k];
    if (c == 0)
      continue;
    int32_t term = int32_t(bq[k]) * (int32_t(1) << ((c < 0 ? -c : c) - 1));
    w += c < 0 ? -term : term;
  }
  return w;
}

/// acc -> int8 output: saturate acc to +-(2^47 - 1), t = acc * M,
/// y = clamp((t + 2^(S-1)) >> S, relu ? 0 : -127, 127).
int8_t requantize(int64_t acc, const Requantization &r, bool relu);

/// A residual add y = s_a * a + s_b * b for output scale s_y: multipliers
/// M_a, M_b < 2^15 with one shift S, y = clamp((a * M_a + b * M_b +
/// 2^(S-1)) >> S, relu ? 0 : -127, 127). S is the shift computeRequantization
/// picks for max(s_a, s_b) / s_y, so the larger multiplier is in [2^14, 2^15).
struct AddRequantization {
  int64_t multiplierA = 0, multiplierB = 0, shift = 1;
};
bool computeAddRequantization(double scaleA, double scaleB, double outputScale,
                              AddRequantization &out, std::string &error);

/// The add's integer rule (docs/QuantizedArithmetic.md).
int8_t requantizeAdd(int64_t a, int64_t b, const AddRequantization &r,
                     bool relu);

} // namespace sd::compression

#endif // SD_COMPRESSION_QUANTIZE_H
