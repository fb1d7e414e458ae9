//===- SimulatorTest.cpp - Tests of the accelerator simulator -------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "../Accel/RandomLayers.h"

#include "SD/Accel/ProgramFile.h"
#include "SD/Simulator/Simulator.h"

#include "gtest/gtest.h"

using namespace sd::sdacc;
using namespace sd::sdacc::testing;

namespace {

/// A configuration with tiny buffers, so every layer is banded, split into
/// block tiles and chunked.
HardwareConfig tinyConfig() {
  HardwareConfig c = HardwareConfig::defaults();
  c.name = "tiny";
  c.dimM = 3;
  c.dimC = 2;
  c.dimF = 3;
  c.accEntries = 10;
  c.weightRfRows = 24;
  c.input.bytes = 600;
  c.output.bytes = 80;
  c.weight.bytes = 300;
  c.index.bytes = 64;
  c.queueDepth = 2;
  EXPECT_EQ(c.verify(), "");
  return c;
}

struct Net {
  std::vector<int64_t> inShape;
  std::vector<int8_t> x;
  std::vector<LayerSpec> layers;
  std::vector<std::vector<int64_t>> shapes; ///< Input shape of each layer.
};

/// A random chain: a strided conv, a 1x1 conv, a fully connected layer.
Net randomNet(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Net net;
  net.inShape = {2, 6, 9, 8};
  net.x = randomActivations(rng, 2 * 6 * 9 * 8);
  LayerShape a;
  a.k = 7;
  a.strideH = 2;
  a.padBottom = 0;
  a.maxBlockRows = 5;
  LayerShape b;
  b.k = 5;
  b.r = b.s = 1;
  b.padTop = b.padLeft = b.padBottom = b.padRight = 0;
  b.format = WeightFormat::Dense;
  LayerShape c;
  c.kind = LayerKind::FullyConnected;
  c.k = 4;
  c.zeroRows = 0.6;
  c.maxBlockRows = 16; // the tiny configuration's lines hold 48 rows
  std::vector<int64_t> s1 = {2, 6, 9, 8}, s2 = {2, 7, 4, 8}, s3 = {2, 5, 4, 8};
  net.layers.push_back(randomLayer(rng, "a", "x", "ya", s1, a));
  net.layers.push_back(randomLayer(rng, "b", "ya", "yb", s2, b));
  net.layers.push_back(randomLayer(rng, "c", "yb", "yc", s3, c));
  net.shapes = {s1, s2, s3};
  // Eight outputs could all be clamped to zero by a ReLU.
  net.layers[2].relu = false;
  // Pick each layer's shift so that its outputs are mostly in range.
  std::vector<int8_t> x = net.x;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    LayerSpec &l = net.layers[i];
    int64_t best = -1, bestShift = 1;
    for (int64_t shift = 8; shift <= 50; ++shift) {
      l.shift = shift;
      std::vector<int8_t> y = referenceLayer(l, x, net.shapes[i]);
      int64_t inRange = std::count_if(y.begin(), y.end(), [](int8_t v) {
        return v != 0 && v != 127 && v != -127;
      });
      if (inRange > best) {
        best = inRange;
        bestShift = shift;
      }
    }
    l.shift = bestShift;
    x = referenceLayer(l, x, net.shapes[i]);
  }
  return net;
}

Program build(const Net &net, const HardwareConfig &config,
              LoopOrder order = LoopOrder::Auto) {
  ProgramBuilder builder(config);
  builder.setLoopOrder(order);
  std::string error;
  EXPECT_TRUE(builder.addInput("x", net.inShape, error)) << error;
  for (const LayerSpec &l : net.layers)
    EXPECT_TRUE(builder.addLayer(l, error)) << error;
  for (const LayerSpec &l : net.layers)
    EXPECT_TRUE(builder.markOutput(l.output, error)) << error;
  Program program;
  EXPECT_TRUE(builder.build(program, error)) << error;
  return program;
}

