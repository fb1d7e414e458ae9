//===- PermDiagTest.cpp - Tests of the PermDNN projection -----------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/PermDiag.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace sd::compression;

TEST(PermDiag, RecoversAPermutedDiagonalWeightExactly) {
  // 6 x 8 with p = 4: blocks (0,0) k=1, (0,1) k=3, (1,0) k=0, (1,1) k=2,
  // padded to 8 x 8.
  int64_t rows = 6, cols = 8, p = 4;
  int32_t k[2][2] = {{1, 3}, {0, 2}};
  std::vector<float> w(rows * cols, 0.0f);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int c = 0; c < p; ++c)
        if (i * p + c < rows)
          w[(i * p + c) * cols + j * p + (c + k[i][j]) % p] =
              float(1 + i * 8 + j * 4 + c);
  PermDiagWeight pd = projectPermDiag(w.data(), rows, cols, p);
  ASSERT_TRUE(pd.error.empty());
  EXPECT_EQ(pd.rowBlocks, 2);
  EXPECT_EQ(pd.colBlocks, 2);
  EXPECT_EQ(pd.offsets, (std::vector<int32_t>{1, 3, 0, 2}));
  EXPECT_EQ(rebuildPermDiag(pd), w);
  EXPECT_DOUBLE_EQ(pd.keptEnergy, 1.0);
  EXPECT_DOUBLE_EQ(pd.relativeError, 0.0);
}

TEST(PermDiag, KeepsTheMostEnergyAndReportsTheError) {
  std::mt19937 gen(3);
  std::normal_distribution<float> dist;
  int64_t rows = 16, cols = 12, p = 4;
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = dist(gen);
  PermDiagWeight pd = projectPermDiag(w.data(), rows, cols, p);
  std::vector<float> back = rebuildPermDiag(pd);
  double total = 0, err = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    total += double(w[i]) * w[i];
    err += double(w[i] - back[i]) * (w[i] - back[i]);
  }
  EXPECT_NEAR(pd.relativeError, std::sqrt(err / total), 1e-6);
  // Every block keeps at least the energy of its offset-0 diagonal.
  for (int64_t i = 0; i < rows / p; ++i)
    for (int64_t j = 0; j < cols / p; ++j) {
      double zero = 0, chosen = 0;
      for (int64_t c = 0; c < p; ++c) {
        double v = w[(i * p + c) * cols + j * p + c];
        zero += v * v;
        double q = pd.values[(i * pd.colBlocks + j) * p + c];
        chosen += q * q;
      }
      EXPECT_GE(chosen, zero);
    }
  // p values and a 2-bit offset per 16 weights: 16 * 32 / (4 * 32 + 2).
  EXPECT_NEAR(pd.compressionRatio(), 16.0 * 32 / (4 * 32 + 2), 1e-9);
}

TEST(PermDiag, BlockSizeOneIsTheDenseWeight) {
  std::vector<float> w = {1, -2, 3, 4, 5, -6};
  PermDiagWeight pd = projectPermDiag(w.data(), 2, 3, 1);
  EXPECT_EQ(rebuildPermDiag(pd), w);
  EXPECT_TRUE(projectPermDiag(w.data(), 2, 3, 0).error.size() > 0);
}

TEST(PermDiag, TiesGoToTheSmallerOffsetAndPaddingCountsAsZero) {
  // 3 x 3 with p = 2, padded to 4 x 4. Block (0,0) is all ones: every
  // diagonal ties, offset 0 wins. Block (1,1) holds only W[2,2] = 5 and
  // padding; its offset-0 diagonal (W[2,2], pad) keeps 5, offset 1 keeps 0.
  // Block (0,1) column 3 is padding: rows 0,1 of column 2 are 7 and 0, so
  // offset 0 (W[0,2]) wins over offset 1 (W[1,2]).
  std::vector<float> w = {1, 1, 7, //
                          1, 1, 0, //
                          0, 0, 5};
  PermDiagWeight pd = projectPermDiag(w.data(), 3, 3, 2);
  ASSERT_TRUE(pd.error.empty());
  EXPECT_EQ(pd.offsets, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(pd.values, (std::vector<float>{1, 1, 7, 0, 0, 0, 5, 0}));
  EXPECT_EQ(rebuildPermDiag(pd),
            (std::vector<float>{1, 0, 7, 0, 1, 0, 0, 0, 5}));
  EXPECT_NEAR(pd.keptEnergy, (1 + 1 + 49 + 25) / 78.0, 1e-12);
}

TEST(PermDiag, RefusesABlockLargerThanTheWeight) {
  std::vector<float> w(6 * 8, 1.0f);
  EXPECT_TRUE(projectPermDiag(w.data(), 6, 8, 8).error.empty());
  PermDiagWeight pd = projectPermDiag(w.data(), 6, 8, 9);
  EXPECT_EQ(pd.error, "block size p = 9 is larger than the 6x8 weight");
  EXPECT_TRUE(pd.values.empty());
}
