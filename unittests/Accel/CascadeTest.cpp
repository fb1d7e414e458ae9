//===- CascadeTest.cpp - Tests of cascades and recorded tilings ----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "RandomLayers.h"

#include "gtest/gtest.h"

#include <functional>

using namespace sd::sdacc;
using namespace sd::sdacc::testing;

namespace {

/// x [1, 8, 6, 6] -> conv "a" (16 channels) -> `next` reading a's output,
/// with a's output cascaded; the builder's error, or empty.
std::string cascadeError(
    const std::function<void(ProgramBuilder &, std::mt19937_64 &)> &next,
    bool markA = false) {
  std::mt19937_64 rng(3);
  ProgramBuilder builder(HardwareConfig::defaults());
  std::string error;
  EXPECT_TRUE(builder.addInput("x", {1, 8, 6, 6}, error));
  LayerShape shape;
  shape.k = 16;
  LayerSpec a = randomLayer(rng, "a", "x", "ya", {1, 8, 6, 6}, shape);
  a.cascadeOutput = true;
  EXPECT_TRUE(builder.addLayer(a, error)) << error;
  next(builder, rng);
  if (markA)
    EXPECT_TRUE(builder.markOutput("ya", error));
  Program program;
  if (builder.build(program, error))
    return "";
  return error;
}

TEST(Cascade, AConvolutionChainCascades) {
  std::string error = cascadeError([](ProgramBuilder &b, std::mt19937_64 &rng) {
    std::string e;
    LayerShape shape;
    ASSERT_TRUE(
        b.addLayer(randomLayer(rng, "b", "ya", "yb", {1, 16, 6, 6}, shape), e));
  });
  EXPECT_EQ(error, "");
}

TEST(Cascade, RefusalsNameTheLayerAndTheReason) {
  const std::string prefix = "layer 'a' cannot keep its output on chip: ";
  // Another layer reads the tensor too.
  EXPECT_EQ(cascadeError([](ProgramBuilder &b, std::mt19937_64 &rng) {
              std::string e;
              LayerShape shape;
              ASSERT_TRUE(b.addLayer(
                  randomLayer(rng, "b", "ya", "yb", {1, 16, 6, 6}, shape), e));
              ASSERT_TRUE(b.addLayer(
                  randomLayer(rng, "c", "ya", "yc", {1, 16, 6, 6}, shape), e));
            }),
            prefix + "layer 'c' reads it too");
  // The tensor is a network output.
  EXPECT_EQ(
      cascadeError(
          [](ProgramBuilder &b, std::mt19937_64 &rng) {
            std::string e;
            LayerShape shape;
            ASSERT_TRUE(b.addLayer(
                randomLayer(rng, "b", "ya", "yb", {1, 16, 6, 6}, shape), e));
          },
          /*markA=*/true),
      prefix + "it is a network output");
  // Pooling does not read a cascaded band.
  EXPECT_EQ(cascadeError([](ProgramBuilder &b, std::mt19937_64 &) {
              std::string e;
              LayerSpec pool;
              pool.name = "pool";
              pool.kind = LayerKind::MaxPool;
              pool.format = WeightFormat::Dense;
              pool.input = "ya";
              pool.output = "yp";
              pool.kernelH = pool.kernelW = 2;
              pool.strideH = pool.strideW = 2;
              ASSERT_TRUE(b.addLayer(pool, e)) << e;
            }),
            prefix + "the next layer is not a convolution or fully connected "
                     "layer (se or dense)");
  // A fully connected layer flattening [1, 16, 6, 6] lays its band out
  // differently.
  EXPECT_EQ(cascadeError([](ProgramBuilder &b, std::mt19937_64 &rng) {
              std::string e;
              LayerShape shape;
              shape.kind = LayerKind::FullyConnected;
              ASSERT_TRUE(b.addLayer(
                  randomLayer(rng, "fc", "ya", "yf", {1, 16, 6, 6}, shape), e))
                  << e;
            }),
            prefix + "the next layer flattens a [N, C, H, W] tensor, which "
                     "its input band lays out differently");
  // A recorded tiling in row bands.
  EXPECT_EQ(cascadeError([](ProgramBuilder &b, std::mt19937_64 &rng) {
              std::string e;
              LayerShape shape;
              LayerSpec next =
                  randomLayer(rng, "b", "ya", "yb", {1, 16, 6, 6}, shape);
              next.tiling.channelsPerGroup = 8;
              next.tiling.bandOutputRows = 2;
              next.tiling.loopOrder = LoopOrder::BandsOuter;
              ASSERT_TRUE(b.addLayer(next, e)) << e;
            }),
            prefix + "a recorded tiling loads row bands");
}

// The rule --sd-schedule records is the one the builder follows unrecorded.
TEST(Cascade, RecordedTilingIsTheBuildersOwnChoice) {
  std::mt19937_64 rng(9);
  HardwareConfig config = HardwareConfig::defaults();
  config.input.bytes = 4096;
  config.weight.bytes = 2048;
  LayerShape shape;
  shape.k = 32;
  LayerSpec spec = randomLayer(rng, "c", "x", "y", {1, 32, 16, 16}, shape);
  TileChoice choice;
  std::string error;
  ASSERT_TRUE(planLayerTiling(config, {1, 32, 16, 16}, spec, choice, error))
      << error;
  ProgramBuilder builder(config);
  ASSERT_TRUE(builder.addInput("x", {1, 32, 16, 16}, error));
  ASSERT_TRUE(builder.addLayer(spec, error));
  Program program;
  ASSERT_TRUE(builder.build(program, error)) << error;
  const LayerSchedule &s = builder.schedules()[0];
  EXPECT_EQ(choice.channelsPerGroup, s.channelsPerGroup);
  EXPECT_EQ(choice.blocksSplit, s.blocksSplit);
  EXPECT_EQ(choice.bandOutputRows, s.bandKind == "rows" ? s.bandOutputRows : 0);
  EXPECT_EQ(loopOrderName(choice.loopOrder), s.loopOrder);
  EXPECT_GT(choice.bandOutputRows, 0); // 16 KiB of input in 4 KiB
}

} // namespace