/// Runs `program`; returns the outputs of every layer in order.
std::vector<std::vector<int8_t>> simulate(const Program &program,
                                          const HardwareConfig &config,
                                          const Net &net,
                                          Simulator *keep = nullptr) {
  Simulator local(config);
  Simulator &sim = keep ? *keep : local;
  std::string error;
  EXPECT_TRUE(sim.load(program, error)) << error;
  EXPECT_TRUE(sim.setInput("x", net.x, net.inShape, error)) << error;
  EXPECT_TRUE(sim.run(error)) << error;
  std::vector<std::vector<int8_t>> outputs;
  for (const LayerSpec &l : net.layers) {
    outputs.emplace_back();
    EXPECT_TRUE(sim.tensor(l.output, outputs.back()));
  }
  return outputs;
}

TEST(Simulator, MatchesTheDirectReferenceOnEveryTiling) {
  for (uint64_t seed = 0; seed < 6; ++seed) {
    Net net = randomNet(seed);
    std::vector<std::vector<int8_t>> expected;
    std::vector<int8_t> x = net.x;
    for (size_t i = 0; i < net.layers.size(); ++i) {
      expected.push_back(referenceLayer(net.layers[i], x, net.shapes[i]));
      x = expected.back();
    }
    // The outputs are informative: not only saturated or zero values.
    for (const std::vector<int8_t> &y : expected)
      EXPECT_TRUE(
          std::any_of(y.begin(), y.end(),
                      [](int8_t v) { return v != 0 && v != 127 && v != -127; }))
          << seed << " layer " << (&y - &expected[0]);
    const HardwareConfig &big = HardwareConfig::defaults();
    HardwareConfig tiny = tinyConfig();
    EXPECT_EQ(simulate(build(net, big), big, net), expected) << seed;
    EXPECT_EQ(simulate(build(net, tiny), tiny, net), expected) << seed;
    EXPECT_EQ(simulate(build(net, tiny, LoopOrder::GroupsOuter), tiny, net),
              expected)
        << seed;
  }
}

TEST(Simulator, CountsWorkTrafficAndEnergy) {
  Net net = randomNet(42);
  const HardwareConfig &c = HardwareConfig::defaults();
  ProgramBuilder builder(c);
  std::string error;
  ASSERT_TRUE(builder.addInput("x", net.inShape, error));
  for (const LayerSpec &l : net.layers)
    ASSERT_TRUE(builder.addLayer(l, error)) << error;
  ASSERT_TRUE(builder.markOutput("yc", error));
  Program program;
  ASSERT_TRUE(builder.build(program, error)) << error;
  Simulator sim(c);
  simulate(program, c, net, &sim);
  const SimStats &t = sim.total();
  ASSERT_EQ(sim.layers().size(), 3u);
  uint64_t dense = 0;
  for (const LayerDecl &l : program.layers)
    dense += uint64_t(l.denseMacs());
  EXPECT_EQ(t.denseMacs, dense);
  EXPECT_GT(t.macs, 0u);
  EXPECT_GT(t.cycles, 0u);
  // The array cannot do more than its peak.
  EXPECT_LE(double(t.macs), double(t.cycles) * double(c.numMacs()));
  // DRAM traffic is what the schedules planned.
  uint64_t planned = 0;
  for (const LayerSchedule &s : builder.schedules())
    planned +=
        uint64_t(s.dramInputBytes + s.dramWeightBytes + s.dramOutputBytes);
  const Traffic &dram = t.at(Level::Dram);
  EXPECT_EQ(dram.readBytes + dram.writeBytes, planned);
  // The se layers skip zero rows; the dense one skips nothing.
  EXPECT_GT(sim.layers()[0].stats.rowsSkipped, 0u);
  EXPECT_EQ(sim.layers()[1].stats.rowsSkipped, 0u);
  EXPECT_EQ(sim.layers()[1].stats.shifts, 0u);
  EXPECT_GT(sim.layers()[0].stats.shifts, 0u);
  Energy e = computeEnergy(t, c);
  EXPECT_GT(e.byLevel[unsigned(Level::Dram)], 0.0);
  EXPECT_NEAR(e.mac, double(t.macs) * c.mac.pj, 1e-6);
  JsonValue report = sim.report("smartexchange");
  ASSERT_NE(report.find("energy_pj"), nullptr);
  EXPECT_EQ(report.find("layers")->elements().size(), 3u);
  // Deterministic: a second run reports the same.
  Simulator again(c);
  simulate(program, c, net, &again);
  EXPECT_EQ(again.report("smartexchange").write(), report.write());
}

