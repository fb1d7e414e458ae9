//===- HardwareConfig.h - The accelerator's configuration file --*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// One JSON file describes the accelerator for both the compiler (tiling to the
// buffers, the verifier's range checks) and the simulator (cycles, traffic,
// energy). The default, lib/Accel/configs/smartdeal-default.json, mirrors
// the published SmartExchange design where it is known and says where it is
// assumed; it is embedded into every binary at build time. docs/Accelerator.md
// documents every field.
//
// The "architectural" fields (array shape, engine and register file sizes,
// buffer sizes, precisions) decide whether a program is legal and are hashed
// into the fingerprint every program file carries. Timing (clock, DRAM
// bandwidth and latency, queue depth) and energy may change without
// recompiling.
//
//===----------------------------------------------------------------------===//

#ifndef SD_ACCEL_HARDWARECONFIG_H
#define SD_ACCEL_HARDWARECONFIG_H

#include <cstdint>
#include <string>

namespace sd::sdacc {

class JsonValue;

/// One global buffer: capacity and energy per byte moved.
struct BufferConfig {
  int64_t bytes = 0;
  double readPjPerByte = 0.0;
  double writePjPerByte = 0.0;
  std::string source; ///< Where the energy figures come from.
};

/// One register file level: energy per byte read or written.
struct RegisterFileConfig {
  double pjPerByte = 0.0;
  std::string source;
};

/// Energy of one operation.
struct OperationEnergy {
  double pj = 0.0;
  std::string source;
};

/// The hardware configuration.
struct HardwareConfig {
  std::string name;
  std::string description;

  // Timing (not part of the fingerprint).
  double clockMhz = 1000.0;
  /// Instructions each execution unit may have queued before dispatch stalls.
  int64_t queueDepth = 64;

  // PE array: dim_m slices (output channels, sharing inputs) x dim_c lines
  // (reduction, adder tree) x dim_f MACs (output positions).
  int64_t dimM = 16;
  int64_t dimC = 8;
  int64_t dimF = 8;

  // Rebuild engines per PE line (ping-pong) and their register files.
  int64_t enginesPerLine = 2;
  int64_t basisRfBytes = 9;  ///< One 3x3 int8 B per engine.
  int64_t weightRfRows = 32; ///< Rebuilt rows of 3 weights per engine.
  /// Accumulator entries (output positions) per PE slice.
  int64_t accEntries = 256;

  // PermDNN engine mode (permdiag layers): the MAC array works as `pdPes`
  // processing elements of `pdMultipliersPerPe` multipliers each (timing,
  // not fingerprinted), on blocks of at most `pdMaxBlockSize` (legality,
  // fingerprinted: the modular adders and value registers are that wide).
  int64_t pdPes = 128;
  int64_t pdMultipliersPerPe = 8;
  int64_t pdMaxBlockSize = 32;

  // Precision, in bits.
  int64_t activationBits = 8;
  int64_t basisBits = 8;
  int64_t ceBits = 4;
  int64_t denseWeightBits = 8;
  int64_t rebuiltWeightBits = 16;
  int64_t accumulatorBits = 48;

  BufferConfig input, output, weight, index;

  // DRAM behind the DMA engines.
  int64_t dramBytesPerCycle = 16;
  int64_t dramLatencyCycles = 100;
  double dramReadPjPerByte = 0.0;
  double dramWritePjPerByte = 0.0;
  std::string dramSource;

  RegisterFileConfig basisRf, weightRf, accRf;
  OperationEnergy mac, shift, add, requant;

  /// The built-in default (the embedded smartdeal-default.json).
  static const HardwareConfig &defaults();
  /// The embedded default's JSON text.
  static const char *defaultJson();

  /// Parses a configuration; every field is required and unknown keys are
  /// errors (so a typo cannot silently keep a default). Runs verify().
  static bool parse(const std::string &json, HardwareConfig &config,
                    std::string &error);
  /// Reads and parses `path`.
  static bool load(const std::string &path, HardwareConfig &config,
                   std::string &error);

  /// Empty when the configuration is usable, else why not.
  std::string verify() const;

  /// FNV-1a 64 of the architectural fields (see the file comment).
  uint64_t fingerprint() const;

  /// The configuration as JSON in the file's schema.
  JsonValue toJson() const;

  /// Most exponent levels whose rebuilt weights fit rebuilt_weight_bits:
  /// the largest L with 3 * 128 * 2^(L-1) < 2^(rebuilt_weight_bits - 1).
  int64_t maxExponentLevels() const {
    int64_t levels = 0;
    while (3 * 128 * (int64_t(1) << levels) <=
           (int64_t(1) << (rebuiltWeightBits - 1)) - 1)
      ++levels;
    return levels;
  }
  /// Bytes of one rebuilt weight in a weight register file.
  int64_t rebuiltWeightBytes() const { return (rebuiltWeightBits + 7) / 8; }
  /// Bytes of one accumulator entry.
  int64_t accumulatorBytes() const { return (accumulatorBits + 7) / 8; }
  /// MACs in the array.
  int64_t numMacs() const { return dimM * dimC * dimF; }
  /// Multipliers the PermDNN engine mode uses per cycle.
  int64_t pdLanes() const { return pdPes * pdMultipliersPerPe; }
  /// Accumulator entries of all slices, the PermDNN engine's pool.
  int64_t pdPoolEntries() const { return dimM * accEntries; }
};

} // namespace sd::sdacc

#endif // SD_ACCEL_HARDWARECONFIG_H
