//===- PermDiagEngine.h - The PermDNN engine mode of the simulator -*- C++ -*-//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Executes pd_tile, pd_mac and pd_requant (Instructions.def) on the
// simulator's buffers and accumulators and says how long each takes and
// which buffer ranges it touches; Simulator.cpp schedules that on its
// scoreboard. Internal to the SDSimulator library.
//
//===----------------------------------------------------------------------===//

#ifndef SD_LIB_SIMULATOR_PERMDIAGENGINE_H
#define SD_LIB_SIMULATOR_PERMDIAGENGINE_H

#include "SD/Accel/PermDiag.h"
#include "SD/Simulator/Simulator.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd::sdacc {

/// Storage a pd_* instruction reads or writes, for the scoreboard.
enum class PdResource : uint8_t { Input, Output, Weight, Acc };

struct PdAccess {
  PdResource resource;
  int64_t lo, hi;
  bool write;
};

/// What the instruction costs: the unit it occupies, for how long, and the
/// ranges it touches (an empty request for configuration instructions).
struct PdTiming {
  Unit unit = Unit::Control;
  uint64_t cycles = 0;
  std::vector<PdAccess> accesses;
};

/// The simulator state pd_* instructions work on.
struct PermDiagMachine {
  const HardwareConfig &config;
  const LayerDecl &layer;
  PermDiagTile &tile;
  const int8_t *ibuf;
  int64_t bandAddr, bandN0, bandSamples;
  const uint8_t *wbuf;
  int8_t *obuf;
  std::vector<int64_t> &acc; ///< The pool, dim_m * entries_per_slice.
  SimStats &stats;
};

/// Executes `inst`, counting operations and traffic into m.stats. Fails with
/// a message (and changes nothing that matters) on an execution fault, such
/// as a block offset that is not below p in the weight buffer.
bool executePermDiag(const Instruction &inst, PermDiagMachine &m,
                     PdTiming &timing, std::string &error);

} // namespace sd::sdacc

#endif // SD_LIB_SIMULATOR_PERMDIAGENGINE_H
