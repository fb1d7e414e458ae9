//===- Decompose.h - SmartExchange Ce*B decomposition -----------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The SmartExchange alternating minimization (ALGORITHM.md section 1) as the
// authors' reference code runs it, for one m x 3 block and for a whole weight
// in the canonical BlockLayout. For one block A:
//
//   B = I, Ce = A
//   for t = 0 .. iternum-2:
//     C^ = Q(Ce)                      power-of-two rounding, see below
//     if t > 0 and ||C^ - C^_prev||_F <= tol: stop
//     B  = argmin_B ||A - C^ B||_F     min-norm least squares, rcond
//     Ce = argmin_C ||A - C B||_F      (= A pinv(B))
//     [zero rows of Ce with sum_k |Ce_ik| < 5 theta]   (rowThreshold)
//     zero entries with |Ce_ik| < theta
//   C^ = Q(Ce); B = argmin_B ||A - C^ B||_F
//
// Q(v) = sign(v) * pow2(|v|) for v != 0, where pow2 picks the nearer of the
// two enclosing powers of two by linear distance and the smaller one on a tie
// (|v| = 1.5 * 2^k -> 2^k). Then the exponent range applies: results above
// 2^maxExp are clipped to 2^maxExp (the reference's maxC = 32 is maxExp = 5)
// and results below 2^minExp become zero (so |v| <= 0.75 * 2^minExp -> 0).
//
// Everything runs in double; least squares use an exact-rank-aware
// pseudo-inverse of the (exactly computed) 3 x 3 normal matrix for the tall
// factor and a one-sided Jacobi SVD for the 3 x 3 basis, so no LAPACK is
// needed. Results do not depend on the number of threads. docs/
// decomposition.md states every rule and guarantee in full.
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_DECOMPOSE_H
#define SD_COMPRESSION_DECOMPOSE_H

#include "SD/Compression/Codes.h"
#include "SD/Compression/Layout.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sd::compression {

/// Every knob of the decomposition. Defaults are the reference code's
/// inference settings (training uses threshold 4e-3).
struct DecomposeOptions {
  /// theta: after every Ce update, entries with |Ce| < theta become zero.
  double threshold = 1e-3;
  /// iternum: at most iterations - 1 alternating steps, then a final B solve.
  int iterations = 30;
  /// Stop once ||C^_t - C^_{t-1}||_F <= tolerance (t > 0).
  double tolerance = 1e-10;
  /// Least squares treat singular values <= rcond * largest as zero.
  double rcond = 1e-10;
  /// Exponents a Ce entry may take; 2^maxExp is the reference's maxC.
  ExponentRange range;
  /// Zero whole rows of Ce whose L1 norm is below rowThresholdFactor * theta
  /// (the reference's threshold_row; off for fully connected layers).
  bool rowThreshold = false;
  double rowThresholdFactor = 5.0;
  /// decompose_scale: before Q, scale column k of Ce by
  /// 2^mean(round(log2|c|) - log2|c|) over its non-zeros.
  bool columnScale = false;
  /// With columnScale, a block whose Ce has an all-zero column restarts with
  /// threshold *= thresholdDecay, at most maxRestarts times; after that the
  /// empty column gets scale 1.
  double thresholdDecay = 0.5;
  int maxRestarts = 8;
  /// Blocks of at most this many rows of 3 (canonical BlockLayout).
  int64_t maxBlockRows = kDefaultMaxBlockRows;
  /// SmartDeal structured pruning: fraction of rows of 3 zeroed per group of
  /// structuredGroupSize output filters before decomposing (0 = off).
  double structuredFraction = 0.0;
  int64_t structuredGroupSize = 32;
  /// Record the reconstruction error after every B solve.
  bool recordTrace = false;
  /// Worker threads for whole-weight decomposition; 0 = all hardware threads.
  unsigned numThreads = 0;

  /// Empty when the options are usable, else a sentence saying why not.
  std::string verify() const;
};

/// pow2(v) for v > 0: the nearer of 2^(e-1) and 2^e (e = ceil(log2 v)) by
/// linear distance, 2^(e-1) on a tie. Exact; no range applied.
double roundToPowerOfTwo(double v);

