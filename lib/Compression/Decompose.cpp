//===- Decompose.cpp - SmartExchange Ce*B decomposition -------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Decompose.h"
#include "SD/Compression/Limits.h"
#include "SD/Compression/StructuredPruning.h"

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

namespace sd::compression {

//===----------------------------------------------------------------------===//
// Power-of-two rounding
//===----------------------------------------------------------------------===//

namespace {

constexpr uint64_t kSignBit = 0x8000000000000000ULL;
constexpr uint64_t kExponentBits = 0x7FF0000000000000ULL;
// Adding this to the bits of a positive normal double carries into the
// exponent exactly when the significand exceeds 1.5, i.e. when 2^(e) is
// strictly nearer than 2^(e-1): pow2's rule with ties to the smaller power.
constexpr uint64_t kRoundUpBias = 0x0007FFFFFFFFFFFFULL;

inline uint64_t bitsOf(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}

inline double fromBits(uint64_t bits) {
  double v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

inline uint64_t powerBits(int exp) { return uint64_t(exp + 1023) << 52; }

/// Q with the exponent range folded into two bit patterns, branch free so
/// the row loops vectorize.
struct Quantizer {
  uint64_t lowest;
  uint64_t highest;

  explicit Quantizer(ExponentRange range)
      : lowest(powerBits(range.minExp)), highest(powerBits(range.maxExp)) {}

  double operator()(double v) const {
    uint64_t bits = bitsOf(v);
    uint64_t magnitude = ((bits & ~kSignBit) + kRoundUpBias) & kExponentBits;
    magnitude = magnitude > highest ? highest : magnitude;
    // Zero and values rounding below 2^minExp (subnormals included) vanish.
    uint64_t out = magnitude < lowest ? 0 : (magnitude | (bits & kSignBit));
    return fromBits(out);
  }
};

} // namespace

double roundToPowerOfTwo(double v) {
  if (!(v > 0.0) || !std::isfinite(v))
    return v > 0.0 ? v : 0.0;
  if (v >= DBL_MIN)
    return fromBits((bitsOf(v) + kRoundUpBias) & kExponentBits);
  // Subnormals have no implicit leading bit; frexp normalizes them.
  int exp = 0;
  double mantissa = std::frexp(v, &exp); // v = mantissa * 2^exp, [0.5, 1)
  return std::ldexp(1.0, mantissa <= 0.75 ? exp - 1 : exp);
}

double quantizeCoefficient(double v, ExponentRange range) {
  return Quantizer(range)(v);
}

int coefficientCode(double quantized, ExponentRange range) {
  if (quantized == 0.0)
    return 0;
  uint64_t bits = bitsOf(quantized);
  int exp = int((bits >> 52) & 0x7FF) - 1023;
  return encodeCode(quantized < 0.0 ? -1 : 1, exp, range);
}

//===----------------------------------------------------------------------===//
// 3-column least squares
//===----------------------------------------------------------------------===//

namespace {

/// Upper triangle of a symmetric 3 x 3 matrix: g00 g01 g02 g11 g12 g22.
using Sym3 = double[6];

/// What exact integer arithmetic proves about G = C^T C.
struct GramCertificate {
  int rank = -1;      ///< -1: G's entries could not be certified exact.
  double det = 0.0;   ///< det(G) in units of 2^(6 minExp) (rank 3 only).
  double trace = 0.0; ///< trace(G) in units of 2^(2 minExp).
};

/// When every entry of C is 0 or +-2^p with p in `range`, every product is a
/// multiple of 2^(2 minExp) and at most 2^(2 maxExp), so the double sums in G
/// are exact and scale to integers; the determinant and minors then decide
/// the rank exactly. This matters because a rank-deficient C (fewer than 3
/// rows, an all-zero column, pruned rows) gives a normal matrix whose
/// floating-point eigenvalues are O(eps * ||G||) instead of 0, which an rcond
/// of 1e-10 on singular values would keep.
GramCertificate certifyGram(const Sym3 g, ExponentRange range, int64_t rows) {
  GramCertificate cert;
#ifdef __SIZEOF_INT128__
  int rowBits = 0;
  while ((int64_t(1) << rowBits) < rows)
    ++rowBits;
  // Entries below 2^40 keep every 3-term product below 2^120 < 2^127.
  if (2 * (range.maxExp - range.minExp) + rowBits > 40)
    return cert;
  using I128 = __int128;
  I128 s[6];
  for (int i = 0; i < 6; ++i) {
    double scaled = std::ldexp(g[i], -2 * range.minExp);
    if (scaled != std::floor(scaled) || std::fabs(scaled) >= 0x1p40)
      return cert;
    s[i] = I128(int64_t(scaled));
  }
  const I128 &g00 = s[0], &g01 = s[1], &g02 = s[2], &g11 = s[3], &g12 = s[4],
             &g22 = s[5];
  I128 det = g00 * (g11 * g22 - g12 * g12) - g01 * (g01 * g22 - g12 * g02) +
             g02 * (g01 * g12 - g11 * g02);
  cert.trace = double(int64_t(g00 + g11 + g22));
  if (det != 0) {
    cert.rank = 3;
    cert.det = double(det);
  } else if (g00 * g11 - g01 * g01 != 0 || g00 * g22 - g02 * g02 != 0 ||
             g11 * g22 - g12 * g12 != 0) {
    // A Gram matrix has rank r iff some r x r principal minor is non-zero.
    cert.rank = 2;
  } else {
    cert.rank = (g00 != 0 || g11 != 0 || g22 != 0) ? 1 : 0;
  }
#else
  (void)g;
  (void)range;
  (void)rows;
#endif
  return cert;
}

/// Cyclic Jacobi eigen-decomposition of a symmetric 3 x 3 matrix.
/// Eigenvalues come out descending; eigenvectors are the columns of the
/// row-major `vectors`.
void symmetricEigen3(const Sym3 g, double values[3], double vectors[9]) {
  double a[3][3] = {{g[0], g[1], g[2]}, {g[1], g[3], g[4]}, {g[2], g[4], g[5]}};
  double v[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  static const int kPairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
  for (int sweep = 0; sweep < 32; ++sweep) {
    bool rotated = false;
    for (const auto &pair : kPairs) {
      const int p = pair[0], q = pair[1], r = 3 - p - q;
      double apq = a[p][q];
      if (apq == 0.0)
        continue;
      // Relative criterion: small eigenvalues keep their relative accuracy.
      if (std::fabs(apq) <=
          DBL_EPSILON * std::sqrt(std::fabs(a[p][p] * a[q][q]))) {
        a[p][q] = a[q][p] = 0.0;
        continue;
      }
      rotated = true;
      double theta = (a[q][q] - a[p][p]) / (2.0 * apq);
      double t = std::fabs(theta) > 1e150
                     ? 0.5 / theta
                     : std::copysign(1.0, theta) /
                           (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
      double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
      double arp = a[r][p], arq = a[r][q];
      a[p][p] -= t * apq;
      a[q][q] += t * apq;
      a[p][q] = a[q][p] = 0.0;
      a[r][p] = a[p][r] = c * arp - s * arq;
      a[r][q] = a[q][r] = s * arp + c * arq;
      for (auto &row : v) {
        double vp = row[p], vq = row[q];
        row[p] = c * vp - s * vq;
        row[q] = s * vp + c * vq;
      }
    }
    if (!rotated)
      break;
  }
  int order[3] = {0, 1, 2};
  std::stable_sort(order, order + 3,
                   [&](int x, int y) { return a[x][x] > a[y][y]; });
  for (int i = 0; i < 3; ++i) {
    values[i] = a[order[i]][order[i]];
    for (int k = 0; k < 3; ++k)
      vectors[k * 3 + i] = v[k][order[i]];
  }
}

/// Solve G X = R (3 right-hand sides) by Cholesky; false if G is not
/// numerically positive definite.
bool choleskySolve(const Sym3 g, const double r[9], double x[9]) {
  if (!(g[0] > 0.0))
    return false;
  const double l00 = std::sqrt(g[0]);
  const double l10 = g[1] / l00, l20 = g[2] / l00;
  const double d1 = g[3] - l10 * l10;
  if (!(d1 > 0.0))
    return false;
  const double l11 = std::sqrt(d1);
  const double l21 = (g[4] - l20 * l10) / l11;
  const double d2 = g[5] - l20 * l20 - l21 * l21;
  if (!(d2 > 0.0))
    return false;
  const double l22 = std::sqrt(d2);
  for (int j = 0; j < 3; ++j) {
    const double y0 = r[0 * 3 + j] / l00;
    const double y1 = (r[1 * 3 + j] - l10 * y0) / l11;
    const double y2 = (r[2 * 3 + j] - l20 * y0 - l21 * y1) / l22;
    const double x2 = y2 / l22;
    const double x1 = (y1 - l21 * x2) / l11;
    x[2 * 3 + j] = x2;
    x[1 * 3 + j] = x1;
    x[0 * 3 + j] = (y0 - l10 * x1 - l20 * x2) / l00;
  }
  return true;
}

/// B = pinv(C) A given G = C^T C and R = C^T A (3 x 3 row-major), keeping the
/// singular values sqrt(lambda) of C above rcond * sigma_max, within the
/// certified rank.
void basisFromNormal(const Sym3 g, const double r[9], int64_t rows,
                     double rcond, ExponentRange range, double b[9]) {
  const GramCertificate cert = certifyGram(g, range, rows);
  // Full rank, and lambda_min >= 4 det / trace^2 with lambda_max <= trace
  // proves sigma_min / sigma_max > rcond: nothing is dropped, so the plain
  // solve is the pseudo-inverse solution.
  if (cert.rank == 3 &&
      4.0 * cert.det > rcond * rcond * cert.trace * cert.trace * cert.trace &&
      choleskySolve(g, r, b))
    return;
  double values[3], vectors[9];
  symmetricEigen3(g, values, vectors);
  int rank = cert.rank;
  if (rank < 0) {
    // Uncertified: an eigenvalue within rounding of zero counts as zero.
    rank = 0;
    for (int i = 0; i < 3; ++i)
      if (values[i] > 16.0 * DBL_EPSILON * values[0])
        ++rank;
  }
  std::fill(b, b + 9, 0.0);
  const double sigmaMax = values[0] > 0.0 ? std::sqrt(values[0]) : 0.0;
  for (int i = 0; i < rank; ++i) {
    if (!(values[i] > 0.0) || std::sqrt(values[i]) <= rcond * sigmaMax)
      break;
    double w[3];
    for (int j = 0; j < 3; ++j)
      w[j] = (vectors[0 * 3 + i] * r[0 * 3 + j] +
              vectors[1 * 3 + i] * r[1 * 3 + j] +
              vectors[2 * 3 + i] * r[2 * 3 + j]) /
             values[i];
    for (int k = 0; k < 3; ++k)
      for (int j = 0; j < 3; ++j)
        b[k * 3 + j] += vectors[k * 3 + i] * w[j];
  }
}

/// Inverse of a 3 x 3 matrix by Gaussian elimination with partial pivoting;
/// false on an exactly zero pivot.
bool invert3x3(const double m[9], double out[9]) {
  double a[3][6];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      a[i][j] = m[i * 3 + j];
      a[i][3 + j] = i == j ? 1.0 : 0.0;
    }
  for (int col = 0; col < 3; ++col) {
    int pivot = col;
    for (int i = col + 1; i < 3; ++i)
      if (std::fabs(a[i][col]) > std::fabs(a[pivot][col]))
        pivot = i;
    if (a[pivot][col] == 0.0)
      return false;
    if (pivot != col)
      for (int j = 0; j < 6; ++j)
        std::swap(a[pivot][j], a[col][j]);
    for (int i = col + 1; i < 3; ++i) {
      const double f = a[i][col] / a[col][col];
      for (int j = col; j < 6; ++j)
        a[i][j] -= f * a[col][j];
    }
  }
  for (int col = 2; col >= 0; --col)
    for (int j = 3; j < 6; ++j) {
      double v = a[col][j];
      for (int k = col + 1; k < 3; ++k)
        v -= a[col][k] * out[k * 3 + (j - 3)];
      out[col * 3 + (j - 3)] = v / a[col][col];
    }
  return true;
}

/// pinv(M) for the basis: the plain inverse when ||M||_F ||M^-1||_F (>=
/// sigma_max / sigma_min) proves no singular value is at or below rcond *
/// sigma_max, else the SVD route.
void basisPseudoInverse(const double m[9], double rcond, double out[9]) {
  if (invert3x3(m, out)) {
    double nm = 0.0, ni = 0.0;
    for (int i = 0; i < 9; ++i) {
      nm += m[i] * m[i];
      ni += out[i] * out[i];
    }
    // The factor 4 leaves room for rounding in the computed inverse.
    if (std::isfinite(ni) && 4.0 * rcond * std::sqrt(nm * ni) < 1.0)
      return;
  }
  pseudoInverse3x3(m, rcond, out);
}

} // namespace

int pseudoInverse3x3(const double m[9], double rcond, double out[9]) {
  // One-sided (Hestenes) Jacobi: rotate columns of W = M V until they are
  // orthogonal; then M = U S V^T with S = column norms of W.
  double w[3][3], v[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      w[i][j] = m[i * 3 + j];
  static const int kPairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
  for (int sweep = 0; sweep < 32; ++sweep) {
    bool rotated = false;
    for (const auto &pair : kPairs) {
      const int p = pair[0], q = pair[1];
      double alpha = 0, beta = 0, gamma = 0;
      for (int i = 0; i < 3; ++i) {
        alpha += w[i][p] * w[i][p];
        beta += w[i][q] * w[i][q];
        gamma += w[i][p] * w[i][q];
      }
      if (gamma == 0.0 ||
          std::fabs(gamma) <= DBL_EPSILON * std::sqrt(alpha * beta))
        continue;
      rotated = true;
      double zeta = (beta - alpha) / (2.0 * gamma);
      double t = std::fabs(zeta) > 1e150
                     ? 0.5 / zeta
                     : std::copysign(1.0, zeta) /
                           (std::fabs(zeta) + std::sqrt(1.0 + zeta * zeta));
      double c = 1.0 / std::sqrt(1.0 + t * t), s = c * t;
      for (int i = 0; i < 3; ++i) {
        double wp = w[i][p], wq = w[i][q];
        w[i][p] = c * wp - s * wq;
        w[i][q] = s * wp + c * wq;
        double vp = v[i][p], vq = v[i][q];
        v[i][p] = c * vp - s * vq;
        v[i][q] = s * vp + c * vq;
      }
    }
    if (!rotated)
      break;
  }
  double sigma2[3], sigmaMax = 0.0;
  for (int j = 0; j < 3; ++j) {
    sigma2[j] = w[0][j] * w[0][j] + w[1][j] * w[1][j] + w[2][j] * w[2][j];
    sigmaMax = std::max(sigmaMax, std::sqrt(sigma2[j]));
  }
  std::fill(out, out + 9, 0.0);
  int rank = 0;
  for (int j = 0; j < 3; ++j) {
    if (!(sigma2[j] > 0.0) || std::sqrt(sigma2[j]) <= rcond * sigmaMax)
      continue;
    ++rank;
    // pinv = V S^-1 U^T and U S = W, so each term is v_j w_j^T / s_j^2.
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c)
        out[r * 3 + c] += v[r][j] * w[c][j] / sigma2[j];
  }
  return rank;
}

void leastSquares3(const double *c, const double *a, int64_t rows, double rcond,
                   ExponentRange range, double x[9]) {
  Sym3 g = {0, 0, 0, 0, 0, 0};
  double r[9] = {0};
  for (int64_t i = 0; i < rows; ++i) {
    const double *ci = c + i * 3, *ai = a + i * 3;
    g[0] += ci[0] * ci[0];
    g[1] += ci[0] * ci[1];
    g[2] += ci[0] * ci[2];
    g[3] += ci[1] * ci[1];
    g[4] += ci[1] * ci[2];
    g[5] += ci[2] * ci[2];
    for (int k = 0; k < 3; ++k)
      for (int j = 0; j < 3; ++j)
        r[k * 3 + j] += ci[k] * ai[j];
  }
  basisFromNormal(g, r, rows, rcond, range, x);
}

//===----------------------------------------------------------------------===//
// Row kernels
//===----------------------------------------------------------------------===//
//
// The per-row work of one iteration runs on 4-lane vectors (GCC/Clang vector
// extensions, lowered to SSE2 or AVX2). Sums are kept per lane and combined
// in a fixed order at the end, so the result is the same bytes whatever the
// instruction set and whatever thread runs the block.

namespace {

typedef double V4d __attribute__((vector_size(32)));
typedef uint64_t V4u __attribute__((vector_size(32)));

// SD_COMPRESSION_NO_CLONES builds only the baseline kernels (to check that
// both clones give the same bytes, or for platforms without ifunc).
#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute) &&   \
    !defined(SD_COMPRESSION_NO_CLONES)
#if __has_attribute(target_clones)
#define SD_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef SD_CLONES
#define SD_CLONES
#endif

// The vector helpers are macros, not inline functions: Clang rejects passing
// 256-bit vectors between an AVX2 clone and a function compiled without AVX,
// even one that would be inlined.
#define SD_SPLAT(x) (V4d{(x), (x), (x), (x)})
#define SD_SPLAT_U(x) (V4u{(x), (x), (x), (x)})
#define SD_LOAD4(p)                                                            \
  ({                                                                           \
    V4d loaded_;                                                               \
    std::memcpy(&loaded_, (p), sizeof(loaded_));                               \
    loaded_;                                                                   \
  })
#define SD_STORE4(p, v)                                                        \
  do {                                                                         \
    const V4d stored_ = (v);                                                   \
    std::memcpy((p), &stored_, sizeof(stored_));                               \
  } while (false)
#define SD_ABS4(v) ((V4d)((V4u)(v)&SD_SPLAT_U(~kSignBit)))
/// Lanes of `v` where `mask` is set become zero.
#define SD_ZERO_WHERE(v, mask) ((V4d)((V4u)(v) & ~(mask)))
/// Fixed-order sum of the lanes of a vector variable.
#define SD_SUM_LANES(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3]))
/// Q on 4 lanes (see Quantizer), with the range as vectors lo and hi.
#define SD_QUANTIZE4(value, lo, hi)                                            \
  ({                                                                           \
    const V4u bits_ = (V4u)(value);                                            \
    V4d mag_ =                                                                 \
        (V4d)(((bits_ & SD_SPLAT_U(~kSignBit)) + SD_SPLAT_U(kRoundUpBias)) &   \
              SD_SPLAT_U(kExponentBits));                                      \
    const V4u over_ = (V4u)(mag_ > (hi));                                      \
    mag_ = (V4d)(((V4u)mag_ & ~over_) | ((V4u)(hi)&over_));                    \
    mag_ = SD_ZERO_WHERE(mag_, (V4u)(mag_ < (lo)));                            \
    (V4d)((V4u)mag_ |                                                          \
          (bits_ & SD_SPLAT_U(kSignBit) & (V4u)(mag_ != SD_SPLAT(0.0))));      \
  })

/// e = A pinv(B) row by row, then row and entry thresholds, then frozen rows
/// forced to zero (keep = 0). `rows` is a multiple of 4.
SD_CLONES void ceRows(int64_t rows, const double *a0, const double *a1,
                      const double *a2, const double *keep, const double *p,
                      double entryLimit, double rowLimit, double *e0,
                      double *e1, double *e2) {
  const V4d entry = SD_SPLAT(entryLimit), row = SD_SPLAT(rowLimit);
  for (int64_t i = 0; i < rows; i += 4) {
    const V4d x0 = SD_LOAD4(a0 + i), x1 = SD_LOAD4(a1 + i),
              x2 = SD_LOAD4(a2 + i);
    V4d y0 = x0 * p[0] + x1 * p[3] + x2 * p[6];
    V4d y1 = x0 * p[1] + x1 * p[4] + x2 * p[7];
    V4d y2 = x0 * p[2] + x1 * p[5] + x2 * p[8];
    const V4u small = (V4u)(SD_ABS4(y0) + SD_ABS4(y1) + SD_ABS4(y2) < row);
    y0 = SD_ZERO_WHERE(y0, small | (V4u)(SD_ABS4(y0) < entry));
    y1 = SD_ZERO_WHERE(y1, small | (V4u)(SD_ABS4(y1) < entry));
    y2 = SD_ZERO_WHERE(y2, small | (V4u)(SD_ABS4(y2) < entry));
    const V4d k = SD_LOAD4(keep + i);
    SD_STORE4(e0 + i, y0 * k);
    SD_STORE4(e1 + i, y1 * k);
    SD_STORE4(e2 + i, y2 * k);
  }
}

/// C^ = Q(e * scale) per column, ||C^ - C^_prev||^2 and G = C^T C.
SD_CLONES void roundRows(int64_t rows, const double *e0, const double *e1,
                         const double *e2, const double *scale, double minC,
                         double maxC, double *c0, double *c1, double *c2,
                         double *diffOut, double *gOut) {
  const V4d lo = SD_SPLAT(minC), hi = SD_SPLAT(maxC);
  const V4d s0 = SD_SPLAT(scale[0]), s1 = SD_SPLAT(scale[1]),
            s2 = SD_SPLAT(scale[2]);
  V4d diff = SD_SPLAT(0), g00 = diff, g01 = diff, g02 = diff, g11 = diff,
      g12 = diff, g22 = diff;
  for (int64_t i = 0; i < rows; i += 4) {
    const V4d q0 = SD_QUANTIZE4(SD_LOAD4(e0 + i) * s0, lo, hi);
    const V4d q1 = SD_QUANTIZE4(SD_LOAD4(e1 + i) * s1, lo, hi);
    const V4d q2 = SD_QUANTIZE4(SD_LOAD4(e2 + i) * s2, lo, hi);
    const V4d d0 = q0 - SD_LOAD4(c0 + i), d1 = q1 - SD_LOAD4(c1 + i),
              d2 = q2 - SD_LOAD4(c2 + i);
    diff += d0 * d0 + d1 * d1 + d2 * d2;
    SD_STORE4(c0 + i, q0);
    SD_STORE4(c1 + i, q1);
    SD_STORE4(c2 + i, q2);
    g00 += q0 * q0;
    g01 += q0 * q1;
    g02 += q0 * q2;
    g11 += q1 * q1;
    g12 += q1 * q2;
    g22 += q2 * q2;
  }
  *diffOut = SD_SUM_LANES(diff);
  gOut[0] = SD_SUM_LANES(g00);
  gOut[1] = SD_SUM_LANES(g01);
  gOut[2] = SD_SUM_LANES(g02);
  gOut[3] = SD_SUM_LANES(g11);
  gOut[4] = SD_SUM_LANES(g12);
  gOut[5] = SD_SUM_LANES(g22);
}

/// R = C^T A.
SD_CLONES void crossRows(int64_t rows, const double *c0, const double *c1,
                         const double *c2, const double *a0, const double *a1,
                         const double *a2, double *rOut) {
  V4d r00 = SD_SPLAT(0), r01 = r00, r02 = r00, r10 = r00, r11 = r00, r12 = r00,
      r20 = r00, r21 = r00, r22 = r00;
  for (int64_t i = 0; i < rows; i += 4) {
    const V4d q0 = SD_LOAD4(c0 + i), q1 = SD_LOAD4(c1 + i),
              q2 = SD_LOAD4(c2 + i);
    const V4d x0 = SD_LOAD4(a0 + i), x1 = SD_LOAD4(a1 + i),
              x2 = SD_LOAD4(a2 + i);
    r00 += q0 * x0;
    r01 += q0 * x1;
    r02 += q0 * x2;
    r10 += q1 * x0;
    r11 += q1 * x1;
    r12 += q1 * x2;
    r20 += q2 * x0;
    r21 += q2 * x1;
    r22 += q2 * x2;
  }
  rOut[0] = SD_SUM_LANES(r00);
  rOut[1] = SD_SUM_LANES(r01);
  rOut[2] = SD_SUM_LANES(r02);
  rOut[3] = SD_SUM_LANES(r10);
  rOut[4] = SD_SUM_LANES(r11);
  rOut[5] = SD_SUM_LANES(r12);
  rOut[6] = SD_SUM_LANES(r20);
  rOut[7] = SD_SUM_LANES(r21);
  rOut[8] = SD_SUM_LANES(r22);
}

} // namespace

//===----------------------------------------------------------------------===//
// One block
//===----------------------------------------------------------------------===//

namespace {

/// What one pass over the rows of a block produces.
struct Normal {
  Sym3 g;      ///< C^T C, exact.
  double r[9]; ///< C^T A.
  double diff; ///< ||C^ - C^_prev||_F^2 (exact: differences of powers of 2).
};

/// Reusable workspace for one block. Columns are stored separately and padded
/// to a multiple of 4 rows (padding rows are zero and frozen, so they add
/// nothing to any sum).
class BlockSolver {
public:
  explicit BlockSolver(const DecomposeOptions &options)
      : opt(options), minC(std::ldexp(1.0, options.range.minExp)),
        maxC(std::ldexp(1.0, options.range.maxExp)) {}

