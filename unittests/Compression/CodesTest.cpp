//===- CodesTest.cpp - Tests of power-of-two coefficient codes ------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Codes.h"

#include "gtest/gtest.h"

using namespace sd::compression;

TEST(Codes, DecodeMatchesDefinition) {
  ExponentRange range{-8, 5};
  EXPECT_EQ(decodeCode(0, range), 0.0);
  EXPECT_EQ(decodeCode(1, range), 1.0 / 256.0); // 2^-8
  EXPECT_EQ(decodeCode(-1, range), -1.0 / 256.0);
  EXPECT_EQ(decodeCode(9, range), 1.0);   // 2^0
  EXPECT_EQ(decodeCode(14, range), 32.0); // 2^5
  EXPECT_EQ(decodeCode(-14, range), -32.0);
}

TEST(Codes, EncodeDecodeRoundTripsEveryCode) {
  for (ExponentRange range :
       {ExponentRange{-8, 5}, ExponentRange{-3, 3}, ExponentRange{0, 0}}) {
    for (int code = -range.levels(); code <= range.levels(); ++code) {
      ASSERT_TRUE(isValidCode(code, range));
      std::optional<int> back = encodeExact(decodeCode(code, range), range);
      ASSERT_TRUE(back.has_value()) << "code " << code;
      EXPECT_EQ(*back, code);
    }
    EXPECT_FALSE(isValidCode(range.levels() + 1, range));
    EXPECT_FALSE(isValidCode(-range.levels() - 1, range));
  }
}

TEST(Codes, EncodeRejectsNonPowersAndOutOfRange) {
  ExponentRange range{-8, 5};
  EXPECT_FALSE(encodeExact(3.0, range).has_value());
  EXPECT_FALSE(encodeExact(0.3, range).has_value());
  EXPECT_FALSE(encodeExact(64.0, range).has_value());        // 2^6
  EXPECT_FALSE(encodeExact(1.0 / 512.0, range).has_value()); // 2^-9
  EXPECT_EQ(encodeExact(-0.5, range), std::optional<int>(-8));
}

TEST(Codes, SignAndExponentHelpers) {
  ExponentRange range{-8, 5};
  EXPECT_EQ(encodeCode(+1, -8, range), 1);
  EXPECT_EQ(encodeCode(-1, 5, range), -14);
  EXPECT_EQ(codeExponent(-14, range), 5);
  EXPECT_EQ(codeExponent(1, range), -8);
}

TEST(Codes, MinCodeBits) {
  // The paper's 4-bit Ce: sign plus 7 magnitudes.
  EXPECT_EQ(minCodeBits(ExponentRange{-3, 3}), 4u);
  EXPECT_EQ(minCodeBits(ExponentRange{-6, 0}), 4u);
  EXPECT_EQ(minCodeBits(ExponentRange{-7, 0}), 5u); // 8 levels
  EXPECT_EQ(minCodeBits(ExponentRange{-8, 5}), 5u); // 14 levels
  EXPECT_EQ(minCodeBits(ExponentRange{0, 0}), 2u);
  EXPECT_EQ(minCodeBits(ExponentRange{-100, 26}), 8u); // 127 levels
}
