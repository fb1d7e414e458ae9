//===- PermDiag.h - PermDNN layers on the accelerator -----------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The permdiag weight format and the PermDNN engine mode of the accelerator
// (docs/Accelerator.md): the block records of a program's weights segment,
// the checks verifyProgram() applies to permdiag layers and pd_*
// instructions, and the builder's tiling of a permdiag fully connected layer.
//
// A layer with N outputs, K inputs and block size p has R = ceil(N / p) row
// blocks and C = ceil(K / p) column blocks (the layer table's `blocks`; p is
// its `block_rows`). Its weights segment holds R x C records of 1 + p bytes,
// row block major: the column offset k' = (p - k) mod p, then the p int8
// values by input column, v[col] = q[(col + k') mod p]. Input column col of a
// block therefore feeds output (col + k') mod p of that block with weight
// v[col]: the engine needs one modular addition, no index. (k and q are the
// row-major offset and values of !sd.permdiag, where row c reads column
// (c + k) mod p.)
//
//===----------------------------------------------------------------------===//

#ifndef SD_ACCEL_PERMDIAG_H
#define SD_ACCEL_PERMDIAG_H

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/ISA.h"
#include "SD/Accel/Program.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd::sdacc {

struct LayerSpec;
struct LayerSchedule;

/// Bytes of one block record: the offset, then p values.
inline int64_t permDiagRecordBytes(int64_t p) { return 1 + p; }
/// Output row blocks of a permdiag layer, ceil(k / p).
inline int64_t permDiagRowBlocks(const LayerDecl &l) {
  return (l.k + l.blockRows - 1) / l.blockRows;
}

//===----------------------------------------------------------------------===//
// Program checks
//===----------------------------------------------------------------------===//

/// Empty when a permdiag layer's table entry is legal for `config`: fully
/// connected, 1 <= p <= max_block_size, blocks = ceil(c / p).
std::string checkPermDiagLayer(const LayerDecl &l,
                               const HardwareConfig &config);

/// Empty when `bytes` (the weights segment) holds the layer's R x C records,
/// every offset is below p and every value in [-127, 127].
std::string checkPermDiagRecords(const LayerDecl &l,
                                 const std::vector<uint8_t> &bytes);

/// The permdiag tile in force (pd_tile), for the verifier and the simulator.
struct PermDiagTile {
  bool valid = false;
  int64_t rowBlock0 = 0, rowBlocks = 0, colBlock0 = 0, colBlocks = 0;
  int64_t addr = 0;
  /// Outputs the tile's row blocks span in the accumulator pool.
  int64_t poolRows(int64_t p) const { return rowBlocks * p; }
};

/// What the verifier knows of the layer configuration when it meets a pd_*
/// instruction.
struct PermDiagWalk {
  bool weight = false, quant = false, band = false;
  int64_t n0 = 0, samples = 0;
  PermDiagTile tile;
};

/// Empty when the pd_* instruction `inst` is valid in layer `l` (a permdiag
/// layer) with the configuration `walk` in force; updates walk.tile.
std::string checkPermDiagInstruction(const Instruction &inst,
                                     const LayerDecl &l,
                                     const HardwareConfig &config,
                                     PermDiagWalk &walk);

/// True for pd_tile, pd_mac and pd_requant.
inline bool isPermDiagInstruction(Opcode op) {
  return op == Opcode::PdTile || op == Opcode::PdMac || op == Opcode::PdRequant;
}

//===----------------------------------------------------------------------===//
// Builder
//===----------------------------------------------------------------------===//

/// Empty when `spec` (format permdiag) with `inputs` inputs can be built for
/// `config`: fully connected, p in range, offsets and values of the right
/// sizes, offsets below p, bias and requantization in range.
std::string checkPermDiagSpec(const LayerSpec &spec, int64_t inputs,
                              const HardwareConfig &config);

/// The weights segment of `spec` (see the file comment).
std::vector<uint8_t> packPermDiagRecords(const LayerSpec &spec, int64_t inputs);

/// The offsets and values of layer `l` back from its weights segment.
bool unpackPermDiagRecords(const LayerDecl &l,
                           const std::vector<uint8_t> &bytes, LayerSpec &spec,
                           std::string &error);

/// The dense int32 weight [outputs][inputs] of a permdiag spec.
std::vector<int32_t> permDiagDenseWeights(const LayerSpec &spec);

/// DRAM addresses of a permdiag layer's tensors and segments.
struct PermDiagAddrs {
  int64_t input = 0, output = 0, weights = 0, bias = 0;
};

/// Tiles permdiag layer `l` (layer table entry `layerIndex`) to the buffers
/// and appends its instructions to `out`, filling `sched`.
bool emitPermDiagLayer(const HardwareConfig &config, const LayerDecl &l,
                       int64_t layerIndex, const PermDiagAddrs &addrs,
                       std::vector<Instruction> &out, LayerSchedule &sched,
                       std::string &error);

} // namespace sd::sdacc

#endif // SD_ACCEL_PERMDIAG_H
