//===- LayoutTest.cpp - Tests of the Ce*B block layout --------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Layout.h"
#include "SD/Compression/Limits.h"

#include "gtest/gtest.h"

using namespace sd::compression;

TEST(Layout, ReferenceSplitsForCommonSizes) {
  // The authors' table: 4096 -> 8 blocks of 171 rows (padded to 4104),
  // 512 -> 1 block of 171 (513), 64 -> 22 rows (66).
  BlockLayout fc4096 = BlockLayout::canonical({1000, 4096});
  EXPECT_EQ(fc4096.numBlocks, 8);
  EXPECT_EQ(fc4096.blockRows, 171);
  EXPECT_EQ(fc4096.paddedRows() * kBasisSize, 4104);
  BlockLayout fc512 = BlockLayout::canonical({10, 512});
  EXPECT_EQ(fc512.numBlocks, 1);
  EXPECT_EQ(fc512.blockRows, 171);
  BlockLayout fc64 = BlockLayout::canonical({10, 64, 1, 1});
  EXPECT_EQ(fc64.numBlocks, 1);
  EXPECT_EQ(fc64.blockRows, 22);
}

TEST(Layout, ConvBlocksPerInputChannels) {
  // Cin = 64 -> one block per filter, 128 -> 2, 256 -> 4, 512 -> 8.
  for (auto [cin, blocks] :
       {std::pair<int64_t, int64_t>{64, 1}, {128, 2}, {256, 4}, {512, 8}}) {
    BlockLayout conv = BlockLayout::canonical({32, cin, 3, 3});
    EXPECT_EQ(conv.numBlocks, blocks) << "cin " << cin;
    EXPECT_EQ(conv.blockRows, 192) << "cin " << cin;
    EXPECT_EQ(conv.usedRows(), cin * 3);
    EXPECT_TRUE(conv.verify().empty());
  }
}

TEST(Layout, KernelRowsMapToDenseOffsets) {
  // Row (cin, kh) of filter o is W[o, cin, kh, :].
  BlockLayout conv = BlockLayout::canonical({2, 4, 3, 3});
  EXPECT_EQ(conv.rowLength(), 36);
  int64_t o = 1, cin = 2, kh = 1, kw = 2;
  int64_t row = cin * 3 + kh;
  EXPECT_EQ(conv.denseOffset(o, row / conv.blockRows, row % conv.blockRows, kw),
            ((o * 4 + cin) * 3 + kh) * 3 + kw);
}

TEST(Layout, PaddingPositionsAreReported) {
  BlockLayout fc = BlockLayout::canonical({3, 10}); // 4 rows, 2 pad values
  EXPECT_EQ(fc.usedRows(), 4);
  EXPECT_EQ(fc.denseOffset(0, 0, 3, 0), 9);
  EXPECT_EQ(fc.denseOffset(0, 0, 3, 1), -1);
  EXPECT_EQ(fc.denseOffset(2, 0, 3, 2), -1);
  // Uneven spread: 683 rows -> 4 blocks of 171 (one padding row).
  BlockLayout fc2048 = BlockLayout::canonical({1, 2048});
  EXPECT_EQ(fc2048.numBlocks, 4);
  EXPECT_EQ(fc2048.blockRows, 171);
  EXPECT_EQ(fc2048.denseOffset(0, 3, 170, 0), -1);
}

TEST(Layout, VerifyNamesEachProblem) {
  BlockLayout layout{{4, 12}, 1, 3};
  EXPECT_NE(layout.verify().find("cover 3 rows of 3 but the weight needs 4"),
            std::string::npos)
      << layout.verify();
  layout = {{4, 12}, 3, 2};
  EXPECT_NE(layout.verify().find("only padding"), std::string::npos)
      << layout.verify();
  layout = {{4}, 1, 2};
  EXPECT_NE(layout.verify().find("rank >= 2"), std::string::npos);
  layout = {{4, 12}, 0, 4};
  EXPECT_NE(layout.verify().find("at least 1 x 1"), std::string::npos);
  layout = {{4, 12}, 2, 2};
  EXPECT_TRUE(layout.verify().empty()) << layout.verify();
}

TEST(Layout, RebuildDenseIsCeTimesB) {
  BlockLayout fc = BlockLayout::canonical({1, 5}); // 2 rows, 1 pad value
  std::vector<float> ce = {1, 0, 0, /*row 1*/ 0, 2, -1};
  std::vector<float> b = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<float> w = rebuildDense(fc, ce, b);
  ASSERT_EQ(w.size(), 5u);
  EXPECT_EQ(w, (std::vector<float>{1, 2, 3, 2 * 4 - 7, 2 * 5 - 8}));
}

TEST(Layout, SizesAreBoundedWithoutOverflow) {
  EXPECT_EQ(boundedProduct({3, 4, 5}, 60), 60);
  EXPECT_EQ(boundedProduct({3, 4, 5}, 59), -1);
  EXPECT_EQ(boundedProduct({}, 1), 1);
  EXPECT_EQ(boundedProduct({3, 0}, 100), -1);
  EXPECT_EQ(boundedProduct({int64_t(1) << 62, 6}, INT64_MAX), -1);
  BlockLayout huge = {{1000000000, 1000000000}, 1, 2};
  EXPECT_EQ(huge.verify(), "weight has more than 2147483647 (2^31 - 1) "
                           "elements");
  // One block of 2^62 rows: valid coverage, but too many codes to count.
  BlockLayout tall = {{4, 6}, 1, int64_t(1) << 62};
  EXPECT_EQ(tall.verify(), "blocks 1 x 4611686018427387904 give more than "
                           "2147483647 (2^31 - 1) codes");
}
