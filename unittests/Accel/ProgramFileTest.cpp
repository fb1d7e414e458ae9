//===- ProgramFileTest.cpp - Tests of binary and text program files -------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "RandomLayers.h"

#include "SD/Accel/ProgramFile.h"

#include "gtest/gtest.h"

using namespace sd::sdacc;
using namespace sd::sdacc::testing;

namespace {

/// A small two-layer network: a se 3x3 convolution and a dense FC layer.
Program smallProgram() {
  std::mt19937_64 rng(3);
  ProgramBuilder builder(HardwareConfig::defaults());
  std::string error;
  EXPECT_TRUE(builder.addInput("x", {2, 5, 6, 7}, error)) << error;
  LayerShape conv;
  conv.k = 6;
  conv.maxBlockRows = 4;
  EXPECT_TRUE(builder.addLayer(
      randomLayer(rng, "conv", "x", "y", {2, 5, 6, 7}, conv), error))
      << error;
  LayerShape fc;
  fc.kind = LayerKind::FullyConnected;
  fc.format = WeightFormat::Dense;
  fc.k = 3;
  EXPECT_TRUE(builder.addLayer(
      randomLayer(rng, "fc", "y", "z", {2, 6, 6, 7}, fc), error))
      << error;
  EXPECT_TRUE(builder.markOutput("z", error)) << error;
  Program program;
  EXPECT_TRUE(builder.build(program, error)) << error;
  return program;
}

TEST(ProgramFile, Crc32MatchesZlib) {
  const char *check = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t *>(check), 9), 0xCBF43926u);
}

TEST(ProgramFile, BinaryAndTextRoundTrip) {
  Program program = smallProgram();
  ASSERT_FALSE(program.instructions.empty());
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(writeProgramBinary(program, bytes, error)) << error;
  Program fromBinary;
  ASSERT_TRUE(readProgramBinary(bytes, fromBinary, error)) << error;
  EXPECT_TRUE(fromBinary == program);

  std::string text = writeProgramText(fromBinary);
  Program fromText;
  ASSERT_TRUE(readProgramText(text, fromText, error)) << error;
  EXPECT_TRUE(fromText == program);
  std::vector<uint8_t> again;
  ASSERT_TRUE(writeProgramBinary(fromText, again, error)) << error;
  EXPECT_EQ(again, bytes); // binary -> text -> binary, byte for byte
  EXPECT_EQ(writeProgramText(fromText), text);
  EXPECT_EQ(verifyProgram(fromText, HardwareConfig::defaults()), "");
}

TEST(ProgramFile, EveryTruncationIsAnErrorNotACrash) {
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(writeProgramBinary(smallProgram(), bytes, error));
  for (size_t size = 0; size < bytes.size(); ++size) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + long(size));
    Program p;
    ASSERT_FALSE(readProgramBinary(cut, p, error)) << size;
    EXPECT_NE(error.find("truncated"), std::string::npos)
        << size << ": " << error;
  }
}

TEST(ProgramFile, EveryFlippedByteIsAnError) {
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(writeProgramBinary(smallProgram(), bytes, error));
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<uint8_t> bad = bytes;
    bad[i] ^= 0x10;
    Program p;
    ASSERT_FALSE(readProgramBinary(bad, p, error)) << i;
    if (i >= 24) { // past magic, version and size
      EXPECT_NE(error.find("checksum mismatch"), std::string::npos)
          << i << ": " << error;
    }
  }
}

