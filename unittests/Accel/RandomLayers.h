//===- RandomLayers.h - Random layers and a naive reference for tests -----===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Shared by the target and simulator unit tests: random SmartExchange and
// dense layers for the ProgramBuilder, and a direct (loop-nest) evaluation of
// docs/QuantizedArithmetic.md that shares nothing with the simulator but
// rebuiltWeights().
//
//===----------------------------------------------------------------------===//

#ifndef SD_UNITTESTS_TARGET_RANDOMLAYERS_H
#define SD_UNITTESTS_TARGET_RANDOMLAYERS_H

#include "SD/Accel/ProgramBuilder.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace sd::sdacc::testing {

/// Geometry and format of a random layer.
struct LayerShape {
  LayerKind kind = LayerKind::Conv;
  WeightFormat format = WeightFormat::SmartExchange;
  int64_t k = 8, r = 3, s = 3, strideH = 1, strideW = 1;
  int64_t padTop = 1, padLeft = 1, padBottom = 1, padRight = 1;
  int64_t maxBlockRows = 192;
  int levels = 7;        ///< Exponent levels (se).
  double zeroRows = 0.3; ///< Fraction of zero Ce rows (se).
};

/// A random layer reading `input` of `inShape` and writing `output`.
inline LayerSpec randomLayer(std::mt19937_64 &rng, const std::string &name,
                             const std::string &input,
                             const std::string &output,
                             const std::vector<int64_t> &inShape,
                             const LayerShape &shape) {
  LayerSpec spec;
  spec.name = name;
  spec.kind = shape.kind;
  spec.format = shape.format;
  spec.input = input;
  spec.output = output;
  spec.outChannels = shape.k;
  int64_t c = 1;
  for (size_t i = 1; i < inShape.size(); ++i)
    c *= inShape[i];
  std::vector<int64_t> weightShape = {shape.k, c};
  if (shape.kind == LayerKind::Conv) {
    c = inShape[1];
    spec.kernelH = shape.r;
    spec.kernelW = shape.s;
    spec.strideH = shape.strideH;
    spec.strideW = shape.strideW;
    spec.padTop = shape.padTop;
    spec.padLeft = shape.padLeft;
    spec.padBottom = shape.padBottom;
    spec.padRight = shape.padRight;
    weightShape = {shape.k, c, shape.r, shape.s};
  }
  std::uniform_int_distribution<int> b8(-127, 127);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (shape.format == WeightFormat::SmartExchange) {
    spec.layout =
        compression::BlockLayout::canonical(weightShape, shape.maxBlockRows);
    spec.range = {-shape.levels, -1};
    std::uniform_int_distribution<int> code(-shape.levels, shape.levels);
    spec.codes.resize(size_t(spec.layout.numCodes()));
    for (size_t i = 0; i < spec.codes.size(); i += 3) {
      bool zero = unit(rng) < shape.zeroRows;
      for (size_t k = 0; k < 3; ++k)
        spec.codes[i + k] = int8_t(zero || unit(rng) < 0.3 ? 0 : code(rng));
    }
    spec.basis.resize(size_t(spec.layout.numBasis()));
    for (int8_t &v : spec.basis)
      v = int8_t(b8(rng));
  } else {
    int64_t L = 1;
    for (size_t i = 1; i < weightShape.size(); ++i)
      L *= weightShape[i];
    spec.weights.resize(size_t(shape.k * L));
    for (int8_t &v : spec.weights)
      v = int8_t(b8(rng));
  }
  // Biases of the order of the accumulators (rebuilt weights are larger
  // than raw int8 ones).
  int64_t biasRange =
      shape.format == WeightFormat::SmartExchange ? 1 << 20 : 1 << 12;
  std::uniform_int_distribution<int64_t> bias(-biasRange, biasRange);
  spec.bias.resize(size_t(shape.k));
  for (int64_t &v : spec.bias)
    v = bias(rng);
  spec.multiplier =
      std::uniform_int_distribution<int64_t>(1 << 14, (1 << 15) - 1)(rng);
  // Shifts that keep most outputs inside int8 for these magnitudes.
  spec.shift =
      shape.format == WeightFormat::SmartExchange ? 30 + shape.levels : 27;
  spec.relu = unit(rng) < 0.5;
  return spec;
}

/// Random int8 activations in [-127, 127].
inline std::vector<int8_t> randomActivations(std::mt19937_64 &rng,
                                             int64_t count) {
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> x(static_cast<size_t>(count));
  for (int8_t &v : x)
    v = int8_t(d(rng));
  return x;
}

/// The layer evaluated directly: y[n, k, oh, ow] per the integer contract.
/// `inShape` is the input tensor's shape; the result is NCHW (or [N, K]).
inline std::vector<int8_t> referenceLayer(const LayerSpec &spec,
                                          const std::vector<int8_t> &x,
                                          const std::vector<int64_t> &inShape) {
  LayerSpec full = spec;
  int64_t n = inShape[0], c = 1, h = 1, w = 1;
  if (spec.kind == LayerKind::Conv) {
    c = inShape[1];
    h = inShape[2];
    w = inShape[3];
  } else {
    for (size_t i = 1; i < inShape.size(); ++i)
      c *= inShape[i];
  }
  int64_t r = spec.kind == LayerKind::Conv ? spec.kernelH : 1;
  int64_t s = spec.kind == LayerKind::Conv ? spec.kernelW : 1;
  int64_t sh = spec.kind == LayerKind::Conv ? spec.strideH : 1;
  int64_t sw = spec.kind == LayerKind::Conv ? spec.strideW : 1;
  int64_t pt = spec.kind == LayerKind::Conv ? spec.padTop : 0;
  int64_t pl = spec.kind == LayerKind::Conv ? spec.padLeft : 0;
  int64_t pb = spec.kind == LayerKind::Conv ? spec.padBottom : 0;
  int64_t pr = spec.kind == LayerKind::Conv ? spec.padRight : 0;
  int64_t oh = (h + pt + pb - r) / sh + 1, ow = (w + pl + pr - s) / sw + 1;
  int64_t K = spec.outChannels;
  if (full.layout.shape.empty())
    full.layout = compression::BlockLayout::canonical({K, c * r * s});
  std::vector<int32_t> W = rebuiltWeights(full);
  std::vector<int8_t> y(size_t(n * K * oh * ow));
  const int64_t limit = (int64_t(1) << 47) - 1;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          int64_t acc = spec.bias.empty() ? 0 : spec.bias[size_t(k)];
          for (int64_t ci = 0; ci < c; ++ci)
            for (int64_t u = 0; u < r; ++u)
              for (int64_t v = 0; v < s; ++v) {
                int64_t ih = i * sh - pt + u, iw = j * sw - pl + v;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w)
                  continue;
                acc += int64_t(x[size_t(((b * c + ci) * h + ih) * w + iw)]) *
                       W[size_t(k * c * r * s + (ci * r + u) * s + v)];
              }
          acc = std::clamp(acc, -limit, limit);
          int64_t t = acc * spec.multiplier + (int64_t(1) << (spec.shift - 1));
          // Floor division by 2^shift, written without shifting negatives.
          int64_t q = t / (int64_t(1) << spec.shift);
          if (t % (int64_t(1) << spec.shift) < 0)
            --q;
          y[size_t(((b * K + k) * oh + i) * ow + j)] =
              int8_t(std::clamp<int64_t>(q, spec.relu ? 0 : -127, 127));
        }
  return y;
}

} // namespace sd::sdacc::testing

#endif // SD_UNITTESTS_TARGET_RANDOMLAYERS_H
