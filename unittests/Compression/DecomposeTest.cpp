//===- DecomposeTest.cpp - Tests of the SmartExchange decomposition -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Decompose.h"
#include "SD/Compression/StructuredPruning.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

using namespace sd::compression;

namespace {

std::vector<double> gaussian(size_t n, double sigma, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(0.0, sigma);
  std::vector<double> v(n);
  for (double &x : v)
    x = dist(rng);
  return v;
}

std::vector<float> gaussianF(size_t n, double sigma, uint64_t seed) {
  std::vector<double> d = gaussian(n, sigma, seed);
  return std::vector<float>(d.begin(), d.end());
}

/// ||A - C B||_F / ||A||_F for row-major rows x 3 A and C, 3 x 3 B.
double relativeError(const std::vector<double> &a, const std::vector<double> &c,
                     const double *b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() / 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k)
        s += c[i * 3 + k] * b[k * 3 + j];
      num += (a[i * 3 + j] - s) * (a[i * 3 + j] - s);
      den += a[i * 3 + j] * a[i * 3 + j];
    }
  return std::sqrt(num / den);
}

/// True when v is 0 or +-2^p with p in range.
bool isCodeValue(double v, ExponentRange range) {
  return encodeExact(v, range).has_value();
}

/// A = Ce B with Ce random signed powers of two 2^[lo, hi] (a quarter zero).
std::vector<double> representable(int64_t rows, int lo, int hi, const double *b,
                                  uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> exp(lo, hi), zero(0, 3), sign(0, 1);
  std::vector<double> a(size_t(rows) * 3);
  for (int64_t i = 0; i < rows; ++i) {
    double ce[3];
    for (double &v : ce)
      v = zero(rng) == 0 ? 0.0
                         : (sign(rng) ? -1.0 : 1.0) * std::ldexp(1.0, exp(rng));
    for (int j = 0; j < 3; ++j)
      a[i * 3 + j] = ce[0] * b[j] + ce[1] * b[3 + j] + ce[2] * b[6 + j];
  }
  return a;
}

} // namespace

//===----------------------------------------------------------------------===//
// Rounding
//===----------------------------------------------------------------------===//

TEST(Pow2, TieGoesToTheSmallerPower) {
  // 1.5 * 2^k is equidistant from 2^k and 2^(k+1).
  EXPECT_EQ(roundToPowerOfTwo(1.5), 1.0);
  EXPECT_EQ(roundToPowerOfTwo(3.0), 2.0);
  EXPECT_EQ(roundToPowerOfTwo(6.0), 4.0);
  EXPECT_EQ(roundToPowerOfTwo(0.75), 0.5);
  EXPECT_EQ(roundToPowerOfTwo(48.0), 32.0);
  EXPECT_EQ(roundToPowerOfTwo(std::ldexp(1.5, -20)), std::ldexp(1.0, -20));
  // Just past the tie goes up; just before stays down.
  EXPECT_EQ(roundToPowerOfTwo(std::nextafter(1.5, 2.0)), 2.0);
  EXPECT_EQ(roundToPowerOfTwo(std::nextafter(1.5, 1.0)), 1.0);
  EXPECT_EQ(roundToPowerOfTwo(std::nextafter(0.75, 1.0)), 1.0);
}

TEST(Pow2, LinearNotLogarithmicDistance) {
  // log2(1.45) = 0.536 rounds to 1 in the log domain, but 1.45 is nearer 1.
  EXPECT_EQ(roundToPowerOfTwo(1.45), 1.0);
  EXPECT_EQ(roundToPowerOfTwo(1.0), 1.0);
  EXPECT_EQ(roundToPowerOfTwo(0.5), 0.5);
  EXPECT_EQ(roundToPowerOfTwo(2.9), 2.0);
  EXPECT_EQ(roundToPowerOfTwo(3.1), 4.0);
  EXPECT_EQ(roundToPowerOfTwo(0.001), std::ldexp(1.0, -10));
  EXPECT_EQ(roundToPowerOfTwo(0.004), std::ldexp(1.0, -8));
  // Subnormals take the slow path and still round correctly.
  EXPECT_EQ(roundToPowerOfTwo(std::ldexp(1.4, -1070)), std::ldexp(1.0, -1070));
  EXPECT_EQ(roundToPowerOfTwo(std::ldexp(1.6, -1070)), std::ldexp(1.0, -1069));
}

