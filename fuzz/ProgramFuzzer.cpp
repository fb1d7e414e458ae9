//===- ProgramFuzzer.cpp - libFuzzer target: program files ----------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Any bytes as a program file, binary or text (as readProgramFile picks):
// the reader fails with a message or yields a program that verifyProgram()
// can check; a program read back from its own binary and text forms is the
// same program (the writers and readers agree on everything they accept).
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/Program.h"
#include "SD/Accel/ProgramFile.h"

#include <cstdlib>
#include <cstring>

using namespace sd::sdacc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const HardwareConfig config = HardwareConfig::defaults();
  std::vector<uint8_t> bytes(data, data + size);
  std::string magic = kProgramTextMagic;
  bool text = size >= magic.size() &&
              std::memcmp(data, magic.data(), magic.size()) == 0;
  Program program;
  std::string error;
  bool ok = text ? readProgramText(std::string(bytes.begin(), bytes.end()),
                                   program, error)
                 : readProgramBinary(bytes, program, error);
  if (!ok) {
    if (error.empty())
      std::abort();
    return 0;
  }
  (void)verifyProgram(program, config);

  // Round trips through both forms.
  std::vector<uint8_t> binary;
  if (writeProgramBinary(program, binary, error)) {
    Program again;
    if (!readProgramBinary(binary, again, error) || !(again == program))
      std::abort();
  }
  Program fromText;
  if (readProgramText(writeProgramText(program), fromText, error) &&
      !(fromText == program))
    std::abort();
  return 0;
}
