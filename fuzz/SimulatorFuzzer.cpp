//===- SimulatorFuzzer.cpp - libFuzzer target: the simulator --------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Any bytes as a program file; whatever the readers accept and
// verifyProgram() passes is run on the default hardware with inputs of
// deterministic bytes. The simulator must finish with a result or a fault
// message, never crash, read out of bounds or overflow. Programs beyond a
// small size are skipped to keep executions fast (the readers' and the
// verifier's own limits are fuzzed by sd-fuzz-program).
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/Program.h"
#include "SD/Accel/ProgramFile.h"
#include "SD/Simulator/Simulator.h"

#include <cstdlib>
#include <cstring>

using namespace sd::sdacc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const HardwareConfig config = HardwareConfig::defaults();
  std::string magic = kProgramTextMagic;
  bool text = size >= magic.size() &&
              std::memcmp(data, magic.data(), magic.size()) == 0;
  Program program;
  std::string error;
  bool ok = text ? readProgramText(
                       std::string(reinterpret_cast<const char *>(data), size),
                       program, error)
                 : readProgramBinary(std::vector<uint8_t>(data, data + size),
                                     program, error);
  if (!ok || !verifyProgram(program, config).empty())
    return 0;
  int64_t tensorBytes = 0;
  for (const TensorDecl &t : program.tensors)
    tensorBytes += t.numBytes();
  if (tensorBytes > (int64_t(1) << 20) || program.instructions.size() > 4096)
    return 0;

  // One simulator serves every input: load() replaces the program and
  // DRAM, run() clears every buffer, so nothing carries over, and the
  // buffers (a few hundred KiB) are not allocated and page-faulted again
  // for each input, which took a fifth of each execution (perf).
  static Simulator sim(config);
  if (!sim.load(program, error, /*verify=*/false)) {
    if (error.empty())
      std::abort();
    return 0;
  }
  for (const TensorDecl &t : program.tensors) {
    if (t.role != TensorRole::Input)
      continue;
    std::vector<int8_t> values(size_t(t.numBytes()));
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = int8_t(i * 37 + 11);
    if (!sim.setInput(t.name, values, t.shape, error))
      std::abort(); // the declared shape is always accepted
  }
  if (!sim.run(error)) {
    if (error.empty())
      std::abort();
    return 0;
  }
  for (const TensorDecl &t : program.tensors) {
    std::vector<int8_t> values;
    if (t.role == TensorRole::Output &&
        (!sim.tensor(t.name, values) || int64_t(values.size()) != t.numBytes()))
      std::abort();
  }
  return 0;
}