TEST(QuantizeCoefficient, RangeClipsTopAndFlushesBottom) {
  ExponentRange range; // [-8, 5]
  EXPECT_EQ(quantizeCoefficient(0.0, range), 0.0);
  EXPECT_EQ(quantizeCoefficient(40.0, range), 32.0);
  EXPECT_EQ(quantizeCoefficient(1e6, range), 32.0);
  EXPECT_EQ(quantizeCoefficient(-100.0, range), -32.0);
  EXPECT_EQ(quantizeCoefficient(-0.003, range), -std::ldexp(1.0, -8));
  // 0.75 * 2^-8 rounds (tie, down) to 2^-9 < 2^minExp: zero.
  EXPECT_EQ(quantizeCoefficient(0.75 * std::ldexp(1.0, -8), range), 0.0);
  EXPECT_EQ(quantizeCoefficient(std::nextafter(0.75 * std::ldexp(1.0, -8), 1.0),
                                range),
            std::ldexp(1.0, -8));
  EXPECT_EQ(quantizeCoefficient(1e-300, range), 0.0);
  EXPECT_EQ(quantizeCoefficient(-5e-324, range), 0.0);

  ExponentRange narrow{-2, 1};
  EXPECT_EQ(quantizeCoefficient(3.5, narrow), 2.0);
  EXPECT_EQ(quantizeCoefficient(0.2, narrow), 0.25);
  EXPECT_EQ(quantizeCoefficient(0.18, narrow), 0.0); // -> 0.125 < 0.25
}

TEST(QuantizeCoefficient, CodesRoundTrip) {
  ExponentRange range;
  for (double v : {1.0, -1.0, 32.0, -std::ldexp(1.0, -8), 0.25, 0.0}) {
    int code = coefficientCode(v, range);
    EXPECT_TRUE(isValidCode(code, range));
    EXPECT_EQ(decodeCode(code, range), v);
  }
  EXPECT_EQ(coefficientCode(std::ldexp(1.0, -8), range), 1);
  EXPECT_EQ(coefficientCode(-32.0, range), -14);
}

//===----------------------------------------------------------------------===//
// Least squares
//===----------------------------------------------------------------------===//

TEST(LeastSquares, FullRankSatisfiesNormalEquations) {
  std::vector<double> a = gaussian(60, 1.0, 1);
  std::vector<double> c = gaussian(60, 1.0, 2);
  ExponentRange range;
  for (double &v : c)
    v = quantizeCoefficient(v, range);
  double x[9];
  leastSquares3(c.data(), a.data(), 20, 1e-10, range, x);
  // C^T (A - C X) = 0.
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int i = 0; i < 20; ++i) {
        double r = a[i * 3 + j];
        for (int l = 0; l < 3; ++l)
          r -= c[i * 3 + l] * x[l * 3 + j];
        s += c[i * 3 + k] * r;
      }
      EXPECT_NEAR(s, 0.0, 1e-12);
    }
}

TEST(LeastSquares, ZeroColumnGivesZeroRow) {
  // Minimum norm: the basis row of an unused column is zero, not garbage.
  std::vector<double> a = gaussian(30, 1.0, 3);
  std::vector<double> c = {1, 0.5, 0, -2, 1,  0, 0.25, 4, 0, 1, 1, 0, 2, -1, 0,
                           8, 1,   0, -1, -1, 0, 1,    2, 0, 4, 4, 0, 1, -8, 0};
  double x[9];
  leastSquares3(c.data(), a.data(), 10, 1e-10, ExponentRange(), x);
  EXPECT_EQ(x[6], 0.0);
  EXPECT_EQ(x[7], 0.0);
  EXPECT_EQ(x[8], 0.0);
}

TEST(LeastSquares, EqualColumnsShareTheSolution) {
  // Columns 0 and 1 equal: the min-norm solution splits evenly between them.
  std::vector<double> a = gaussian(24, 1.0, 4);
  std::vector<double> c;
  for (int i = 0; i < 8; ++i) {
    double v = std::ldexp(1.0, i % 5 - 2) * (i % 2 ? -1 : 1);
    c.insert(c.end(), {v, v, std::ldexp(1.0, (i * 3) % 4 - 1)});
  }
  double x[9];
  leastSquares3(c.data(), a.data(), 8, 1e-10, ExponentRange(), x);
  for (int j = 0; j < 3; ++j)
    EXPECT_NEAR(x[j], x[3 + j], 1e-12);
}

