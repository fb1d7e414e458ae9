//===- BuilderTest.cpp - Tests of the accelerator program builder ---------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "RandomLayers.h"

#include "SD/Compression/Codes.h"
#include "SD/Accel/ProgramFile.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace sd::sdacc;
using namespace sd::sdacc::testing;

namespace {

TEST(Builder, QuantizeMultiplierFollowsTheContract) {
  int64_t M, S;
  std::string error;
  ASSERT_TRUE(quantizeMultiplier(0.5, M, S, error)) << error;
  EXPECT_EQ(M, 1 << 14);
  EXPECT_EQ(S, 15);
  ASSERT_TRUE(quantizeMultiplier(3e-5, M, S, error)) << error;
  EXPECT_GE(M, 1 << 14);
  EXPECT_LT(M, 1 << 15);
  EXPECT_NEAR(std::ldexp(double(M), -int(S)), 3e-5, 3e-5 / (1 << 14));
  // The largest S keeping M below 2^15: one more bit would overflow.
  EXPECT_GE(std::round(std::ldexp(3e-5, int(S + 1))), 32768.0);
  EXPECT_FALSE(quantizeMultiplier(1e6, M, S, error));
  EXPECT_FALSE(quantizeMultiplier(0.0, M, S, error));
}

TEST(Builder, RebuiltWeightsMatchTheDecodedLayout) {
  // Wi * 2^(minExp - f_B) must equal the float rebuild of the decoded codes
  // and bases (the dialect's reference meaning), exactly.
  std::mt19937_64 rng(1);
  LayerShape shape;
  shape.k = 5;
  shape.maxBlockRows = 7;
  LayerSpec spec = randomLayer(rng, "l", "x", "y", {1, 9, 4, 4}, shape);
  const int fB = 6;
  std::vector<float> ce(spec.codes.size()), b(spec.basis.size());
  for (size_t i = 0; i < ce.size(); ++i)
    ce[i] = float(sd::compression::decodeCode(spec.codes[i], spec.range));
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = std::ldexp(float(spec.basis[i]), -fB);
  std::vector<float> dense = sd::compression::rebuildDense(spec.layout, ce, b);
  std::vector<int32_t> wi = rebuiltWeights(spec);
  ASSERT_EQ(dense.size(), wi.size());
  for (size_t i = 0; i < wi.size(); ++i)
    EXPECT_EQ(double(dense[i]),
              std::ldexp(double(wi[i]), spec.range.minExp - fB))
        << i;
}

TEST(Builder, LayerErrorsAreClear) {
  std::mt19937_64 rng(2);
  ProgramBuilder builder(HardwareConfig::defaults());
  std::string error;
  ASSERT_TRUE(builder.addInput("x", {1, 8, 5, 5}, error));
  EXPECT_FALSE(builder.addInput("x", {1, 8, 5, 5}, error));
  EXPECT_EQ(error, "tensor 'x' is declared twice");
  LayerShape shape;
  LayerSpec spec = randomLayer(rng, "conv", "x", "y", {1, 8, 5, 5}, shape);
  spec.range = {-8, 5}; // 14 levels do not fit 4-bit codes
  EXPECT_FALSE(builder.addLayer(spec, error));
  EXPECT_NE(error.find("has 14 levels; the 4-bit Ce codes hold 7"),
            std::string::npos)
      << error;
  spec = randomLayer(rng, "conv", "x", "y", {1, 8, 5, 5}, shape);
  spec.codes.pop_back();
  EXPECT_FALSE(builder.addLayer(spec, error));
  EXPECT_NE(error.find("codes hold"), std::string::npos) << error;
  spec = randomLayer(rng, "conv", "nope", "y", {1, 8, 5, 5}, shape);
  EXPECT_FALSE(builder.addLayer(spec, error));
  EXPECT_EQ(error, "layer 'conv': no input tensor 'nope'");
  spec = randomLayer(rng, "conv", "x", "y", {1, 8, 5, 5}, shape);
  spec.padTop = 3;
  EXPECT_FALSE(builder.addLayer(spec, error));
  EXPECT_NE(error.find("padding must be smaller than the kernel"),
            std::string::npos);
  spec = randomLayer(rng, "conv", "x", "y", {1, 8, 5, 5}, shape);
  spec.multiplier = 3;
  EXPECT_FALSE(builder.addLayer(spec, error));
  EXPECT_NE(error.find("M in [2^14, 2^15)"), std::string::npos);
  spec = randomLayer(rng, "conv", "x", "y", {1, 8, 5, 5}, shape);
  EXPECT_TRUE(builder.addLayer(spec, error)) << error;
  EXPECT_FALSE(builder.markOutput("x", error));
  EXPECT_EQ(error, "network input 'x' cannot also be an output");
}

TEST(Builder, LargeFullyConnectedLayerStaysSmall) {
  // 4096 x 4096: under 1 MB of instructions (one weight tile per 16 outputs,
  // eight blocks each).
  std::mt19937_64 rng(4);
  ProgramBuilder builder(HardwareConfig::defaults());
  std::string error;
  ASSERT_TRUE(builder.addInput("x", {1, 4096}, error));
  LayerShape fc;
  fc.kind = LayerKind::FullyConnected;
  fc.k = 4096;
  fc.zeroRows = 0.5;
  ASSERT_TRUE(
      builder.addLayer(randomLayer(rng, "fc", "x", "y", {1, 4096}, fc), error))
      << error;
  Program program;
  ASSERT_TRUE(builder.build(program, error)) << error;
  size_t instructionBytes = program.instructions.size() * kInstructionBytes;
  EXPECT_LT(instructionBytes, size_t(1) << 20);
  const LayerSchedule &s = builder.schedules()[0];
  EXPECT_EQ(s.channelsPerGroup, 16);
  EXPECT_EQ(s.groups, 256);
  // Every weight byte crosses DRAM once: the traffic is the compulsory one.
  EXPECT_EQ(s.dramInputBytes + s.dramWeightBytes + s.dramOutputBytes,
            s.compulsoryBytes);
  EXPECT_GT(s.nonZeroRows, 0);
  EXPECT_LT(s.nonZeroRows, s.totalRows);
}

TEST(Builder, SmallLayersKeepWeightsAndInputsResident) {
  std::mt19937_64 rng(5);
  ProgramBuilder builder(HardwareConfig::defaults());
  std::string error;
  ASSERT_TRUE(builder.addInput("x", {1, 16, 12, 12}, error));
  LayerShape shape;
  shape.k = 32;
  ASSERT_TRUE(builder.addLayer(
      randomLayer(rng, "conv", "x", "y", {1, 16, 12, 12}, shape), error));
  Program program;
  ASSERT_TRUE(builder.build(program, error)) << error;
  const LayerSchedule &s = builder.schedules()[0];
  EXPECT_TRUE(s.weightsResident);
  EXPECT_TRUE(s.inputResident);
  EXPECT_TRUE(s.rebuiltOnce); // one block: B stays in its engine
  EXPECT_EQ(s.groups, 2);
  EXPECT_EQ(s.dramInputBytes + s.dramWeightBytes + s.dramOutputBytes,
            s.compulsoryBytes);
}

TEST(Builder, LargeInputsAreBandedWithHalos) {
  std::mt19937_64 rng(6);
  ProgramBuilder builder(HardwareConfig::defaults());
  std::string error;
  ASSERT_TRUE(builder.addInput("x", {1, 64, 56, 56}, error));
  LayerShape shape;
  shape.k = 64;
  ASSERT_TRUE(builder.addLayer(
      randomLayer(rng, "conv", "x", "y", {1, 64, 56, 56}, shape), error));
  Program program;
  ASSERT_TRUE(builder.build(program, error)) << error;
  const LayerSchedule &s = builder.schedules()[0];
  EXPECT_EQ(s.bandKind, "rows");
  EXPECT_GT(s.bands, 1);
  // Halo rows are read twice, nothing else is: within 10 % of compulsory.
  int64_t total = s.dramInputBytes + s.dramWeightBytes + s.dramOutputBytes;
  EXPECT_GT(total, s.compulsoryBytes);
  EXPECT_LT(double(total), 1.1 * double(s.compulsoryBytes));
}

TEST(Builder, ExtractsTheLayersItBuilt) {
  std::mt19937_64 rng(8);
  ProgramBuilder builder(HardwareConfig::defaults());
  std::string error;
  ASSERT_TRUE(builder.addInput("x", {2, 7, 5, 5}, error));
  LayerShape shape;
  shape.maxBlockRows = 5;
  shape.strideH = 2;
  shape.padBottom = 0;
  LayerSpec spec = randomLayer(rng, "conv", "x", "y", {2, 7, 5, 5}, shape);
  ASSERT_TRUE(builder.addLayer(spec, error)) << error;
  Program program;
  ASSERT_TRUE(builder.build(program, error)) << error;
  LayerSpec back;
  ASSERT_TRUE(extractLayerSpec(program, 0, back, error)) << error;
  EXPECT_EQ(back.basis, spec.basis);
  EXPECT_EQ(back.bias, spec.bias);
  EXPECT_EQ(back.layout.numBlocks, spec.layout.numBlocks);
  EXPECT_EQ(back.layout.blockRows, spec.layout.blockRows);
  // Codes come back except in rows of padding only, which the index drops.
  EXPECT_EQ(rebuiltWeights(back), rebuiltWeights(spec));
  EXPECT_EQ(back.padBottom, 0);
  EXPECT_EQ(back.strideH, 2);
}

TEST(Builder, DenseBaselineUsesOneScalePerLayer) {
  std::mt19937_64 rng(9);
  LayerShape shape;
  shape.k = 4;
  LayerSpec spec = randomLayer(rng, "conv", "x", "y", {1, 3, 4, 4}, shape);
  LayerSpec dense;
  std::string error;
  ASSERT_TRUE(toDenseLayer(spec, dense, error)) << error;
  EXPECT_EQ(dense.format, WeightFormat::Dense);
  std::vector<int32_t> wi = rebuiltWeights(spec);
  int64_t maxAbs = 0, maxQ = 0;
  for (int32_t v : wi)
    maxAbs = std::max<int64_t>(maxAbs, std::abs(v));
  for (int8_t v : dense.weights)
    maxQ = std::max<int64_t>(maxQ, std::abs(int(v)));
  EXPECT_EQ(maxQ, 127);
  // Same real multiplier up to the rescaling: m' = m * max|Wi| / 127.
  double m = std::ldexp(double(spec.multiplier), -int(spec.shift));
  double md = std::ldexp(double(dense.multiplier), -int(dense.shift));
  EXPECT_NEAR(md / (m * double(maxAbs) / 127.0), 1.0, 1e-4);
}

} // namespace
