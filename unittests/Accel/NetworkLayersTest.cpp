//===- NetworkLayersTest.cpp - Tests of pooling and add layers ------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "RandomLayers.h"

#include "SD/Compression/Quantize.h"
#include "SD/Accel/NetworkLayers.h"
#include "SD/Accel/ProgramFile.h"

#include "gtest/gtest.h"

using namespace sd::sdacc;
using namespace sd::sdacc::testing;

namespace {

/// conv -> max pool 3x3 s2 p1 -> add(max pool, conv of it) -> global average.
Program networkProgram(const HardwareConfig &config,
                       std::vector<LayerSchedule> *schedules = nullptr) {
  std::mt19937_64 rng(11);
  ProgramBuilder builder(config);
  std::string error;
  EXPECT_TRUE(builder.addInput("x", {1, 4, 9, 9}, error)) << error;
  LayerShape conv;
  conv.k = 6;
  EXPECT_TRUE(builder.addLayer(
      randomLayer(rng, "conv", "x", "y", {1, 4, 9, 9}, conv), error))
      << error;
  LayerSpec pool;
  pool.name = "pool";
  pool.kind = LayerKind::MaxPool;
  pool.input = "y";
  pool.output = "p";
  pool.kernelH = pool.kernelW = 3;
  pool.strideH = pool.strideW = 2;
  pool.padTop = pool.padLeft = 1;
  EXPECT_TRUE(builder.addLayer(pool, error)) << error;
  EXPECT_TRUE(builder.addLayer(
      randomLayer(rng, "conv2", "p", "z", {1, 6, 5, 5}, conv), error))
      << error;
  LayerSpec add;
  add.name = "add";
  add.kind = LayerKind::Add;
  add.input = "z";
  add.input2 = "p";
  add.output = "s";
  add.multiplier = 20000;
  add.multiplier2 = 9000;
  add.shift = 15;
  add.relu = true;
  EXPECT_TRUE(builder.addLayer(add, error)) << error;
  LayerSpec avg;
  avg.name = "avg";
  avg.kind = LayerKind::AvgPool;
  avg.input = "s";
  avg.output = "g";
  avg.kernelH = avg.kernelW = 5;
  avg.multiplier = 20000;
  avg.shift = 18;
  EXPECT_TRUE(builder.addLayer(avg, error)) << error;
  EXPECT_TRUE(builder.markOutput("g", error)) << error;
  Program program;
  EXPECT_TRUE(builder.build(program, error)) << error;
  if (schedules)
    *schedules = builder.schedules();
  return program;
}

TEST(NetworkLayers, BuildVerifyAndRoundTrip) {
  const HardwareConfig &c = HardwareConfig::defaults();
  std::vector<LayerSchedule> schedules;
  Program program = networkProgram(c, &schedules);
  ASSERT_EQ(program.layers.size(), 5u);
  EXPECT_EQ(verifyProgram(program, c), "");
  EXPECT_EQ(program.layers[1].kind, int64_t(LayerKind::MaxPool));
  EXPECT_EQ(program.layers[1].oh, 5);
  EXPECT_EQ(program.layers[3].input2, program.findTensor("p"));
  EXPECT_EQ(program.layers[3].multiplier2, 9000);
  ASSERT_EQ(schedules.size(), 5u);
  EXPECT_EQ(schedules[1].format, "none");
  // Max pooling moves its input and output once: 6x9x9 in, 6x5x5 out.
  EXPECT_EQ(schedules[1].compulsoryBytes, 6 * 81 + 6 * 25);
  EXPECT_EQ(schedules[1].dramInputBytes + schedules[1].dramOutputBytes,
            schedules[1].compulsoryBytes);
  EXPECT_EQ(schedules[3].compulsoryBytes, 3 * 6 * 25);
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(writeProgramBinary(program, bytes, error)) << error;
  Program back;
  ASSERT_TRUE(readProgramBinary(bytes, back, error)) << error;
  EXPECT_TRUE(back == program);
  Program fromText;
  ASSERT_TRUE(readProgramText(writeProgramText(program), fromText, error))
      << error;
  EXPECT_TRUE(fromText == program);
  // The dense baseline keeps the network layers as they are.
  Program dense;
  ASSERT_TRUE(buildDenseBaseline(program, c, dense, error)) << error;
  EXPECT_EQ(dense.layers[3].multiplier, program.layers[3].multiplier);
  EXPECT_EQ(dense.layers[4].kind, int64_t(LayerKind::AvgPool));
}

TEST(NetworkLayers, ArithmeticFollowsTheContract) {
  // Max over the window without the padding: row 0 of a 2x2 input, 3x3
  // window at (-1, -1) sees the four inputs only.
  LayerDecl l;
  l.kind = int64_t(LayerKind::MaxPool);
  l.c = l.k = 1;
  l.h = l.w = 2;
  l.oh = l.ow = 1;
  l.r = l.s = 3;
  l.strideH = l.strideW = 2;
  l.padTop = l.padLeft = 1;
  int8_t band[4] = {-100, -90, -120, -127};
  EXPECT_EQ(poolOutput(l, band, 0, 0, 0, 0), -90);
  // Average: sum 3 * 2^-1 rounds half up to 2 (S = 1, M = 1 is not a valid
  // requantization, but the rule is the same).
  l.kind = int64_t(LayerKind::AvgPool);
  l.padTop = l.padLeft = 0;
  l.r = l.s = 2;
  l.multiplier = 1;
  l.shift = 1;
  int8_t ones[4] = {1, 1, 1, 0};
  EXPECT_EQ(poolOutput(l, ones, 0, 0, 0, 0), 2);
  int8_t neg[4] = {-1, -1, -1, 0};
  EXPECT_EQ(poolOutput(l, neg, 0, 0, 0, 0), -1); // -1.5 rounds half up
  sd::compression::AddRequantization r;
  std::string error;
  ASSERT_TRUE(sd::compression::computeAddRequantization(0.5, 0.25, 1.0, r,
                                                        error))
      << error;
  EXPECT_EQ(r.multiplierA, 1 << 14);
  EXPECT_EQ(r.multiplierB, 1 << 13);
  EXPECT_EQ(r.shift, 15);
  EXPECT_EQ(sd::compression::requantizeAdd(3, 2, r, false), 2);  // 2.0
  EXPECT_EQ(sd::compression::requantizeAdd(-3, 0, r, false), -1); // -1.5
  EXPECT_EQ(sd::compression::requantizeAdd(-3, 0, r, true), 0);
  EXPECT_EQ(sd::compression::requantizeAdd(127, 127, r, false), 95);
}

TEST(NetworkLayers, BuilderErrorsAreClear) {
  ProgramBuilder builder(HardwareConfig::defaults());
  std::string error;
  ASSERT_TRUE(builder.addInput("x", {1, 4, 9, 9}, error));
  ASSERT_TRUE(builder.addInput("v", {1, 4, 9, 8}, error));
  LayerSpec add;
  add.name = "add";
  add.kind = LayerKind::Add;
  add.input = "x";
  add.input2 = "v";
  add.output = "s";
  add.shift = 3;
  EXPECT_FALSE(builder.addLayer(add, error));
  EXPECT_EQ(error, "layer 'add': the two operands of an add have different "
                   "shapes");
  add.input2 = "w";
  EXPECT_FALSE(builder.addLayer(add, error));
  EXPECT_EQ(error, "layer 'add': no second input tensor 'w'");
  LayerSpec pool;
  pool.name = "pool";
  pool.kind = LayerKind::MaxPool;
  pool.input = "x";
  pool.output = "p";
  pool.kernelH = pool.kernelW = 2;
  pool.padTop = 2;
  EXPECT_FALSE(builder.addLayer(pool, error));
  EXPECT_EQ(error, "layer 'pool': padding must be smaller than the window");
  pool.padTop = 0;
  pool.kind = LayerKind::AvgPool;
  pool.multiplier = 5;
  EXPECT_FALSE(builder.addLayer(pool, error));
  EXPECT_EQ(error, "layer 'pool': average pooling needs M in [2^14, 2^15) "
                   "and S in [1, 62]");
}

TEST(NetworkLayers, VerifierRejectsMisplacedInstructions) {
  const HardwareConfig &c = HardwareConfig::defaults();
  auto find = [](Program &p, Opcode op) -> Instruction & {
    for (Instruction &inst : p.instructions)
      if (inst.opcode == op)
        return inst;
    return p.instructions.front();
  };
  Program p = networkProgram(c);
  find(p, Opcode::Pool)[field::Pool::Avg] = 1;
  EXPECT_NE(verifyProgram(p, c).find("layer 'pool' is not an average pooling "
                                     "layer"),
            std::string::npos)
      << verifyProgram(p, c);
  p = networkProgram(c);
  find(p, Opcode::Pool)[field::Pool::Channels] = 7;
  EXPECT_NE(verifyProgram(p, c).find("channels [0, 7) exceed the layer's 6"),
            std::string::npos)
      << verifyProgram(p, c);
  p = networkProgram(c);
  find(p, Opcode::CfgAdd)[field::CfgAdd::MultiplierB] = 9001;
  EXPECT_NE(verifyProgram(p, c).find("multiplier_b = 9001 but layer 'add' has "
                                     "9000"),
            std::string::npos)
      << verifyProgram(p, c);
  p = networkProgram(c);
  for (size_t i = 0; i < p.instructions.size(); ++i)
    if (p.instructions[i].opcode == Opcode::CfgAdd) {
      p.instructions.erase(p.instructions.begin() + long(i));
      break;
    }
  EXPECT_NE(verifyProgram(p, c).find("needs a cfg_add earlier in layer 'add'"),
            std::string::npos)
      << verifyProgram(p, c);
  p = networkProgram(c);
  p.layers[1].k = 5;
  EXPECT_NE(verifyProgram(p, c).find("layer 'pool': k = 5 must be in [6, 6]"),
            std::string::npos)
      << verifyProgram(p, c);
  p = networkProgram(c);
  p.layers[3].multiplier2 = 1 << 15;
  EXPECT_NE(verifyProgram(p, c).find("multiplier2 = 32768 must be in"),
            std::string::npos)
      << verifyProgram(p, c);
}

TEST(NetworkLayers, DepthwiseLayersCarryTheirWeights) {
  const HardwareConfig &c = HardwareConfig::defaults();
  ProgramBuilder builder(c);
  std::string error;
  ASSERT_TRUE(builder.addInput("x", {1, 3, 5, 5}, error));
  LayerSpec dw;
  dw.name = "dw";
  dw.kind = LayerKind::Depthwise;
  dw.input = "x";
  dw.output = "y";
  dw.kernelH = dw.kernelW = 3;
  dw.strideH = dw.strideW = 2;
  dw.padTop = dw.padLeft = 1;
  dw.multiplier = 20000;
  dw.shift = 20;
  dw.bias = {5, -6, 7};
  dw.weights.assign(26, 1);
  EXPECT_FALSE(builder.addLayer(dw, error));
  EXPECT_EQ(error, "layer 'dw': depthwise weights hold 26 values, expected C "
                   "x R x S = 27");
  dw.weights.clear();
  for (int i = 0; i < 27; ++i)
    dw.weights.push_back(int8_t(i - 13));
  ASSERT_TRUE(builder.addLayer(dw, error)) << error;
  ASSERT_TRUE(builder.markOutput("y", error));
  Program p;
  ASSERT_TRUE(builder.build(p, error)) << error;
  EXPECT_EQ(verifyProgram(p, c), "");
  ASSERT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.layers[0].oh, 3);
  LayerSpec back;
  ASSERT_TRUE(extractLayerSpec(p, 0, back, error)) << error;
  EXPECT_EQ(back.weights, dw.weights);
  EXPECT_EQ(back.bias, dw.bias);
  // A segment of the wrong size is named.
  p.segments[0].bytes.pop_back();
  EXPECT_NE(verifyProgram(p, c).find("weights segment has 26 bytes, expected "
                                     "27"),
            std::string::npos)
      << verifyProgram(p, c);
}