TEST(LeastSquares, FewerRowsThanColumnsIsExactAndMinimumNorm) {
  // Two rows: C X = A exactly, and X = C^T (C C^T)^-1 A.
  const double c[6] = {1, 2, 0.5, -1, 0.25, 4};
  const double a[6] = {0.3, -1.2, 2.0, 0.7, 0.1, -0.4};
  double x[9];
  leastSquares3(c, a, 2, 1e-10, ExponentRange(), x);
  double cct[4] = {0, 0, 0, 0};
  for (int r = 0; r < 2; ++r)
    for (int s = 0; s < 2; ++s)
      for (int k = 0; k < 3; ++k)
        cct[r * 2 + s] += c[r * 3 + k] * c[s * 3 + k];
  double det = cct[0] * cct[3] - cct[1] * cct[2];
  double inv[4] = {cct[3] / det, -cct[1] / det, -cct[2] / det, cct[0] / det};
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 3; ++j) {
      double expected = 0;
      for (int r = 0; r < 2; ++r)
        for (int s = 0; s < 2; ++s)
          expected += c[r * 3 + k] * inv[r * 2 + s] * a[s * 3 + j];
      EXPECT_NEAR(x[k * 3 + j], expected, 1e-12);
    }
}

TEST(PseudoInverse, InverseOfRegularMatrix) {
  const double m[9] = {2, -1, 0.5, 0.3, 1.7, -2, 1, 0.2, 0.9};
  double p[9];
  EXPECT_EQ(pseudoInverse3x3(m, 1e-10, p), 3);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k)
        s += m[i * 3 + k] * p[k * 3 + j];
      EXPECT_NEAR(s, i == j ? 1.0 : 0.0, 1e-14);
    }
}

TEST(PseudoInverse, PenroseConditionsOnSingularMatrix) {
  // Rank 2: third row is the sum of the first two.
  const double m[9] = {1, 2, 3, -0.5, 0.25, 2, 0.5, 2.25, 5};
  double p[9];
  EXPECT_EQ(pseudoInverse3x3(m, 1e-10, p), 2);
  auto mul = [](const double *x, const double *y, double *z) {
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        z[i * 3 + j] = 0;
        for (int k = 0; k < 3; ++k)
          z[i * 3 + j] += x[i * 3 + k] * y[k * 3 + j];
      }
  };
  double mp[9], pm[9], mpm[9], pmp[9];
  mul(m, p, mp);
  mul(p, m, pm);
  mul(mp, m, mpm);
  mul(pm, p, pmp);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(mpm[i * 3 + j], m[i * 3 + j], 1e-13);
      EXPECT_NEAR(pmp[i * 3 + j], p[i * 3 + j], 1e-13);
      EXPECT_NEAR(mp[i * 3 + j], mp[j * 3 + i], 1e-13);
      EXPECT_NEAR(pm[i * 3 + j], pm[j * 3 + i], 1e-13);
    }
}

//===----------------------------------------------------------------------===//
// One block
//===----------------------------------------------------------------------===//

TEST(DecomposeBlock, RecoversExactlyRepresentableWeights) {
  // The reference algorithm starts from B = I, so it reaches an exact
  // factorization when B is a perturbed identity; a fully random B is a
  // different local minimum in most draws (see docs/decomposition.md).
  DecomposeOptions options;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::vector<double> noise = gaussian(9, 0.02, 100 + seed);
    double b[9];
    for (int i = 0; i < 9; ++i)
      b[i] = (i % 4 == 0 ? 1.0 : 0.0) + noise[i];
    std::vector<double> a = representable(192, -6, -2, b, seed);
    BlockDecomposition r = decomposeBlock(a.data(), 192, options);
    EXPECT_LT(relativeError(a, r.ce, r.basis.data()), 1e-12) << "seed " << seed;
    EXPECT_TRUE(r.converged);
  }
}