  /// Make room for `rows` rows: A zeroed, every row free (keep = 1).
  void reset(int64_t rows);
  double *columnA(int k) { return a[k]; }
  double *keepFlags() { return keep; }
  const double *columnC(int k) const { return c[k]; }

  /// Decompose the loaded block.
  void run(BlockDecomposition &out);

private:
  bool attempt(double theta, bool allowRestart, BlockDecomposition &out);
  bool pass(const double p[9], bool threshold, double theta, bool allowRestart,
            Normal &n);
  bool columnScales(bool allowRestart, double scale[3]) const;
  double error(const double b[9]) const;

  const DecomposeOptions &opt;
  const double minC, maxC;
  int64_t m = 0, padded = 0;
  std::vector<double> storage;
  double *a[3] = {nullptr, nullptr, nullptr}; // A, by column
  double *c[3] = {nullptr, nullptr, nullptr}; // C^, by column
  double *e[3] = {nullptr, nullptr, nullptr}; // Ce, by column
  double *keep = nullptr;
};

void BlockSolver::reset(int64_t rows) {
  m = rows;
  padded = std::max<int64_t>((rows + 3) / 4 * 4, 4);
  const size_t stride = size_t(padded);
  if (storage.size() < 10 * stride)
    storage.resize(10 * stride);
  double *base = storage.data();
  for (int k = 0; k < 3; ++k) {
    a[k] = base + k * stride;
    c[k] = base + (3 + k) * stride;
    e[k] = base + (6 + k) * stride;
  }
  keep = base + 9 * stride;
  std::fill(base, base + 6 * stride, 0.0);
  std::fill(keep, keep + stride, 0.0);
  std::fill(keep, keep + rows, 1.0);
}

bool BlockSolver::columnScales(bool allowRestart, double scale[3]) const {
  for (int k = 0; k < 3; ++k) {
    double logSum = 0.0;
    int64_t count = 0;
    for (int64_t i = 0; i < m; ++i) {
      const double v = e[k][i];
      if (v == 0.0)
        continue;
      const double l = std::log2(std::fabs(v));
      logSum += std::nearbyint(l) - l; // round half to even, like np.round
      ++count;
    }
    if (count == 0 && allowRestart)
      return false;
    scale[k] = count ? std::pow(2.0, logSum / double(count)) : 1.0;
  }
  return true;
}

bool BlockSolver::pass(const double p[9], bool threshold, double theta,
                       bool allowRestart, Normal &n) {
  // Limits of 0 disable a threshold: |x| < 0 never holds.
  const double entryLimit = threshold ? theta : 0.0;
  const double rowLimit =
      threshold && opt.rowThreshold ? opt.rowThresholdFactor * theta : 0.0;
  ceRows(padded, a[0], a[1], a[2], keep, p, entryLimit, rowLimit, e[0], e[1],
         e[2]);
  double scale[3] = {1.0, 1.0, 1.0};
  if (opt.columnScale && !columnScales(allowRestart, scale))
    return false;
  roundRows(padded, e[0], e[1], e[2], scale, minC, maxC, c[0], c[1], c[2],
            &n.diff, n.g);
  crossRows(padded, c[0], c[1], c[2], a[0], a[1], a[2], n.r);
  return true;
}

double BlockSolver::error(const double b[9]) const {
  double sum = 0.0;
  for (int64_t i = 0; i < m; ++i) {
    const double q[3] = {c[0][i], c[1][i], c[2][i]};
    for (int j = 0; j < 3; ++j) {
      double d = a[j][i] - (q[0] * b[0 * 3 + j] + q[1] * b[1 * 3 + j] +
                            q[2] * b[2 * 3 + j]);
      sum += d * d;
    }
  }
  return std::sqrt(sum);
}

bool BlockSolver::attempt(double theta, bool allowRestart,
                          BlockDecomposition &out) {
  static const double kIdentity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  out.trace.clear();
  // A fresh start: C^_prev is all zero, and the first diff is ignored.
  std::fill(c[0], c[0] + padded, 0.0);
  std::fill(c[1], c[1] + padded, 0.0);
  std::fill(c[2], c[2] + padded, 0.0);
  Normal n;
  // Ce starts as A itself: no threshold before the first rounding.
  if (!pass(kIdentity, /*threshold=*/false, theta, allowRestart, n))
    return false;
  const int last = std::max(opt.iterations, 1) - 1;
  double b[9], p[9];
  for (int t = 0;; ++t) {
    bool stop = t >= last;
    bool converged = false;
    if (!stop && t > 0 && std::sqrt(n.diff) <= opt.tolerance)
      stop = converged = true;
    basisFromNormal(n.g, n.r, padded, opt.rcond, opt.range, b);
    if (opt.recordTrace)
      out.trace.push_back(error(b));
    if (stop) {
      out.iterations = t;
      out.converged = converged;
      std::copy(b, b + 9, out.basis.begin());
      return true;
    }
    basisPseudoInverse(b, opt.rcond, p);
    if (!pass(p, /*threshold=*/true, theta, allowRestart, n))
      return false;
  }
}

void BlockSolver::run(BlockDecomposition &out) {
  double theta = opt.threshold;
  int restarts = 0;
  while (!attempt(theta, restarts < opt.maxRestarts, out)) {
    theta *= opt.thresholdDecay;
    ++restarts;
  }
  out.rows = m;
  out.restarts = restarts;
  out.threshold = theta;
}

} // namespace

BlockDecomposition decomposeBlock(const double *a, int64_t rows,
                                  const DecomposeOptions &options,
                                  const uint8_t *frozenRows) {
  BlockSolver solver(options);
  solver.reset(rows);
  for (int64_t i = 0; i < rows; ++i) {
    for (int k = 0; k < 3; ++k)
      solver.columnA(k)[i] = a[i * 3 + k];
    if (frozenRows && frozenRows[i])
      solver.keepFlags()[i] = 0.0;
  }
  BlockDecomposition out;
  solver.run(out);
  out.ce.resize(size_t(rows) * 3);
  for (int64_t i = 0; i < rows; ++i)
    for (int k = 0; k < 3; ++k)
      out.ce[i * 3 + k] = solver.columnC(k)[i];
  return out;
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

std::string DecomposeOptions::verify() const {
  std::ostringstream os;
  if (!(threshold >= 0.0) || !std::isfinite(threshold))
    os << "threshold must be finite and >= 0, got " << threshold;
  else if (iterations < 1)
    os << "iterations must be >= 1, got " << iterations;
  else if (!(tolerance >= 0.0) || !(rcond >= 0.0))
    os << "tolerance and rcond must be >= 0";
  else if (!range.isValid() || range.minExp < -1000 || range.maxExp > 1000)
    os << "exponent range [" << range.minExp << ", " << range.maxExp
       << "] must be ordered and within [-1000, 1000]";
  else if (range.levels() > 127)
    os << "exponent range has " << range.levels()
       << " levels; int8 codes hold at most 127";
  else if (!(rowThresholdFactor >= 0.0))
    os << "rowThresholdFactor must be >= 0";
  else if (!(thresholdDecay > 0.0 && thresholdDecay <= 1.0))
    os << "thresholdDecay must be in (0, 1], got " << thresholdDecay;
  else if (maxRestarts < 0)
    os << "maxRestarts must be >= 0";
  else if (maxBlockRows < 1 || maxBlockRows > kMaxWeightElements)
    os << "block-rows must be in [1, " << kMaxWeightElements << "], got "
       << maxBlockRows;
  else if (!(structuredFraction >= 0.0 && structuredFraction <= 1.0))
    os << "structured-fraction must be in [0, 1], got " << structuredFraction;
  else if (structuredGroupSize < 1)
    os << "structuredGroupSize must be >= 1";
  return os.str();
}

//===----------------------------------------------------------------------===//
// Whole weights
//===----------------------------------------------------------------------===//

std::vector<float> decodeCodes(const std::vector<int8_t> &codes,
                               ExponentRange range) {
  // Every int8 code, decoded once (invalid codes decode as garbage, as in
  // decodeCode; the decomposition never produces them).
  float table[256];
  for (int code = -128; code < 128; ++code)
    table[code & 0xFF] =
        isValidCode(code, range) ? float(decodeCode(code, range)) : NAN;
  std::vector<float> values(codes.size());
  for (size_t i = 0; i < codes.size(); ++i)
    values[i] = table[uint8_t(codes[i])];
  return values;
}

/// Codes of one column of C^ (rows values, written with stride 3), counting
/// them in `histogram` (slot 0: zeros, slot l: code magnitude l). C^ holds
/// only zeros and +-2^p with p in range, so the exponent is read off the bits.
static void columnCodes(int64_t rows, const double *column, ExponentRange range,
                        int8_t *codes, int64_t *histogram) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t bits = bitsOf(column[r]);
    const int biased = int((bits >> 52) & 0x7FF);
    const int code =
        biased == 0 ? 0
                    : encodeCode((bits >> 63) ? -1 : 1, biased - 1023, range);
    ++histogram[code < 0 ? -code : code];
    codes[r * kBasisSize] = int8_t(code);
  }
}

/// sqrt(errorSq / normSq), 0 for 0 / 0.
static double relativeError(double errorSq, double normSq) {
  if (normSq == 0.0)
    return errorSq == 0.0 ? 0.0 : INFINITY;
  return std::sqrt(errorSq / normSq);
}

/// Threads to use for `tasks` independent tasks (0 requested: all cores).
static unsigned workerCount(unsigned requested, int64_t tasks) {
  unsigned threads =
      requested ? requested : std::thread::hardware_concurrency();
  return unsigned(std::clamp<int64_t>(threads, 1, std::max<int64_t>(tasks, 1)));
}

/// Run `worker` on `threads` threads (inline for one) and wait for all.
template <typename Worker>
static void runWorkers(unsigned threads, Worker &worker) {
  if (threads <= 1) {
    worker();
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back(std::ref(worker));
  for (std::thread &thread : pool)
    thread.join();
}

DecomposedWeight decomposeWeight(const float *weight,
                                 const std::vector<int64_t> &shape,
                                 const DecomposeOptions &options) {
  DecomposedWeight out;
  if (std::string why = options.verify(); !why.empty()) {
    out.error = why;
    return out;
  }
  out.layout = BlockLayout::canonical(shape, options.maxBlockRows);
  const BlockLayout &layout = out.layout;
  if (std::string why = layout.verify(); !why.empty()) {
    out.error = why;
    return out;
  }
  const int64_t numWeights = layout.numWeights();
  bool finite = true;
  for (int64_t i = 0; i < numWeights; ++i) // no early exit: vectorizes
    finite &= std::fabs(weight[i]) <= FLT_MAX;
  if (!finite) {
    int64_t i = 0;
    while (std::isfinite(weight[i]))
      ++i;
    out.error =
        "weight holds a non-finite value at flat index " + std::to_string(i);
    return out;
  }

  // Structured pruning zeroes rows before decomposing and freezes them.
  const float *target = weight;
  std::vector<float> pruned;
  RowPruningMask mask;
  if (options.structuredFraction > 0.0) {
    mask = selectStructuredRows(weight, layout, options.structuredFraction,
                                options.structuredGroupSize);
    pruned.assign(weight, weight + numWeights);
    applyRowPruning(pruned.data(), layout, mask);
    target = pruned.data();
    out.prunedRows = mask.mask;
    out.stats.pruningGroups = mask.numGroups();
    out.stats.prunedRowsPerGroup = mask.prunedPerGroup;
  }

  const int64_t numOutputs = layout.numOutputs();
  const int64_t numBlocks = layout.numBlocks, blockRows = layout.blockRows;
  const int64_t rowLength = layout.rowLength(), usedRows = layout.usedRows();
  const int64_t totalBlocks = numOutputs * numBlocks;
  const ExponentRange range = options.range;
  out.codes.assign(size_t(layout.numCodes()), 0);
  out.basis.assign(size_t(layout.numBasis()), 0.0f);
  DecomposeStats &stats = out.stats;
  stats.iterations.assign(size_t(totalBlocks), 0);
  stats.restarts.assign(size_t(totalBlocks), 0);
  std::vector<uint8_t> converged(size_t(totalBlocks), 0);
  const int traceLength = std::max(options.iterations, 1);
  std::vector<double> traceSq;
  if (options.recordTrace)
    traceSq.assign(size_t(totalBlocks) * traceLength, 0.0);

  // Blocks are independent and each writes only its own slots, so the bytes
  // produced do not depend on how blocks are spread over threads.
  constexpr int64_t kChunk = 16;
  const int64_t numChunks = (totalBlocks + kChunk - 1) / kChunk;
  std::atomic<int64_t> nextChunk{0};
  // Per-thread exponent counts ([levels + 1], slot 0 counts zeros); integer
  // sums, so merging them in any order gives the same statistics.
  std::vector<std::vector<int64_t>> histograms;
  std::mutex histogramsLock;
  auto worker = [&]() {
    BlockSolver solver(options);
    BlockDecomposition result;
    std::vector<int64_t> histogram(size_t(range.levels()) + 1, 0);
    for (int64_t chunk; (chunk = nextChunk.fetch_add(1)) < numChunks;) {
      const int64_t end = std::min(totalBlocks, (chunk + 1) * kChunk);
      for (int64_t id = chunk * kChunk; id < end; ++id) {
        const int64_t o = id / numBlocks, blk = id % numBlocks;
        solver.reset(blockRows);
        double *keep = solver.keepFlags();
        double *a0 = solver.columnA(0), *a1 = solver.columnA(1),
               *a2 = solver.columnA(2);
        const float *source = target + o * rowLength;
        for (int64_t r = 0; r < blockRows; ++r) {
          const int64_t row = blk * blockRows + r;
          if (row >= usedRows) {
            keep[r] = 0.0; // padding rows stay zero
            continue;
          }
          if (mask.isPruned(o, row))
            keep[r] = 0.0; // already zero in the pruned target
          const int64_t at = row * kBasisSize;
          if (at + 2 < rowLength) {
            a0[r] = source[at];
            a1[r] = source[at + 1];
            a2[r] = source[at + 2];
          } else {
            a0[r] = source[at];
            a1[r] = at + 1 < rowLength ? source[at + 1] : 0.0;
          }
        }
        solver.run(result);
        int8_t *codes = &out.codes[size_t(id * blockRows * kBasisSize)];
        for (int k = 0; k < 3; ++k)
          columnCodes(blockRows, solver.columnC(k), range, codes + k,
                      histogram.data());
        float *basis = &out.basis[size_t(id * 9)];
        for (int k = 0; k < 9; ++k)
          basis[k] = float(result.basis[k]);
        stats.iterations[id] = result.iterations;
        stats.restarts[id] = result.restarts;
        converged[id] = result.converged;
        if (options.recordTrace) {
          double *trace = &traceSq[size_t(id) * traceLength];
          for (int t = 0; t < traceLength; ++t) {
            double err =
                result.trace[std::min<size_t>(t, result.trace.size() - 1)];
            trace[t] = err * err;
          }
        }
      }
    }
    std::lock_guard<std::mutex> guard(histogramsLock);
    histograms.push_back(std::move(histogram));
  };
  runWorkers(workerCount(options.numThreads, numChunks), worker);

  // Statistics, reduced in a fixed order.
  stats.numCodes = int64_t(out.codes.size());
  stats.exponentHistogram.assign(size_t(range.levels()), 0);
  for (const std::vector<int64_t> &histogram : histograms)
    for (int level = 0; level < range.levels(); ++level)
      stats.exponentHistogram[level] += histogram[level + 1];
  for (int64_t count : stats.exponentHistogram)
    stats.nnz += count;
  for (uint8_t flag : converged)
    stats.convergedBlocks += flag;

  // The error of rebuildDense, computed on fixed slices of outputs (so the
  // sums do not depend on the thread count) in parallel.
  const int64_t sliceOutputs = std::max<int64_t>(
      1, (int64_t(1) << 16) / std::max<int64_t>(rowLength, 1));
  const int64_t numSlices = (numOutputs + sliceOutputs - 1) / sliceOutputs;
  std::vector<double> sums(size_t(numSlices) * 4, 0.0);
  std::atomic<int64_t> nextSlice{0};
  auto errorWorker = [&]() {
    for (int64_t slice; (slice = nextSlice.fetch_add(1)) < numSlices;) {
      const int64_t first = slice * sliceOutputs;
      const int64_t count = std::min(sliceOutputs, numOutputs - first);
      BlockLayout part = layout;
      part.shape[0] = count;
      const size_t codesPer = size_t(layout.paddedRows() * kBasisSize);
      const size_t basisPer = size_t(numBlocks * kBasisSize * kBasisSize);
      std::vector<int8_t> codes(out.codes.begin() + first * codesPer,
                                out.codes.begin() + (first + count) * codesPer);
      std::vector<float> basis(out.basis.begin() + first * basisPer,
                               out.basis.begin() + (first + count) * basisPer);
      std::vector<float> rebuilt =
          rebuildDense(part, decodeCodes(codes, range), basis);
      const float *w = weight + first * rowLength;
      const float *p = target + first * rowLength;
      double *sum = &sums[size_t(slice) * 4];
      for (size_t i = 0; i < rebuilt.size(); ++i) {
        const double dw = double(w[i]) - rebuilt[i];
        const double dp = double(p[i]) - rebuilt[i];
        sum[0] += dw * dw;
        sum[1] += double(w[i]) * w[i];
        sum[2] += dp * dp;
        sum[3] += double(p[i]) * p[i];
      }
    }
  };
  runWorkers(workerCount(options.numThreads, numSlices), errorWorker);
  double total[4] = {0, 0, 0, 0};
  for (int64_t slice = 0; slice < numSlices; ++slice)
    for (int k = 0; k < 4; ++k)
      total[k] += sums[size_t(slice) * 4 + k];
  stats.relativeError = relativeError(total[0], total[1]);
  stats.relativeErrorToPruned = relativeError(total[2], total[3]);
  if (options.recordTrace) {
    const double norm = total[3];
    stats.trace.assign(size_t(traceLength), 0.0);
    for (int64_t id = 0; id < totalBlocks; ++id)
      for (int t = 0; t < traceLength; ++t)
        stats.trace[t] += traceSq[size_t(id) * traceLength + t];
    for (double &v : stats.trace)
      v = norm > 0.0 ? std::sqrt(v / norm) : 0.0;
  }
  return out;
}

} // namespace sd::compression