TEST(NetworkLayers, BandsAwayFromThePaddingFitTheBuffer) {
  // 6400-byte input rows: ten fit half the input buffer. A band after the
  // first reads 2 * rows + 1 input rows; the first band's top padding (one
  // row fewer) must not make the builder choose more.
  const HardwareConfig &c = HardwareConfig::defaults();
  ProgramBuilder builder(c);
  std::string error;
  ASSERT_TRUE(builder.addInput("x", {1, 16, 64, 400}, error));
  LayerSpec pool;
  pool.name = "pool";
  pool.kind = LayerKind::MaxPool;
  pool.input = "x";
  pool.output = "y";
  pool.kernelH = pool.kernelW = 3;
  pool.strideH = pool.strideW = 2;
  pool.padTop = pool.padLeft = 1;
  ASSERT_TRUE(builder.addLayer(pool, error)) << error;
  ASSERT_TRUE(builder.markOutput("y", error));
  Program p;
  ASSERT_TRUE(builder.build(p, error)) << error;
  EXPECT_EQ(verifyProgram(p, c), "");
  ASSERT_EQ(builder.schedules().size(), 1u);
  // 4 output rows read 9 input rows away from the top; 5 would read 11.
  EXPECT_EQ(builder.schedules()[0].bandOutputRows, 4);
  EXPECT_EQ(builder.schedules()[0].bands, 8);
}

} // namespace