TEST(DecomposeBlock, RecoversScaledPermutedBasis) {
  // B = D P (I + E) with D a power-of-two diagonal and P a signed
  // permutation: Ce D P is again a power-of-two matrix.
  DecomposeOptions options;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    std::mt19937_64 rng(seed);
    int perm[3] = {0, 1, 2};
    std::shuffle(perm, perm + 3, rng);
    std::vector<double> noise = gaussian(9, 0.02, 200 + seed);
    double e[9], b[9];
    for (int i = 0; i < 9; ++i)
      e[i] = (i % 4 == 0 ? 1.0 : 0.0) + noise[i];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        b[i * 3 + j] = (i == 1   ? -0.5
                        : i == 2 ? 2.0
                                 : 1.0) *
                       e[perm[i] * 3 + j];
    std::vector<double> a = representable(150, -5, -2, b, 50 + seed);
    BlockDecomposition r = decomposeBlock(a.data(), 150, options);
    EXPECT_LT(relativeError(a, r.ce, r.basis.data()), 1e-12) << "seed " << seed;
  }
}

TEST(DecomposeBlock, EveryCoefficientIsAPowerOfTwoInRange) {
  for (ExponentRange range : {ExponentRange{-8, 5}, ExponentRange{-3, 0}}) {
    DecomposeOptions options;
    options.range = range;
    for (bool scale : {false, true}) {
      options.columnScale = scale;
      std::vector<double> a = gaussian(192 * 3, 0.5, 7);
      BlockDecomposition r = decomposeBlock(a.data(), 192, options);
      for (double v : r.ce)
        EXPECT_TRUE(isCodeValue(v, range)) << v;
    }
  }
}

TEST(DecomposeBlock, ThresholdBoundsTheSmallestCoefficient) {
  // Every surviving Ce entry is >= theta before rounding, so every non-zero
  // coefficient is >= pow2(theta) (and >= 2^minExp).
  for (double theta : {1e-3, 4e-3, 2e-2, 0.1}) {
    DecomposeOptions options;
    options.threshold = theta;
    const double floor = std::max(roundToPowerOfTwo(theta),
                                  std::ldexp(1.0, options.range.minExp));
    for (uint64_t seed = 0; seed < 5; ++seed) {
      std::vector<double> a = gaussian(192 * 3, 0.06, seed);
      BlockDecomposition r = decomposeBlock(a.data(), 192, options);
      for (double v : r.ce) {
        if (v != 0.0) {
          EXPECT_GE(std::fabs(v), floor) << "theta " << theta;
        }
      }
    }
  }
}

TEST(DecomposeBlock, LargerThresholdIsSparser) {
  std::vector<double> a = gaussian(192 * 3, 0.06, 11);
  int64_t previous = INT64_MAX;
  for (double theta : {1e-3, 2e-2, 0.05}) {
    DecomposeOptions options;
    options.threshold = theta;
    BlockDecomposition r = decomposeBlock(a.data(), 192, options);
    int64_t nnz = std::count_if(r.ce.begin(), r.ce.end(),
                                [](double v) { return v != 0.0; });
    EXPECT_LT(nnz, previous);
    previous = nnz;
  }
}

TEST(DecomposeBlock, RowThresholdBoundsEveryKeptRow) {
  // With theta >= 2^minExp nothing is flushed, so a kept row had
  // sum |Ce| >= 5 theta and keeps sum |C^| >= (2/3) 5 theta (pow2(v) >= 2v/3).
  DecomposeOptions options;
  options.threshold = 4e-3;
  options.rowThreshold = true;
  std::vector<double> a = gaussian(192 * 3, 0.03, 12);
  BlockDecomposition r = decomposeBlock(a.data(), 192, options);
  int zeroRows = 0;
  for (int i = 0; i < 192; ++i) {
    double sum = std::fabs(r.ce[i * 3]) + std::fabs(r.ce[i * 3 + 1]) +
                 std::fabs(r.ce[i * 3 + 2]);
    if (sum == 0.0)
      ++zeroRows;
    else
      EXPECT_GE(sum, 2.0 / 3.0 * 5.0 * options.threshold);
  }
  EXPECT_GT(zeroRows, 0);
}

TEST(DecomposeBlock, FrozenRowsStayZero) {
  std::vector<double> a = gaussian(100 * 3, 0.1, 13);
  std::vector<uint8_t> frozen(100, 0);
  for (int i = 0; i < 100; i += 3)
    frozen[i] = 1; // A is not zero there: the freeze alone must hold them.
  DecomposeOptions options;
  BlockDecomposition r = decomposeBlock(a.data(), 100, options, frozen.data());
  for (int i = 0; i < 100; ++i) {
    if (frozen[i]) {
      for (int k = 0; k < 3; ++k)
        EXPECT_EQ(r.ce[i * 3 + k], 0.0);
    }
  }
}

