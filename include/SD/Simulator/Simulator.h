//===- Simulator.h - Executes accelerator programs --------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The SmartDeal accelerator simulator (library SDSimulator, lib/Simulator/).
// It executes a program file instruction by instruction on modeled DRAM,
// global buffers, rebuild engines and accumulators, in the integer
// arithmetic of docs/QuantizedArithmetic.md, so its outputs are exact and
// independent of the tiling. Alongside it keeps
//
//  - a cycle model: each execution unit runs its instructions in order,
//    units overlap, an instruction starts when its unit is free, its inputs
//    are written and the buffer ranges it overwrites have been read (a
//    scoreboard over buffer, register-file and accumulator ranges), and the
//    DMA channels share the DRAM bandwidth;
//  - bytes read and written at every level (DRAM, each global buffer, the
//    B, weight and accumulator register files) and operation counts (MACs,
//    shifts, adds, requantizations), priced by the configuration's energy
//    table.
//
// docs/Accelerator.md states the model's assumptions.
//
//===----------------------------------------------------------------------===//

#ifndef SD_SIMULATOR_SIMULATOR_H
#define SD_SIMULATOR_SIMULATOR_H

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/Json.h"
#include "SD/Accel/Program.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace sd::sdacc {

/// Bytes read from and written to one level of the memory hierarchy.
struct Traffic {
  uint64_t readBytes = 0;
  uint64_t writeBytes = 0;
};

/// The memory levels the simulator counts.
enum class Level : uint8_t {
  Dram,
  InputBuffer,
  OutputBuffer,
  WeightBuffer,
  IndexBuffer,
  BasisRf,
  WeightRf,
  AccumulatorRf,
};
constexpr unsigned kNumLevels = 8;
const char *levelName(Level level);

/// Counters of a run or of one layer.
struct SimStats {
  uint64_t cycles = 0;
  uint64_t instructions = 0;
  uint64_t macs = 0;        ///< MACs performed (zero Ce rows skipped).
  uint64_t denseMacs = 0;   ///< MACs of the same layers computed densely.
  uint64_t rowsSkipped = 0; ///< Zero Ce rows skipped, per dim_f positions.
  uint64_t cyclesSaved = 0; ///< MAC-array cycles the index selector saved.
  uint64_t shifts = 0, adds = 0, requants = 0;
  std::array<Traffic, kNumLevels> traffic{};
  /// DRAM bytes per DMA kind; the last entry counts stores.
  std::array<uint64_t, kNumDmaKinds + 1> dramBytesByKind{};
  std::array<uint64_t, kNumUnits> unitBusy{};

  Traffic &at(Level level) { return traffic[unsigned(level)]; }
  const Traffic &at(Level level) const { return traffic[unsigned(level)]; }
  void add(const SimStats &other);
};

/// Energy of a run, from SimStats and the configuration's table.
struct Energy {
  std::array<double, kNumLevels> byLevel{};
  double mac = 0, shift = 0, add = 0, requant = 0;
  double total() const;
};
Energy computeEnergy(const SimStats &stats, const HardwareConfig &config);

/// One layer's results.
struct LayerResult {
  std::string name;
  std::string format;
  uint64_t startCycle = 0, endCycle = 0;
  SimStats stats;
  /// The DRAM bytes the layer's schedule must move at least
  /// (compulsoryDramBytes); -1 for the preamble.
  int64_t compulsoryDramBytes = -1;
};

/// Runs programs.
class Simulator {
public:
  explicit Simulator(const HardwareConfig &config);
  ~Simulator();

  /// Loads `program` (DRAM starts with its data segments), verifying it
  /// first unless the caller just did (`verify` false).
  bool load(const Program &program, std::string &error, bool verify = true);

  /// Sets network input `name` (int8 values, shape as declared).
  bool setInput(const std::string &name, const std::vector<int8_t> &values,
                const std::vector<int64_t> &shape, std::string &error);

  /// Writes one line per timed instruction to `trace` during run():
  /// "index mnemonic unit start end" (cycles). nullptr turns it off.
  void setTrace(std::FILE *trace);

  /// Runs the whole program. Every network input must be set. On failure
  /// nothing of the run should be used.
  bool run(std::string &error);

  /// The contents of tensor `name` after run().
  bool tensor(const std::string &name, std::vector<int8_t> &values) const;

  const SimStats &total() const;
  const std::vector<LayerResult> &layers() const;

  /// The JSON report (cycles, utilization, traffic per level, energy per
  /// level and per operation, per layer). `mode` names the run.
  JsonValue report(const std::string &mode) const;

private:
  class Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace sd::sdacc

#endif // SD_SIMULATOR_SIMULATOR_H
