//===- StructuredPruningTest.cpp - Tests of SmartDeal row pruning ---------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/StructuredPruning.h"

#include "gtest/gtest.h"

#include <vector>

using namespace sd::compression;

TEST(StructuredPruning, RowCount) {
  EXPECT_EQ(structuredPrunedRows(100, 0.29), 29); // 28.999999999999996
  EXPECT_EQ(structuredPrunedRows(10, 0.7), 7);
  EXPECT_EQ(structuredPrunedRows(48, 0.4), 19);
  EXPECT_EQ(structuredPrunedRows(3, 1.0), 3);
  EXPECT_EQ(structuredPrunedRows(5, 0.0), 0);
  EXPECT_EQ(structuredPrunedRows(5, 0.19), 0);
  EXPECT_EQ(structuredPrunedRows(192, 0.9), 172);
}

TEST(StructuredPruning, RanksByGroupL1AndBreaksTiesByIndex) {
  // Three outputs of two rows of 3 ([3, 2, 3]); groups of 2 filters.
  BlockLayout layout = BlockLayout::canonical({3, 2, 3});
  std::vector<float> w = {
      // group 0: row scores 1+4 = 5 and 3+1 = 4 -> row 1 pruned
      1, 0, 0, 1, 1, 1,  //
      -2, 2, 0, 0, 0, 1, //
      // group 1 (one filter): equal scores -> row 0 pruned (lower index)
      1, -1, 0, 0, 2, 0};
  RowPruningMask mask = selectStructuredRows(w.data(), layout, 0.5, 2);
  EXPECT_EQ(mask.numGroups(), 2);
  EXPECT_EQ(mask.prunedPerGroup, 1);
  EXPECT_FALSE(mask.isPruned(0, 0));
  EXPECT_TRUE(mask.isPruned(0, 1));
  EXPECT_TRUE(mask.isPruned(1, 1));
  EXPECT_TRUE(mask.isPruned(2, 0));
  EXPECT_FALSE(mask.isPruned(2, 1));
  applyRowPruning(w.data(), layout, mask);
  std::vector<float> expected = {1, 0, 0, 0, 0, 0, -2, 2, 0,
                                 0, 0, 0, 0, 0, 0, 0,  2, 0};
  EXPECT_EQ(w, expected);
}

TEST(StructuredPruning, PartialLastRow) {
  // L = 7: rows {w0..w2}, {w3..w5}, {w6, pad, pad}.
  BlockLayout layout = BlockLayout::canonical({1, 7});
  std::vector<float> w = {1, 1, 1, 5, 5, 5, 0.5};
  RowPruningMask mask = selectStructuredRows(w.data(), layout, 0.34);
  EXPECT_EQ(mask.rowsPerOutput, 3);
  EXPECT_EQ(mask.prunedPerGroup, 1);
  EXPECT_TRUE(mask.isPruned(0, 2));
  applyRowPruning(w.data(), layout, mask);
  EXPECT_EQ(w[6], 0.0f);
  EXPECT_EQ(w[5], 5.0f);
}

TEST(StructuredPruning, FractionZeroPrunesNothing) {
  BlockLayout layout = BlockLayout::canonical({4, 9});
  std::vector<float> w(36, 1.0f);
  RowPruningMask mask = selectStructuredRows(w.data(), layout, 0.0);
  EXPECT_EQ(mask.prunedPerGroup, 0);
  for (int64_t o = 0; o < 4; ++o)
    for (int64_t r = 0; r < 3; ++r)
      EXPECT_FALSE(mask.isPruned(o, r));
}