TEST(DecomposeBlock, ErrorNeverRisesAboveTheFirstIteration) {
  // At the reference thresholds (1e-3 inference, 4e-3 training) no later
  // step climbs above the error of the first solve, although single steps
  // are not monotone (rounding can undo part of a least-squares gain). At
  // larger thresholds sparsification trades error away on purpose, and the
  // result can end above the dense first solve: docs/decomposition.md has
  // the measured rates.
  DecomposeOptions options;
  options.recordTrace = true;
  for (double theta : {1e-3, 4e-3}) {
    options.threshold = theta;
    for (uint64_t seed = 0; seed < 50; ++seed) {
      std::vector<double> a =
          gaussian(192 * 3, std::sqrt(2.0 / 576), 300 + seed);
      BlockDecomposition r = decomposeBlock(a.data(), 192, options);
      ASSERT_EQ(r.trace.size(), size_t(r.iterations) + 1);
      for (double err : r.trace)
        EXPECT_LE(err, r.trace.front() * (1 + 1e-12)) << "seed " << seed;
      double norm =
          std::sqrt(std::inner_product(a.begin(), a.end(), a.begin(), 0.0));
      EXPECT_NEAR(r.trace.back(), relativeError(a, r.ce, r.basis.data()) * norm,
                  1e-12);
    }
  }
}

TEST(DecomposeBlock, IterationLimitAndConvergence) {
  std::vector<double> a = gaussian(192 * 3, 0.06, 14);
  DecomposeOptions options;
  options.iterations = 1; // no alternating step: B = lstsq(Q(A), A)
  BlockDecomposition one = decomposeBlock(a.data(), 192, options);
  EXPECT_EQ(one.iterations, 0);
  EXPECT_FALSE(one.converged);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(one.ce[i], quantizeCoefficient(a[i], options.range));
  options.iterations = 30;
  BlockDecomposition full = decomposeBlock(a.data(), 192, options);
  EXPECT_LE(full.iterations, 29);
  if (full.converged) {
    // Running again from the converged iteration count gives the same result.
    options.iterations = full.iterations + 2;
    BlockDecomposition again = decomposeBlock(a.data(), 192, options);
    EXPECT_EQ(again.ce, full.ce);
    EXPECT_EQ(again.basis, full.basis);
  }
}

TEST(DecomposeBlock, TinyBlocksAreExact) {
  // One or two rows: C^ has full row rank, so C^ B = A exactly, and the
  // minimum-norm B stays finite even though C^T C is singular.
  for (int rows : {1, 2}) {
    std::vector<double> a = gaussian(size_t(rows) * 3, 0.3, 15 + rows);
    BlockDecomposition r = decomposeBlock(a.data(), rows, DecomposeOptions());
    EXPECT_LT(relativeError(a, r.ce, r.basis.data()), 1e-14);
    for (double v : r.basis)
      EXPECT_LT(std::fabs(v), 10.0);
  }
}

TEST(DecomposeBlock, ColumnScaleRestartsWithSmallerThreshold) {
  // Column 2 is ~1e-3: after the first step its Ce entries fall below theta
  // = 8e-3, so decompose_scale restarts with theta halved until they survive.
  std::vector<double> a = gaussian(64 * 3, 0.5, 16);
  for (int i = 0; i < 64; ++i)
    a[i * 3 + 2] *= 2e-3;
  DecomposeOptions options;
  options.threshold = 8e-3;
  options.columnScale = true;
  BlockDecomposition r = decomposeBlock(a.data(), 64, options);
  EXPECT_GE(r.restarts, 1);
  EXPECT_EQ(r.threshold, 8e-3 * std::pow(0.5, r.restarts));
  // An all-zero column can never be fixed: restarts stop at the cap.
  for (int i = 0; i < 64; ++i)
    a[i * 3 + 2] = 0.0;
  options.maxRestarts = 3;
  r = decomposeBlock(a.data(), 64, options);
  EXPECT_EQ(r.restarts, 3);
  for (double v : r.ce)
    EXPECT_TRUE(isCodeValue(v, options.range));
}