/// Q for one value: 0 -> 0, else sign(v) * pow2(|v|) clipped to 2^maxExp and
/// flushed to zero below 2^minExp.
double quantizeCoefficient(double v, ExponentRange range);

/// Code (Codes.h) of a value returned by quantizeCoefficient.
int coefficientCode(double quantized, ExponentRange range);

/// Minimum-norm least squares X = argmin ||A - C X||_F for a tall C (rows x
/// 3) and A (rows x 3), both row-major; singular values of C <= rcond *
/// largest are dropped, as numpy.linalg.lstsq does. Exact in rank when every
/// entry of C is 0 or +-2^p with p in `range`; otherwise numerical rank.
void leastSquares3(const double *c, const double *a, int64_t rows, double rcond,
                   ExponentRange range, double x[9]);

/// Moore-Penrose pseudo-inverse of a 3 x 3 row-major matrix by one-sided
/// Jacobi SVD, dropping singular values <= rcond * largest. Returns the rank.
int pseudoInverse3x3(const double m[9], double rcond, double out[9]);

/// The result of decomposing one block.
struct BlockDecomposition {
  int64_t rows = 0;
  /// rows x 3 row-major; every entry is 0 or +-2^p with p in the range.
  std::vector<double> ce;
  /// 3 x 3 row-major basis, in double (whole weights store it as float).
  std::array<double, 9> basis{};
  /// Alternating steps taken (t at the stop, else iterations - 1).
  int iterations = 0;
  /// True when C^ stopped changing before the iteration limit.
  bool converged = false;
  /// columnScale restarts, and the threshold finally used.
  int restarts = 0;
  double threshold = 0.0;
  /// ||A - C^_t B_t||_F after every B solve (recordTrace only); the last
  /// entry is the final result's error.
  std::vector<double> trace;
};

/// Decompose one block `a` (rows x 3, row-major). Rows flagged non-zero in
/// `frozenRows` (may be null) are forced to zero in Ce in every iteration.
/// `options` must verify().
BlockDecomposition decomposeBlock(const double *a, int64_t rows,
                                  const DecomposeOptions &options,
                                  const uint8_t *frozenRows = nullptr);

/// Summary of a whole-weight decomposition.
struct DecomposeStats {
  /// Non-zero Ce codes, and all codes (padding included).
  int64_t nnz = 0;
  int64_t numCodes = 0;
  /// Non-zero codes per exponent, index p - range.minExp.
  std::vector<int64_t> exponentHistogram;
  /// Per block ([O, numBlocks] row-major): alternating steps and restarts.
  std::vector<int32_t> iterations;
  std::vector<int32_t> restarts;
  int64_t convergedBlocks = 0;
  /// Structured pruning: groups, and rows of 3 pruned in every filter.
  int64_t pruningGroups = 0;
  int64_t prunedRowsPerGroup = 0;
  /// ||W - rebuildDense||_F / ||W||_F against the original weight, and
  /// against the pruned weight that was actually decomposed.
  double relativeError = 0.0;
  double relativeErrorToPruned = 0.0;
  /// recordTrace: sqrt(sum over blocks of err_t^2) / ||W_pruned||_F per
  /// step t, a block that stopped early contributing its final error.
  std::vector<double> trace;
};

/// A weight in SmartExchange form.
struct DecomposedWeight {
  BlockLayout layout;
  /// Ce codes [O, numBlocks, blockRows, 3] (Codes.h, options.range).
  std::vector<int8_t> codes;
  /// B [O, numBlocks, 3, 3].
  std::vector<float> basis;
  /// Structured pruning mask [pruningGroups, usedRows] (1 = pruned); empty
  /// when structuredFraction is 0.
  std::vector<uint8_t> prunedRows;
  DecomposeStats stats;
  /// Empty on success, else why nothing was produced.
  std::string error;
};

/// Decompose a dense row-major float weight of `shape` ([O, ...]).
DecomposedWeight decomposeWeight(const float *weight,
                                 const std::vector<int64_t> &shape,
                                 const DecomposeOptions &options);

/// Decode codes into the float values rebuildDense() takes (codes outside
/// `range` decode to NaN).
std::vector<float> decodeCodes(const std::vector<int8_t> &codes,
                               ExponentRange range);

} // namespace sd::compression

#endif // SD_COMPRESSION_DECOMPOSE_H
