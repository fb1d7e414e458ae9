//===- ISATest.cpp - Tests of the accelerator instruction encoding --------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/ISA.h"

#include "gtest/gtest.h"

#include <random>

using namespace sd::sdacc;

namespace {

/// An instruction with every field at `pick(field)`.
template <typename Pick> Instruction make(const InstrDesc &d, Pick pick) {
  Instruction inst;
  inst.opcode = d.opcode;
  for (size_t i = 0; i < d.fields.size(); ++i)
    inst[unsigned(i)] = pick(d.fields[i]);
  return inst;
}

TEST(ISA, FieldsArePackedAfterTheOpcodeWithin128Bits) {
  for (const InstrDesc &d : instructionTable()) {
    unsigned offset = kOpcodeBits;
    for (const FieldDesc &f : d.fields) {
      EXPECT_EQ(f.offset, offset) << d.mnemonic << "." << f.name;
      EXPECT_GT(f.bits, 0u);
      offset += f.bits;
    }
    EXPECT_LE(d.usedBits(), 8 * kInstructionBytes) << d.mnemonic;
    EXPECT_LE(d.fields.size(), size_t(kMaxFields));
    EXPECT_EQ(findInstruction(unsigned(d.opcode)), &d);
    EXPECT_EQ(findInstruction(std::string(d.mnemonic)), &d);
  }
}

TEST(ISA, OpcodesFitAndAreUnique) {
  for (const InstrDesc &a : instructionTable()) {
    EXPECT_LT(unsigned(a.opcode), 1u << kOpcodeBits);
    EXPECT_NE(unsigned(a.opcode), 0u) << "opcode 0 is kept invalid";
    for (const InstrDesc &b : instructionTable())
      if (&a != &b) {
        EXPECT_NE(a.opcode, b.opcode);
        EXPECT_STRNE(a.mnemonic, b.mnemonic);
      }
  }
}

TEST(ISA, EveryInstructionRoundTripsAtItsLimitsAndAtRandom) {
  std::mt19937_64 rng(7);
  for (const InstrDesc &d : instructionTable()) {
    std::vector<Instruction> cases = {
        make(d, [](const FieldDesc &f) { return f.minValue(); }),
        make(d, [](const FieldDesc &f) { return f.maxValue(); }),
    };
    for (int i = 0; i < 50; ++i)
      cases.push_back(make(d, [&](const FieldDesc &f) {
        uint64_t span = uint64_t(f.maxValue() - f.minValue()) + 1;
        return f.minValue() + int64_t(span ? rng() % span : rng());
      }));
    for (const Instruction &inst : cases) {
      uint8_t bytes[kInstructionBytes];
      std::string error;
      ASSERT_TRUE(encode(inst, bytes, error)) << error;
      Instruction back;
      ASSERT_TRUE(decode(bytes, back, error)) << error;
      EXPECT_EQ(back, inst) << printInstruction(inst);
      Instruction parsed;
      ASSERT_TRUE(parseInstruction(printInstruction(inst), parsed, error))
          << error;
      EXPECT_EQ(parsed, inst) << printInstruction(inst);
    }
  }
}

TEST(ISA, EncodeRejectsValuesWiderThanTheirField) {
  Instruction inst(Opcode::LoadB, {2, 0}); // bank is one bit
  uint8_t bytes[kInstructionBytes];
  std::string error;
  EXPECT_FALSE(encode(inst, bytes, error));
  EXPECT_NE(error.find("load_b.bank = 2 does not fit its 1-bit field"),
            std::string::npos)
      << error;
  Instruction neg(Opcode::CfgInput, {-1, 1, 1, 1});
  EXPECT_FALSE(encode(neg, bytes, error));
}

TEST(ISA, DecodeRejectsUnknownOpcodesReservedBitsAndBadEnums) {
  uint8_t bytes[kInstructionBytes] = {0};
  Instruction inst;
  std::string error;
  EXPECT_FALSE(decode(bytes, inst, error)); // opcode 0
  EXPECT_NE(error.find("unknown opcode 0x00"), std::string::npos) << error;

  ASSERT_TRUE(encode(Instruction(Opcode::Sync, {}), bytes, error));
  bytes[15] = 0x80;
  EXPECT_FALSE(decode(bytes, inst, error));
  EXPECT_NE(error.find("reserved bits 6..127"), std::string::npos) << error;

  // DMA kind 7 does not exist (3-bit field, 6 kinds).
  ASSERT_TRUE(
      encode(Instruction(Opcode::DmaLoad, {0, 0, 0, 1, 1, 0}), bytes, error));
  bytes[0] |= 7 << kOpcodeBits; // kind sits right after the opcode
  bytes[1] |= 7 >> (8 - kOpcodeBits);
  EXPECT_FALSE(decode(bytes, inst, error));
  EXPECT_NE(error.find("dma_load.kind = 7 is not a valid dma kind"),
            std::string::npos)
      << error;
}

TEST(ISA, SignedFieldsKeepTheirSign) {
  Instruction inst(Opcode::CfgWeight, {0, 1, 24, 4, -8, -2});
  uint8_t bytes[kInstructionBytes];
  std::string error;
  ASSERT_TRUE(encode(inst, bytes, error));
  Instruction back;
  ASSERT_TRUE(decode(bytes, back, error));
  EXPECT_EQ(back[field::CfgWeight::MinExp], -8);
  EXPECT_EQ(back[field::CfgWeight::MaxExp], -2);
}

TEST(ISA, VerifierChecksFieldsAgainstTheConfiguration) {
  const HardwareConfig &c = HardwareConfig::defaults();
  auto verify = [&](Instruction inst) { return verifyInstruction(inst, c); };
  EXPECT_EQ(verify(Instruction(Opcode::CfgTile, {c.dimM, 0, 1, 0, 0, 0})), "");
  EXPECT_NE(verify(Instruction(Opcode::CfgTile, {c.dimM + 1, 0, 1, 0, 0, 0}))
                .find("cfg_tile: channels = 17 is out of range: must be 1 .. "
                      "dim_m (16 maximum in this configuration)"),
            std::string::npos);
  EXPECT_NE(
      verify(Instruction(Opcode::CfgTile, {1, 0, 1, c.weight.bytes, 0, 0}))
          .find("code_addr"),
      std::string::npos);
  // A DMA whose rows overflow the input buffer.
  EXPECT_NE(verify(Instruction(Opcode::DmaLoad, {int64_t(DmaKind::Act), 0,
                                                 c.input.bytes - 10, 8, 2, 8}))
                .find("destination [131062, 131078) overflows the input "
                      "buffer of 131072 bytes"),
            std::string::npos);
  EXPECT_NE(verify(Instruction(Opcode::DmaLoad,
                               {int64_t(DmaKind::Act), 0, 0, 0, 1, 0}))
                .find("length = 0 is out of range: must be >= 1"),
            std::string::npos);
  EXPECT_NE(verify(Instruction(Opcode::Mac, {0, 0, 200, 100, 1}))
                .find("accumulator entries [100, 300) exceed the 256"),
            std::string::npos);
  EXPECT_NE(verify(Instruction(Opcode::CfgKernel, {3, 3, 1, 1, 3, 0}))
                .find("pad_top = 3 must be smaller than r = 3"),
            std::string::npos);
  // 4-bit codes hold 7 exponent levels.
  EXPECT_EQ(verify(Instruction(Opcode::CfgWeight, {0, 1, 24, 4, -6, 0})), "");
  EXPECT_NE(verify(Instruction(Opcode::CfgWeight, {0, 1, 24, 4, -8, 5}))
                .find("has 14 levels, more than the 7 a 4-bit code holds"),
            std::string::npos);
  EXPECT_NE(verify(Instruction(Opcode::CfgWeight, {0, 1, 24, 5, -8, 5}))
                .find("code_bits = 5 is out of range"),
            std::string::npos);
  // block_rows spread over dim_c lines must fit the weight register file.
  HardwareConfig small = c;
  small.weightRfRows = 4;
  EXPECT_NE(
      verifyInstruction(
          Instruction(Opcode::CfgWeight, {0, 1, 8 * 4 + 1, 4, 0, 0}), small)
          .find("block_rows = 33 puts 5 rows on each of the 8 PE lines, "
                "more than the weight register file's 4"),
      std::string::npos);
  EXPECT_NE(verify(Instruction(Opcode::CfgQuant, {1000, 10, 0}))
                .find("multiplier = 1000 is out of range"),
            std::string::npos);
  EXPECT_NE(verify(Instruction(Opcode::CfgQuant, {1 << 14, 0, 0}))
                .find("shift = 0 is out of range: must be 1 .. 62"),
            std::string::npos);
}

TEST(ISA, TextFormErrorsNameTheProblem) {
  Instruction inst;
  std::string error;
  EXPECT_FALSE(parseInstruction("frobnicate x=1", inst, error));
  EXPECT_EQ(error, "unknown instruction 'frobnicate'");
  EXPECT_FALSE(parseInstruction("load_b bank=1", inst, error));
  EXPECT_EQ(error, "load_b: missing field 'block'");
  EXPECT_FALSE(parseInstruction("load_b bank=1 bank=0 block=2", inst, error));
  EXPECT_EQ(error, "load_b: field 'bank' given twice");
  EXPECT_FALSE(parseInstruction("load_b bank=1 block=2 color=3", inst, error));
  EXPECT_EQ(error, "load_b: unknown field 'color'");
  EXPECT_FALSE(parseInstruction(
      "dma_load kind=pixels dram_addr=0 buf_addr=0 length=1 count=1 "
      "dram_stride=0",
      inst, error));
  EXPECT_NE(error.find("bad value 'pixels'"), std::string::npos);
  EXPECT_FALSE(parseInstruction("load_b bank=3 block=2", inst, error));
  EXPECT_NE(error.find("does not fit its 1-bit field"), std::string::npos);
  ASSERT_TRUE(parseInstruction(
      "dma_load kind=codes dram_addr=0x40 buf_addr=16 length=8 count=2 "
      "dram_stride=0x10",
      inst, error))
      << error;
  EXPECT_EQ(inst[field::DmaLoad::Kind], int64_t(DmaKind::Codes));
  EXPECT_EQ(inst[field::DmaLoad::DramAddr], 64);
  EXPECT_EQ(printInstruction(inst),
            "dma_load kind=codes dram_addr=0x40 buf_addr=0x10 length=8 "
            "count=2 dram_stride=16");
}

} // namespace
