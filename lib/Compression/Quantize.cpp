//===- Quantize.cpp - The accelerator's integer number format -------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Quantize.h"

#include <algorithm>
#include <cmath>

namespace sd::compression {

int64_t roundHalfAway(double v) { return static_cast<int64_t>(std::round(v)); }

int64_t fractionBitsFor(double maxAbs) {
  if (!(maxAbs > 0))
    return 0;
  int64_t f = 30;
  while (f > -24 && maxAbs * std::ldexp(1.0, static_cast<int>(f)) > 127.0)
    --f;
  return f;
}

bool computeRequantization(double m, Requantization &out, std::string &error) {
  if (!(m > 0) || m >= 8192.0) {
    error = "requantization multiplier " + std::to_string(m) +
            " is outside (0, 2^13)";
    return false;
  }
  // The largest S with round(m * 2^S) < 2^15 keeps M in [2^14, 2^15).
  int64_t shift = 14 - static_cast<int64_t>(std::floor(std::log2(m)));
  int64_t mult = roundHalfAway(std::ldexp(m, static_cast<int>(shift)));
  if (mult >= (int64_t(1) << 15)) {
    --shift;
    mult = roundHalfAway(std::ldexp(m, static_cast<int>(shift)));
  }
  if (shift < 1) {
    error = "requantization multiplier " + std::to_string(m) +
            " needs a shift below 1";
    return false;
  }
  if (shift > 62) {
    error = "requantization multiplier " + std::to_string(m) +
            " is too small (shift " + std::to_string(shift) + ")";
    return false;
  }
  out.multiplier = mult;
  out.shift = shift;
  return true;
}

QuantizedLayer quantizeLayer(const std::vector<float> &basis,
                             const std::vector<float> &bias,
                             int64_t outChannels, ExponentRange range,
                             double inputScale, double outputScale, bool relu) {
  QuantizedLayer q;
  q.relu = relu;
  if (!(inputScale > 0) || !(outputScale > 0)) {
    q.error = "input and output scales must be positive";
    return q;
  }
  double maxAbs = 0;
  for (float b : basis)
    maxAbs = std::max(maxAbs, double(std::fabs(b)));
  q.fracBitsB = fractionBitsFor(maxAbs);
  q.basis.reserve(basis.size());
  for (float b : basis)
    q.basis.push_back(static_cast<int8_t>(std::clamp<int64_t>(
        roundHalfAway(std::ldexp(double(b), static_cast<int>(q.fracBitsB))),
        -127, 127)));
  // One unit of the accumulator is s_x * 2^(minExp - f_B) in real terms.
  double unit = inputScale *
                std::ldexp(1.0, static_cast<int>(range.minExp - q.fracBitsB));
  q.bias.assign(outChannels, 0);
  if (!bias.empty()) {
    if (static_cast<int64_t>(bias.size()) != outChannels) {
      q.error = "bias has " + std::to_string(bias.size()) + " values for " +
                std::to_string(outChannels) + " outputs";
      return q;
    }
    for (int64_t i = 0; i < outChannels; ++i)
      q.bias[i] = roundHalfAway(double(bias[i]) / unit);
  }
  computeRequantization(unit / outputScale, q.requant, q.error);
  return q;
}

QuantizedLayer quantizePermDiagLayer(const std::vector<float> &values,
                                     const std::vector<float> &bias,
                                     int64_t outChannels, double inputScale,
                                     double outputScale, bool relu) {
  // A value is a basis entry times 2^0: the same scale choice, bias rounding
  // and multiplier as a SmartExchange layer whose codes are all 1.
  return quantizeLayer(values, bias, outChannels, ExponentRange{0, 0},
                       inputScale, outputScale, relu);
}

int8_t requantize(int64_t acc, const Requantization &r, bool relu) {
  const int64_t limit = (int64_t(1) << 47) - 1;
  acc = std::clamp(acc, -limit, limit);
  int64_t t = acc * r.multiplier;
  int64_t y = (t + (int64_t(1) << (r.shift - 1))) >> r.shift;
  return static_cast<int8_t>(std::clamp<int64_t>(y, relu ? 0 : -127, 127));
}

bool computeAddRequantization(double scaleA, double scaleB, double outputScale,
                              AddRequantization &out, std::string &error) {
  if (!(scaleA > 0) || !(scaleB > 0) || !(outputScale > 0) ||
      !std::isfinite(scaleA) || !std::isfinite(scaleB) ||
      !std::isfinite(outputScale)) {
    error = "add scales must be positive and finite";
    return false;
  }
  double ma = scaleA / outputScale, mb = scaleB / outputScale;
  Requantization larger;
  if (!computeRequantization(std::max(ma, mb), larger, error))
    return false;
  out.shift = larger.shift;
  out.multiplierA = roundHalfAway(std::ldexp(ma, static_cast<int>(out.shift)));
  out.multiplierB = roundHalfAway(std::ldexp(mb, static_cast<int>(out.shift)));
  return true;
}

int8_t requantizeAdd(int64_t a, int64_t b, const AddRequantization &r,
                     bool relu) {
  // |t| < 2 * 127 * 2^15: no saturation is needed.
  int64_t t = a * r.multiplierA + b * r.multiplierB +
              (int64_t(1) << (r.shift - 1));
  int64_t y = t >= 0 ? t >> r.shift : -((-(t + 1)) >> r.shift) - 1;
  return static_cast<int8_t>(std::clamp<int64_t>(y, relu ? 0 : -127, 127));
}

} // namespace sd::compression