TEST(Simulator, ZeroRowsSaveCycles) {
  // The same layer with more zero Ce rows takes fewer cycles.
  auto cycles = [](double zeroRows) {
    std::mt19937_64 rng(1);
    LayerShape s;
    s.k = 16;
    s.zeroRows = zeroRows;
    ProgramBuilder builder(HardwareConfig::defaults());
    std::string error;
    EXPECT_TRUE(builder.addInput("x", {1, 32, 16, 16}, error));
    EXPECT_TRUE(builder.addLayer(
        randomLayer(rng, "l", "x", "y", {1, 32, 16, 16}, s), error));
    Program p;
    EXPECT_TRUE(builder.build(p, error)) << error;
    Simulator sim(HardwareConfig::defaults());
    EXPECT_TRUE(sim.load(p, error));
    EXPECT_TRUE(sim.setInput("x", std::vector<int8_t>(32 * 256, 1),
                             {1, 32, 16, 16}, error));
    EXPECT_TRUE(sim.run(error)) << error;
    return sim.total().cycles;
  };
  EXPECT_LT(cycles(0.8), cycles(0.0));
}

TEST(Simulator, DenseBaselineRunsTheSameNetwork) {
  Net net = randomNet(7);
  const HardwareConfig &c = HardwareConfig::defaults();
  Program se = build(net, c), dense;
  std::string error;
  ASSERT_TRUE(buildDenseBaseline(se, c, dense, error)) << error;
  ASSERT_EQ(dense.layers.size(), se.layers.size());
  for (const LayerDecl &l : dense.layers)
    EXPECT_EQ(l.weightFormat(), WeightFormat::Dense);
  for (size_t i = 0; i < se.tensors.size(); ++i) {
    EXPECT_EQ(dense.tensors[i].name, se.tensors[i].name);
    EXPECT_EQ(dense.tensors[i].shape, se.tensors[i].shape);
  }
  Simulator sim(c);
  simulate(dense, c, net, &sim);
  EXPECT_EQ(sim.total().rowsSkipped, 0u);
  EXPECT_EQ(sim.total().shifts, 0u);
}

TEST(Simulator, ExecutionFaultsAreReportedNotCrashed) {
  Net net = randomNet(3);
  const HardwareConfig &c = HardwareConfig::defaults();
  std::string error;
  // Drop the first load_b: the rebuild has no B.
  Program p = build(net, c);
  for (size_t i = 0; i < p.instructions.size(); ++i)
    if (p.instructions[i].opcode == Opcode::LoadB) {
      p.instructions.erase(p.instructions.begin() + long(i));
      break;
    }
  Simulator sim(c);
  ASSERT_TRUE(sim.load(p, error)) << error;
  ASSERT_TRUE(sim.setInput("x", net.x, net.inShape, error));
  EXPECT_FALSE(sim.run(error));
  EXPECT_NE(error.find("holds no B of block 0"), std::string::npos) << error;
  // Drop every rebuild: the mac has no weights.
  p = build(net, c);
  std::vector<Instruction> kept;
  for (const Instruction &inst : p.instructions)
    if (inst.opcode != Opcode::Rebuild)
      kept.push_back(inst);
  p.instructions = kept;
  Simulator sim2(c);
  ASSERT_TRUE(sim2.load(p, error)) << error;
  ASSERT_TRUE(sim2.setInput("x", net.x, net.inShape, error));
  EXPECT_FALSE(sim2.run(error));
  EXPECT_NE(error.find("holds no weights of the current tile"),
            std::string::npos)
      << error;
  // Inputs must be given, with the declared shape.
  Simulator sim3(c);
  ASSERT_TRUE(sim3.load(build(net, c), error));
  EXPECT_FALSE(sim3.setInput("x", net.x, {2, 6, 8, 9}, error));
  EXPECT_NE(error.find("has shape [2, 6, 8, 9], the program expects "
                       "[2, 6, 9, 8]"),
            std::string::npos);
  EXPECT_FALSE(sim3.setInput("ya", net.x, net.inShape, error));
  EXPECT_FALSE(sim3.run(error));
  EXPECT_EQ(error, "input 'x' was not given");
}

} // namespace
