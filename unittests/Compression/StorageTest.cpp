//===- StorageTest.cpp - Tests of the storage accounting ------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Storage.h"

#include "gtest/gtest.h"

#include <vector>

using namespace sd::compression;

namespace {

/// Two outputs of six weights: two rows of 3 each, one block.
struct Small {
  BlockLayout layout = BlockLayout::canonical({2, 6});
  // Output 0: [1 0 -3] [0 0 0]; output 1: [2 2 0] [0 -1 0].
  std::vector<int8_t> codes = {1, 0, -3, 0, 0, 0, 2, 2, 0, 0, -1, 0};
};

} // namespace

TEST(Storage, AdaptiveWidths) {
  EXPECT_EQ(adaptiveEntryBits(0), 0);
  EXPECT_EQ(adaptiveEntryBits(1), 1);
  EXPECT_EQ(adaptiveEntryBits(2), 2);
  EXPECT_EQ(adaptiveEntryBits(3), 3);
  EXPECT_EQ(adaptiveEntryBits(4), 3);
  EXPECT_EQ(adaptiveEntryBits(5), 4);
  EXPECT_EQ(adaptiveEntryBits(14), 5);
  EXPECT_EQ(adaptiveRowBits(1), 2);
  EXPECT_EQ(adaptiveRowBits(3), 3);
  EXPECT_EQ(adaptiveRowBits(4), 4);
  EXPECT_EQ(adaptiveRowBits(7), 4);
  EXPECT_EQ(adaptiveRowBits(15), 5);
  EXPECT_EQ(adaptiveRowBits(16), 6);
}

TEST(Storage, Counts) {
  Small s;
  CeCounts c = countCodes(s.layout, s.codes.data());
  EXPECT_EQ(c.numWeights, 12);
  EXPECT_EQ(c.numCodes, 12);
  EXPECT_EQ(c.numRows, 4);
  EXPECT_EQ(c.numBasis, 18);
  EXPECT_EQ(c.nnz, 5);
  EXPECT_EQ(c.nonZeroRows, 3);
  EXPECT_EQ(c.distinctMagnitudes, 3); // |c| in {1, 2, 3}
  EXPECT_EQ(c.maxMagnitudeCode, 3);
}

TEST(Storage, EntryBitmapByHand) {
  Small s;
  // 5 values x (ceil(log2 3) + 1 = 3) + 12 bitmap + 18 x 8 basis = 171.
  StorageReport r = computeStorage(s.layout, s.codes.data());
  EXPECT_EQ(r.valueBitsPerEntry, 3);
  EXPECT_EQ(r.valueBits, 15);
  EXPECT_EQ(r.indexBits, 12);
  EXPECT_EQ(r.basisBits, 144);
  EXPECT_EQ(r.totalBits, 171);
  EXPECT_EQ(r.denseBits, 384);
  EXPECT_DOUBLE_EQ(r.compressionRatio, 384.0 / 171.0);
  StorageOptions training;
  training.basisBits = 32;
  EXPECT_EQ(computeStorage(s.layout, s.codes.data(), training).totalBits,
            15 + 12 + 576);
}

TEST(Storage, RowBitmapByHand) {
  Small s;
  StorageOptions o;
  o.index = CeIndexKind::RowBitmap;
  // 3 kept rows x 3 entries x (ceil(log2 4) + 1 = 3) + 4 row bits + 144.
  StorageReport r = computeStorage(s.layout, s.codes.data(), o);
  EXPECT_EQ(r.valueBitsPerEntry, 3);
  EXPECT_EQ(r.valueBits, 27);
  EXPECT_EQ(r.indexBits, 4);
  EXPECT_EQ(r.totalBits, 175);
  // The paper's fixed 4-bit Ce.
  o.codeBits = 4;
  r = computeStorage(s.layout, s.codes.data(), o);
  EXPECT_EQ(r.valueBits, 36);
  EXPECT_EQ(r.totalBits, 184);
  EXPECT_TRUE(r.codesFit); // |code| <= 7
  o.codeBits = 2;
  EXPECT_FALSE(computeStorage(s.layout, s.codes.data(), o).codesFit);
}

TEST(Storage, DenseConvByHand) {
  // A 64x64x3x3 conv with every Ce entry non-zero and all 14 magnitudes:
  // 36864 x 5 + 36864 + 64 x 9 x 8 = 225792 bits; ratio 1179648 / 225792.
  CeCounts c;
  c.numWeights = 36864;
  c.numCodes = 36864;
  c.numRows = 12288;
  c.numBasis = 576;
  c.nnz = 36864;
  c.nonZeroRows = 12288;
  c.distinctMagnitudes = 14;
  StorageReport r = computeStorage(c);
  EXPECT_EQ(r.totalBits, 225792);
  EXPECT_NEAR(r.compressionRatio, 5.2245, 1e-4);
}

TEST(Storage, PaddingIsCounted) {
  // K = 4096: 8 blocks of 171 rows = 1368 rows of 3 (two are padding).
  BlockLayout layout = BlockLayout::canonical({1, 4096});
  std::vector<int8_t> codes(size_t(layout.numCodes()), 0);
  codes[0] = 1;
  StorageReport r = computeStorage(layout, codes.data());
  EXPECT_EQ(r.indexBits, 4104);
  EXPECT_EQ(r.valueBits, 1);
  EXPECT_EQ(r.basisBits, 8 * 9 * 8);
  EXPECT_EQ(r.denseBits, 32 * 4096);
}

TEST(Storage, AllZero) {
  BlockLayout layout = BlockLayout::canonical({2, 6});
  std::vector<int8_t> codes(12, 0);
  StorageReport r = computeStorage(layout, codes.data());
  EXPECT_EQ(r.valueBitsPerEntry, 0);
  EXPECT_EQ(r.valueBits, 0);
  EXPECT_EQ(r.totalBits, 12 + 144);
}
