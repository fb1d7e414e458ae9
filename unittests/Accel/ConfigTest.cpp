//===- ConfigTest.cpp - Tests of the hardware configuration file ----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/Json.h"

#include "gtest/gtest.h"

using namespace sd::sdacc;

namespace {

/// The default configuration's JSON with `edit` applied to its root.
template <typename Edit> std::string edited(Edit edit) {
  JsonValue root;
  std::string error;
  EXPECT_TRUE(parseJson(HardwareConfig::defaultJson(), root, error));
  edit(root);
  return root.write();
}

TEST(Config, DefaultMirrorsThePublishedDesign) {
  const HardwareConfig &c = HardwareConfig::defaults();
  EXPECT_EQ(c.name, "smartdeal-default");
  EXPECT_EQ(c.verify(), "");
  EXPECT_EQ(c.enginesPerLine, 2); // ping-pong rebuild engines
  EXPECT_EQ(c.basisRfBytes, 9);   // one 3x3 B each
  EXPECT_EQ(c.activationBits, 8);
  EXPECT_EQ(c.basisBits, 8);
  EXPECT_EQ(c.ceBits, 4);
  EXPECT_GT(c.numMacs(), 0);
  // Every energy figure says where it comes from.
  for (const std::string *source :
       {&c.input.source, &c.output.source, &c.weight.source, &c.index.source,
        &c.dramSource, &c.basisRf.source, &c.weightRf.source, &c.accRf.source,
        &c.mac.source, &c.shift.source, &c.add.source, &c.requant.source})
    EXPECT_FALSE(source->empty());
  EXPECT_NE(c.dramSource.find("Horowitz"), std::string::npos);
  // 4-bit codes: 7 levels, whose rebuilt weights fit 16 bits.
  EXPECT_GE(c.maxExponentLevels(), 7);
}

TEST(Config, WritesAndReadsBackTheSameConfiguration) {
  const HardwareConfig &c = HardwareConfig::defaults();
  HardwareConfig back;
  std::string error;
  ASSERT_TRUE(HardwareConfig::parse(c.toJson().write(), back, error)) << error;
  EXPECT_EQ(back.fingerprint(), c.fingerprint());
  EXPECT_EQ(back.toJson().write(), c.toJson().write());
}

TEST(Config, FingerprintCoversArchitectureNotEnergyOrTiming) {
  const HardwareConfig &base = HardwareConfig::defaults();
  HardwareConfig c = base;
  c.dramReadPjPerByte *= 2;
  c.mac.pj = 1.0;
  c.clockMhz = 500;
  c.dramBytesPerCycle = 4;
  c.queueDepth = 2;
  EXPECT_EQ(c.fingerprint(), base.fingerprint());
  c.input.bytes /= 2;
  EXPECT_NE(c.fingerprint(), base.fingerprint());
  c = base;
  c.dimF = 4;
  EXPECT_NE(c.fingerprint(), base.fingerprint());
}

TEST(Config, PermDiagEngineFields) {
  const HardwareConfig &base = HardwareConfig::defaults();
  EXPECT_EQ(base.pdPes, base.dimM * base.dimC);
  EXPECT_EQ(base.pdMultipliersPerPe, base.dimF);
  EXPECT_EQ(base.pdMaxBlockSize, 32);
  // The PEs and multipliers only time a program; the largest block size
  // decides which programs are legal.
  HardwareConfig c = base;
  c.pdPes = 32;
  c.pdMultipliersPerPe = 4;
  EXPECT_EQ(c.fingerprint(), base.fingerprint());
  c.pdMaxBlockSize = 16;
  EXPECT_NE(c.fingerprint(), base.fingerprint());
  std::string error;
  EXPECT_FALSE(HardwareConfig::parse(edited([](JsonValue &r) {
                                       JsonValue p = *r.find("permdiag_engine");
                                       p.set("max_block_size",
                                             JsonValue::integer(256));
                                       r.set("permdiag_engine", p);
                                     }),
                                     c, error));
  EXPECT_EQ(error, "permdiag_engine.max_block_size = 256 must be in [1, 255]");
}

TEST(Config, ErrorsNameTheField) {
  HardwareConfig c;
  std::string error;
  EXPECT_FALSE(HardwareConfig::parse(
      edited([](JsonValue &r) { r.set("colour", JsonValue::string("red")); }),
      c, error));
  EXPECT_EQ(error, "unknown key 'colour'");
  EXPECT_FALSE(HardwareConfig::parse(edited([](JsonValue &r) {
                                       JsonValue a = JsonValue::object();
                                       a.set("dim_m", JsonValue::integer(4));
                                       a.set("dim_c", JsonValue::integer(4));
                                       r.set("pe_array", a);
                                     }),
                                     c, error));
  EXPECT_EQ(error, "missing 'pe_array.dim_f'");
  EXPECT_FALSE(HardwareConfig::parse(edited([](JsonValue &r) {
                                       r.set("queue_depth",
                                             JsonValue::string("8"));
                                     }),
                                     c, error));
  EXPECT_EQ(error, "'queue_depth' must be an integer");
  EXPECT_FALSE(HardwareConfig::parse(edited([](JsonValue &r) {
                                       r.set("queue_depth",
                                             JsonValue::number(2.5));
                                     }),
                                     c, error));
  EXPECT_EQ(error, "'queue_depth' must be an integer");
  EXPECT_FALSE(HardwareConfig::parse(edited([](JsonValue &r) {
                                       JsonValue p = *r.find("precision");
                                       p.set("ce_bits", JsonValue::integer(9));
                                       r.set("precision", p);
                                     }),
                                     c, error));
  EXPECT_EQ(error, "precision.ce_bits = 9 must be in [2, 8]");
  EXPECT_FALSE(HardwareConfig::parse("{\"name\": ", c, error));
  EXPECT_NE(error.find("line 1"), std::string::npos);
  EXPECT_FALSE(HardwareConfig::load("/nonexistent/config.json", c, error));
  EXPECT_EQ(error, "cannot open '/nonexistent/config.json'");
}

TEST(Json, ParsesAndWritesDeterministically) {
  JsonValue v;
  std::string error;
  ASSERT_TRUE(parseJson(R"({"b": [1, 2.5, -3e2], "a": {"s": "x\"y\u00e9"},
                            "t": true, "n": null})",
                        v, error))
      << error;
  int64_t i;
  ASSERT_TRUE(v.find("b")->elements()[0].asInteger(i));
  EXPECT_EQ(i, 1);
  EXPECT_EQ(v.find("b")->elements()[2].asNumber(), -300.0);
  EXPECT_EQ(v.find("a")->find("s")->asString(), "x\"y\xc3\xa9");
  // Keys keep their order; the writer round-trips.
  JsonValue back;
  ASSERT_TRUE(parseJson(v.write(), back, error)) << error;
  EXPECT_EQ(back.write(), v.write());
  EXPECT_EQ(v.members().front().first, "b");
  EXPECT_FALSE(parseJson("{\"a\": 1, \"a\": 2}", v, error));
  EXPECT_NE(error.find("duplicate key"), std::string::npos);
  EXPECT_FALSE(parseJson(std::string(100, '['), v, error));
  EXPECT_NE(error.find("nesting"), std::string::npos);
  EXPECT_EQ(formatDouble(0.1), "0.1");
  EXPECT_EQ(formatDouble(-0.0), "0");
}

} // namespace
