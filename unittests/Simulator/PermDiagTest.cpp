//===- PermDiagTest.cpp - Tests of the PermDNN engine mode ----------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/PermDiag.h"
#include "SD/Compression/Quantize.h"
#include "SD/Accel/ProgramBuilder.h"
#include "SD/Simulator/Simulator.h"

#include "gtest/gtest.h"

#include <random>

using namespace sd::sdacc;

namespace {

/// Buffers and accumulators small enough that a permdiag layer is banded,
/// split into column tiles and chunked.
HardwareConfig tinyConfig() {
  HardwareConfig c = HardwareConfig::defaults();
  c.name = "tiny";
  c.dimM = 3;
  c.accEntries = 10;
  c.input.bytes = 600;
  c.output.bytes = 80;
  c.weight.bytes = 300;
  c.pdPes = 2;
  c.pdMultipliersPerPe = 3;
  EXPECT_EQ(c.verify(), "");
  return c;
}

LayerSpec randomLayer(std::mt19937_64 &rng, int64_t outputs, int64_t inputs,
                      int64_t p, const std::string &in,
                      const std::string &out) {
  LayerSpec s;
  s.name = out;
  s.kind = LayerKind::FullyConnected;
  s.format = WeightFormat::PermDiag;
  s.input = in;
  s.output = out;
  s.outChannels = outputs;
  s.blockSize = p;
  int64_t blocks = (outputs + p - 1) / p * ((inputs + p - 1) / p);
  std::uniform_int_distribution<int> offset(0, int(p) - 1), value(-127, 127);
  for (int64_t b = 0; b < blocks; ++b)
    s.pdOffsets.push_back(offset(rng));
  for (int64_t i = 0; i < blocks * p; ++i)
    s.pdValues.push_back(int8_t(value(rng)));
  std::uniform_int_distribution<int64_t> bias(-20000, 20000);
  for (int64_t o = 0; o < outputs; ++o)
    s.bias.push_back(bias(rng));
  s.multiplier = 20000;
  s.shift = 23;
  return s;
}

/// y = requantize(x . W^T + b) with W from the definition of the weight:
/// row c of block (i, j) holds values[i, j, c] at column (c + k) mod p.
std::vector<int8_t> reference(const LayerSpec &s, const std::vector<int8_t> &x,
                              int64_t n, int64_t inputs) {
  const int64_t p = s.blockSize, cols = (inputs + p - 1) / p;
  std::vector<int8_t> y(size_t(n * s.outChannels));
  sd::compression::Requantization rq{s.multiplier, s.shift};
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < s.outChannels; ++o) {
      int64_t acc = s.bias[size_t(o)];
      for (int64_t j = 0; j < cols; ++j) {
        int64_t blk = (o / p) * cols + j;
        int64_t col = j * p + (o % p + s.pdOffsets[size_t(blk)]) % p;
        if (col < inputs)
          acc += int64_t(x[size_t(b * inputs + col)]) *
                 s.pdValues[size_t(blk * p + o % p)];
      }
      y[size_t(b * s.outChannels + o)] =
          sd::compression::requantize(acc, rq, s.relu);
    }
  return y;
}

struct LayerRun {
  std::vector<int8_t> y;
  SimStats stats;
};

LayerRun buildAndRun(const HardwareConfig &config, const LayerSpec &spec,
                     const std::vector<int8_t> &x, int64_t n, int64_t inputs) {
  ProgramBuilder builder(config);
  std::string error;
  EXPECT_TRUE(builder.addInput("x", {n, inputs}, error)) << error;
  EXPECT_TRUE(builder.addLayer(spec, error)) << error;
  EXPECT_TRUE(builder.markOutput(spec.output, error)) << error;
  Program program;
  EXPECT_TRUE(builder.build(program, error)) << error;
  Simulator sim(config);
  EXPECT_TRUE(sim.load(program, error)) << error;
  EXPECT_TRUE(sim.setInput("x", x, {n, inputs}, error)) << error;
  EXPECT_TRUE(sim.run(error)) << error;
  LayerRun r;
  EXPECT_TRUE(sim.tensor(spec.output, r.y));
  r.stats = sim.total();
  return r;
}

TEST(PermDiag, RecordsRoundTripAndMatchTheDefinition) {
  std::mt19937_64 rng(7);
  for (int64_t p : {1, 2, 3, 5, 8}) {
    LayerSpec s = randomLayer(rng, 11, 13, p, "x", "y");
    s.layout.shape = {11, 13};
    std::vector<uint8_t> bytes = packPermDiagRecords(s, 13);
    LayerDecl l;
    l.name = "y";
    l.k = 11;
    l.c = 13;
    l.blockRows = p;
    l.blocks = (13 + p - 1) / p;
    EXPECT_EQ(checkPermDiagRecords(l, bytes), "");
    LayerSpec back;
    std::string error;
    ASSERT_TRUE(unpackPermDiagRecords(l, bytes, back, error)) << error;
    EXPECT_EQ(back.pdOffsets, s.pdOffsets);
    EXPECT_EQ(back.pdValues, s.pdValues);
    // Dense weight: every row has exactly one weight per column block.
    std::vector<int32_t> w = permDiagDenseWeights(s);
    for (int64_t o = 0; o < 11; ++o)
      for (int64_t i = 0; i < 13; ++i) {
        int64_t blk = (o / p) * l.blocks + i / p;
        bool hit = (o % p + s.pdOffsets[size_t(blk)]) % p == i % p;
        EXPECT_EQ(w[size_t(o * 13 + i)],
                  hit ? s.pdValues[size_t(blk * p + o % p)] : 0);
      }
    // A damaged offset is reported.
    bytes[0] = uint8_t(p);
    EXPECT_NE(checkPermDiagRecords(l, bytes).find("is not below p"),
              std::string::npos);
    // So is a value outside the contract's [-127, 127].
    bytes[0] = 0;
    bytes[1] = 0x80;
    EXPECT_NE(checkPermDiagRecords(l, bytes).find("value -128 of block (0, 0)"),
              std::string::npos);
  }
}