TEST(ProgramFile, RejectsUnknownVersionsAndForeignFiles) {
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(writeProgramBinary(smallProgram(), bytes, error));
  std::vector<uint8_t> v2 = bytes;
  v2[8] = 2;
  Program p;
  EXPECT_FALSE(readProgramBinary(v2, p, error));
  EXPECT_EQ(error,
            "unsupported program file version 2 (this reader knows version 1)");
  std::vector<uint8_t> foreign = {'\x7f', 'E', 'L', 'F', 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(readProgramBinary(foreign, p, error));
  EXPECT_EQ(error, "not a SmartDeal accelerator program (bad magic)");
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(readProgramBinary(longer, p, error));
  EXPECT_NE(error.find("but the header declares"), std::string::npos);
}

TEST(ProgramFile, StructuralDamageWithAValidChecksumIsAnError) {
  // Rewrite a field and fix the checksum, so the structure checks run.
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(writeProgramBinary(smallProgram(), bytes, error));
  auto reseal = [](std::vector<uint8_t> &b) {
    uint32_t crc = crc32(b.data(), b.size() - 4);
    for (int i = 0; i < 4; ++i)
      b[b.size() - 4 + size_t(i)] = uint8_t(crc >> (8 * i));
  };
  Program p;
  std::vector<uint8_t> sections = bytes;
  sections[36] = 200; // section count
  reseal(sections);
  EXPECT_FALSE(readProgramBinary(sections, p, error));
  EXPECT_NE(error.find("does not fit"), std::string::npos) << error;
  std::vector<uint8_t> offset = bytes;
  offset[48 + 8 + 6] = 0x7f; // first section's offset, a high byte
  reseal(offset);
  EXPECT_FALSE(readProgramBinary(offset, p, error));
  EXPECT_NE(error.find("outside the file's payload"), std::string::npos)
      << error;
  std::vector<uint8_t> layers = bytes;
  layers[32] = 9; // layer count
  reseal(layers);
  EXPECT_FALSE(readProgramBinary(layers, p, error));
  EXPECT_NE(error.find("declares 9 layers"), std::string::npos) << error;
}

TEST(ProgramFile, TextErrorsNameTheLine) {
  std::string text = writeProgramText(smallProgram());
  Program p;
  std::string error;
  EXPECT_FALSE(readProgramText(text.substr(0, text.size() / 2), p, error));
  EXPECT_FALSE(error.empty());
  std::string noEnd = text.substr(0, text.rfind("end"));
  EXPECT_FALSE(readProgramText(noEnd, p, error));
  EXPECT_NE(error.find("missing 'end'"), std::string::npos) << error;
  std::string badVersion = text;
  badVersion.replace(0, badVersion.find('\n'), "sdacc-program version=7");
  EXPECT_FALSE(readProgramText(badVersion, p, error));
  EXPECT_EQ(error, "line 1: unsupported program text version (this reader "
                   "knows version 1)");
  std::string badInstr = text;
  size_t at = badInstr.find("  load_b");
  ASSERT_NE(at, std::string::npos);
  badInstr.replace(at, 8, "  load_x");
  EXPECT_FALSE(readProgramText(badInstr, p, error));
  EXPECT_NE(error.find("unknown instruction 'load_x'"), std::string::npos);
}

TEST(ProgramFile, VerifierRejectsAForeignConfiguration) {
  Program program = smallProgram();
  HardwareConfig other = HardwareConfig::defaults();
  other.dimM = 8;
  EXPECT_NE(verifyProgram(program, other)
                .find("program was built for a different hardware "
                      "configuration"),
            std::string::npos);
}

TEST(ProgramFile, VerifierRejectsInconsistentPrograms) {
  const HardwareConfig &c = HardwareConfig::defaults();
  Program program = smallProgram();
  // An instruction whose field is out of range for the configuration.
  for (Instruction &inst : program.instructions)
    if (inst.opcode == Opcode::CfgTile) {
      inst[field::CfgTile::Channels] = c.dimM + 1;
      break;
    }
  EXPECT_NE(verifyProgram(program, c).find("channels = 17 is out of range"),
            std::string::npos);
  // A configuration instruction that disagrees with the layer table.
  program = smallProgram();
  for (Instruction &inst : program.instructions)
    if (inst.opcode == Opcode::CfgInput) {
      inst[field::CfgInput::C] = 4;
      break;
    }
  EXPECT_NE(verifyProgram(program, c).find("c = 4 but layer 'conv' has 5"),
            std::string::npos);
  // A DMA reading outside every tensor.
  program = smallProgram();
  for (Instruction &inst : program.instructions)
    if (inst.opcode == Opcode::DmaLoad) {
      inst[field::DmaLoad::DramAddr] += 1 << 20;
      break;
    }
  EXPECT_NE(verifyProgram(program, c).find("is not inside one"),
            std::string::npos);
  // A Ce code outside the exponent range, inside the codes segment.
  program = smallProgram();
  for (DataSegment &s : program.segments)
    if (s.kind == DmaKind::Codes)
      s.bytes[0] = 0x08; // code -8 with 4-bit codes
  EXPECT_NE(verifyProgram(program, c).find("is outside the"),
            std::string::npos);
  // A mac before its band is configured.
  program = smallProgram();
  for (size_t i = 0; i < program.instructions.size(); ++i)
    if (program.instructions[i].opcode == Opcode::CfgBand) {
      program.instructions.erase(program.instructions.begin() + long(i));
      break;
    }
  EXPECT_NE(verifyProgram(program, c).find("needs a cfg_band earlier"),
            std::string::npos);
}

} // namespace