TEST(DecomposeBlock, ZeroBlock) {
  std::vector<double> a(30, 0.0);
  BlockDecomposition r = decomposeBlock(a.data(), 10, DecomposeOptions());
  for (double v : r.ce)
    EXPECT_EQ(v, 0.0);
  for (double v : r.basis)
    EXPECT_EQ(v, 0.0);
  EXPECT_TRUE(r.converged);
}

//===----------------------------------------------------------------------===//
// Whole weights
//===----------------------------------------------------------------------===//

TEST(DecomposeWeight, ConvLayoutCodesAndStats) {
  std::vector<int64_t> shape = {16, 64, 3, 3};
  std::vector<float> w = gaussianF(16 * 64 * 9, std::sqrt(2.0 / 576), 21);
  DecomposeOptions options;
  options.threshold = 4e-3;
  DecomposedWeight d = decomposeWeight(w.data(), shape, options);
  ASSERT_TRUE(d.error.empty()) << d.error;
  EXPECT_EQ(d.layout.numBlocks, 1);
  EXPECT_EQ(d.layout.blockRows, 192);
  ASSERT_EQ(d.codes.size(), size_t(16 * 192 * 3));
  ASSERT_EQ(d.basis.size(), size_t(16 * 9));
  int64_t nnz = 0, histogramSum = 0;
  for (int8_t code : d.codes) {
    EXPECT_TRUE(isValidCode(code, options.range));
    nnz += code != 0;
  }
  for (int64_t count : d.stats.exponentHistogram)
    histogramSum += count;
  EXPECT_EQ(d.stats.nnz, nnz);
  EXPECT_EQ(histogramSum, nnz);
  EXPECT_EQ(d.stats.numCodes, int64_t(d.codes.size()));
  // Random Kaiming weights: the reference reports about 0.18 at theta 4e-3.
  EXPECT_GT(d.stats.relativeError, 0.1);
  EXPECT_LT(d.stats.relativeError, 0.25);
  // The error statistic is the error of rebuildDense.
  std::vector<float> rebuilt =
      rebuildDense(d.layout, decodeCodes(d.codes, options.range), d.basis);
  double num = 0, den = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    num += (double(w[i]) - rebuilt[i]) * (double(w[i]) - rebuilt[i]);
    den += double(w[i]) * w[i];
  }
  EXPECT_NEAR(d.stats.relativeError, std::sqrt(num / den), 1e-12);
}

TEST(DecomposeWeight, PaddingRowsStayZero) {
  // K = 4096: 1366 rows, 8 blocks of 171, two padding rows at the end.
  std::vector<int64_t> shape = {3, 4096};
  std::vector<float> w = gaussianF(3 * 4096, 0.02, 22);
  DecomposedWeight d = decomposeWeight(w.data(), shape, DecomposeOptions());
  ASSERT_TRUE(d.error.empty());
  EXPECT_EQ(d.layout.numBlocks, 8);
  EXPECT_EQ(d.layout.blockRows, 171);
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t r = 169; r < 171; ++r)
      for (int64_t k = 0; k < 3; ++k)
        EXPECT_EQ(d.codes[((o * 8 + 7) * 171 + r) * 3 + k], 0);
}

TEST(DecomposeWeight, ExactlyRepresentableWeightRebuildsExactly) {
  // Every filter of a [4, 64, 3, 3] conv is Ce B with its own basis (192
  // rows: small blocks have more local minima, see RecoversExactly...).
  std::vector<int64_t> shape = {4, 64, 3, 3};
  std::vector<float> w;
  for (uint64_t o = 0; o < 4; ++o) {
    std::vector<double> noise = gaussian(9, 0.02, 400 + o);
    double b[9];
    for (int i = 0; i < 9; ++i)
      b[i] = float((i % 4 == 0 ? 1.0 : 0.0) + noise[i]);
    std::vector<double> a = representable(192, -6, -1, b, 500 + o);
    w.insert(w.end(), a.begin(), a.end());
  }
  DecomposedWeight d = decomposeWeight(w.data(), shape, DecomposeOptions());
  ASSERT_TRUE(d.error.empty());
  // Only float rounding of W and of the stored B remains.
  EXPECT_LT(d.stats.relativeError, 1e-6);
}