TEST(PermDiag, SimulatorMatchesTheDefinitionOnEveryTiling) {
  std::mt19937_64 rng(11);
  struct Case {
    int64_t n, outputs, inputs, p;
  };
  for (const Case &c :
       {Case{1, 7, 10, 4}, Case{3, 29, 37, 3}, Case{9, 50, 70, 8},
        Case{4, 17, 33, 2}, Case{2, 5, 9, 1}, Case{12, 40, 45, 5}}) {
    LayerSpec s = randomLayer(rng, c.outputs, c.inputs, c.p, "x", "y");
    std::uniform_int_distribution<int> v(-127, 127);
    std::vector<int8_t> x(size_t(c.n * c.inputs));
    for (int8_t &e : x)
      e = int8_t(v(rng) % 3 == 0 ? 0 : v(rng));
    std::vector<int8_t> want = reference(s, x, c.n, c.inputs);
    int64_t clamped = std::count_if(want.begin(), want.end(), [](int8_t y) {
      return y == 127 || y == -127;
    });
    EXPECT_LT(clamped * 2, int64_t(want.size())) << "degenerate case";
    for (const HardwareConfig &config :
         {HardwareConfig::defaults(), tinyConfig()}) {
      if (c.p * 2 > config.pdPoolEntries())
        continue;
      LayerRun r = buildAndRun(config, s, x, c.n, c.inputs);
      EXPECT_EQ(r.y, want) << config.name << " n=" << c.n << " p=" << c.p;
    }
  }
}

TEST(PermDiag, ZeroInputsAreSkipped) {
  std::mt19937_64 rng(3);
  LayerSpec s = randomLayer(rng, 64, 96, 4, "x", "y");
  std::vector<int8_t> x(96, 5), half = x;
  for (size_t i = 0; i < half.size(); i += 2)
    half[i] = 0;
  HardwareConfig config = HardwareConfig::defaults();
  config.pdPes = 4; // few multipliers, so cycles follow the products
  config.pdMultipliersPerPe = 1;
  LayerRun full = buildAndRun(config, s, x, 1, 96);
  LayerRun sparse = buildAndRun(config, s, half, 1, 96);
  // 96 inputs x 16 row blocks products; half of them with half the inputs.
  EXPECT_EQ(full.stats.macs, 96u * 16u);
  EXPECT_EQ(sparse.stats.macs, 48u * 16u);
  const unsigned mac = unsigned(Unit::Mac);
  EXPECT_EQ(full.stats.unitBusy[mac], 96u * 16u / 4u + 2u);
  EXPECT_EQ(sparse.stats.unitBusy[mac], 48u * 16u / 4u + 2u);
  // No index: the only weight data moved is the records and the biases.
  EXPECT_EQ(full.stats.dramBytesByKind[unsigned(DmaKind::Index)], 0u);
  EXPECT_EQ(full.stats.dramBytesByKind[unsigned(DmaKind::Weights)],
            16u * 24u * 5u);
}

TEST(PermDiag, BuilderRejectsBadLayers) {
  std::mt19937_64 rng(5);
  HardwareConfig config = HardwareConfig::defaults();
  auto addError = [&](LayerSpec s, std::vector<int64_t> shape) {
    ProgramBuilder builder(config);
    std::string error;
    EXPECT_TRUE(builder.addInput("x", shape, error)) << error;
    EXPECT_FALSE(builder.addLayer(s, error));
    return error;
  };
  LayerSpec s = randomLayer(rng, 8, 8, 4, "x", "y");
  s.pdOffsets[1] = 4;
  EXPECT_NE(
      addError(s, {1, 8}).find("offset 4 of block 1 is not in [0, p = 4)"),
      std::string::npos);
  s = randomLayer(rng, 8, 8, 4, "x", "y");
  s.pdValues.pop_back();
  EXPECT_NE(addError(s, {1, 8}).find("values hold 15 values, expected 16"),
            std::string::npos);
  s = randomLayer(rng, 8, 8, 40, "x", "y");
  EXPECT_NE(addError(s, {1, 8}).find("block size p = 40 must be in [1, 32]"),
            std::string::npos);
  s = randomLayer(rng, 8, 8, 4, "x", "y");
  s.kind = LayerKind::Conv;
  EXPECT_NE(addError(s, {1, 8, 1, 1}).find("must be fully connected"),
            std::string::npos);
}

} // namespace
