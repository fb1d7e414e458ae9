//===- QuantizeTest.cpp - Tests of the integer number format --------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Quantize.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace sd::compression;

TEST(Quantize, RoundHalfAway) {
  EXPECT_EQ(roundHalfAway(2.5), 3);
  EXPECT_EQ(roundHalfAway(-2.5), -3);
  EXPECT_EQ(roundHalfAway(2.4999), 2);
}

TEST(Quantize, FractionBits) {
  EXPECT_EQ(fractionBitsFor(1.0), 6);  // 64 <= 127 < 128
  EXPECT_EQ(fractionBitsFor(0.99), 7); // 126.7
  EXPECT_EQ(fractionBitsFor(127.0), 0);
  EXPECT_EQ(fractionBitsFor(200.0), -1); // 100
}

TEST(Quantize, RequantizationRange) {
  for (double m : {1e-6, 0.001, 0.3, 0.5, 1.0, 3.7, 4000.0}) {
    Requantization r;
    std::string error;
    ASSERT_TRUE(computeRequantization(m, r, error)) << m << ": " << error;
    EXPECT_GE(r.multiplier, 1 << 14) << m;
    EXPECT_LT(r.multiplier, 1 << 15) << m;
    EXPECT_GE(r.shift, 1);
    EXPECT_NEAR(r.multiplier * std::ldexp(1.0, -int(r.shift)), m, m * 1e-4);
  }
  Requantization r;
  std::string error;
  EXPECT_FALSE(computeRequantization(0.0, r, error));
  EXPECT_FALSE(computeRequantization(9000.0, r, error));
  EXPECT_NE(error.find("outside (0, 2^13)"), std::string::npos);
}

TEST(Quantize, RequantizeRoundsHalfUpAndSaturates) {
  Requantization r{1 << 14, 15};           // m = 0.5
  EXPECT_EQ(requantize(3, r, false), 2);   // 1.5 -> 2
  EXPECT_EQ(requantize(-3, r, false), -1); // -1.5 -> -1 (half up)
  EXPECT_EQ(requantize(1000, r, false), 127);
  EXPECT_EQ(requantize(-1000, r, false), -127);
  EXPECT_EQ(requantize(-10, r, true), 0);
}

TEST(Quantize, RebuildIntegerIsShiftsAndAdds) {
  int8_t codes[3] = {1, -3, 0};
  int8_t bq[3] = {5, 7, 100};
  // 5 << 0 - (7 << 2) = 5 - 28
  EXPECT_EQ(rebuildInteger(codes, bq), -23);
}

TEST(Quantize, LayerMatchesRealArithmetic) {
  // One output, B = identity-like; the integer pipeline must approximate the
  // real result within one output step.
  ExponentRange range{-8, 5};
  std::vector<float> basis = {0.5f, 0, 0, 0, 0.25f, 0, 0, 0, 1.0f};
  QuantizedLayer q = quantizeLayer(basis, {0.1f}, 1, range, 0.05, 0.02, false);
  ASSERT_TRUE(q.error.empty()) << q.error;
  EXPECT_EQ(q.fracBitsB, 6);
  EXPECT_EQ(q.basis[0], 32);
  // x = [10, -4, 7] (real 0.5, -0.2, 0.35), Ce row = [2^0, 2^1, -2^-1].
  int8_t codes[3] = {9, 10, -8};
  int64_t acc = q.bias[0];
  int8_t x[3] = {10, -4, 7};
  for (int j = 0; j < 3; ++j) {
    int8_t col[3] = {q.basis[0 * 3 + j], q.basis[1 * 3 + j],
                     q.basis[2 * 3 + j]};
    acc += int64_t(x[j]) * (rebuildInteger(codes, col) << 0);
  }
  double real = 0.1 + 0.5 * 0.5 * 1 + (-0.2) * 0.25 * 2 + 0.35 * 1.0 * -0.5;
  EXPECT_NEAR(requantize(acc, q.requant, false) * 0.02, real, 0.02);
}