TEST(DecomposeWeight, StructuredFractionIsExact) {
  // 70 filters: groups of 32, 32 and 6; 48 rows each; 0.4 -> 19 rows/group.
  std::vector<int64_t> shape = {70, 16, 3, 3};
  std::vector<float> w = gaussianF(70 * 16 * 9, 0.05, 23);
  DecomposeOptions options;
  options.structuredFraction = 0.4;
  DecomposedWeight d = decomposeWeight(w.data(), shape, options);
  ASSERT_TRUE(d.error.empty());
  EXPECT_EQ(d.stats.pruningGroups, 3);
  EXPECT_EQ(d.stats.prunedRowsPerGroup, 19);
  ASSERT_EQ(d.prunedRows.size(), size_t(3 * 48));
  for (int64_t g = 0; g < 3; ++g) {
    int64_t count = 0;
    double maxPruned = 0, minKept = INFINITY;
    for (int64_t r = 0; r < 48; ++r) {
      bool pruned = d.prunedRows[g * 48 + r] != 0;
      count += pruned;
      double score = 0;
      for (int64_t o = g * 32; o < std::min<int64_t>(70, g * 32 + 32); ++o) {
        for (int64_t k = 0; k < 3; ++k) {
          score += std::fabs(w[o * 48 * 3 + r * 3 + k]);
          if (pruned) {
            EXPECT_EQ(d.codes[(o * 48 + r) * 3 + k], 0);
          }
        }
      }
      if (pruned)
        maxPruned = std::max(maxPruned, score);
      else
        minKept = std::min(minKept, score);
    }
    EXPECT_EQ(count, 19);
    EXPECT_LE(maxPruned, minKept);
  }
  EXPECT_GT(d.stats.relativeError, d.stats.relativeErrorToPruned);
}

TEST(DecomposeWeight, SameBytesWithOneAndTwoThreads) {
  std::vector<int64_t> shape = {40, 32, 3, 3};
  std::vector<float> w = gaussianF(40 * 32 * 9, 0.08, 24);
  DecomposeOptions options;
  options.structuredFraction = 0.3;
  options.columnScale = true;
  options.recordTrace = true;
  options.numThreads = 1;
  DecomposedWeight one = decomposeWeight(w.data(), shape, options);
  options.numThreads = 2;
  DecomposedWeight two = decomposeWeight(w.data(), shape, options);
  options.numThreads = 7;
  DecomposedWeight seven = decomposeWeight(w.data(), shape, options);
  for (const DecomposedWeight *other : {&two, &seven}) {
    ASSERT_EQ(one.codes, other->codes);
    ASSERT_EQ(one.basis.size(), other->basis.size());
    EXPECT_EQ(std::memcmp(one.basis.data(), other->basis.data(),
                          one.basis.size() * sizeof(float)),
              0);
    EXPECT_EQ(one.stats.iterations, other->stats.iterations);
    EXPECT_EQ(one.stats.trace, other->stats.trace);
    EXPECT_EQ(one.stats.relativeError, other->stats.relativeError);
  }
}

TEST(DecomposeWeight, AggregateTraceEndsAtTheResult) {
  std::vector<int64_t> shape = {8, 64, 3, 3};
  std::vector<float> w = gaussianF(8 * 64 * 9, 0.06, 25);
  DecomposeOptions options;
  options.recordTrace = true;
  DecomposedWeight d = decomposeWeight(w.data(), shape, options);
  ASSERT_EQ(d.stats.trace.size(), size_t(options.iterations));
  for (double err : d.stats.trace)
    EXPECT_LE(err, d.stats.trace.front() * (1 + 1e-12));
  // The double-precision trace and the float rebuild agree closely.
  EXPECT_NEAR(d.stats.trace.back(), d.stats.relativeError, 1e-5);
}

TEST(DecomposeWeight, RejectsBadInput) {
  std::vector<float> w(18, 1.0f);
  DecomposeOptions options;
  options.iterations = 0;
  EXPECT_FALSE(decomposeWeight(w.data(), {2, 9}, options).error.empty());
  options = DecomposeOptions();
  options.range = ExponentRange{-100, 100};
  EXPECT_FALSE(decomposeWeight(w.data(), {2, 9}, options).error.empty());
  EXPECT_FALSE(
      decomposeWeight(w.data(), {18}, DecomposeOptions()).error.empty());
  w[5] = NAN;
  EXPECT_FALSE(
      decomposeWeight(w.data(), {2, 9}, DecomposeOptions()).error.empty());
}
