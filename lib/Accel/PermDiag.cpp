//===- PermDiag.cpp - Checks of permdiag layers and pd_* instructions -----===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// What verifyProgram() checks for the PermDNN engine mode: the layer table
// entry, the block records of the weights segment, and every pd_*
// instruction against the layer and the configuration in force. The
// simulator repeats the record check on the bytes it actually reads.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/PermDiag.h"

#include <algorithm>

namespace sd::sdacc {

static std::string range(int64_t lo, int64_t hi) {
  return "[" + std::to_string(lo) + ", " + std::to_string(hi) + ")";
}

std::string checkPermDiagLayer(const LayerDecl &l,
                               const HardwareConfig &config) {
  if (l.layerKind() != LayerKind::FullyConnected)
    return "a permdiag layer must be fully connected";
  const int64_t p = l.blockRows;
  if (p < 1 || p > config.pdMaxBlockSize)
    return "block size p = " + std::to_string(p) + " must be in [1, " +
           std::to_string(config.pdMaxBlockSize) +
           "] (permdiag_engine.max_block_size)";
  const int64_t colBlocks = (l.c + p - 1) / p;
  if (l.blocks != colBlocks)
    return "blocks = " + std::to_string(l.blocks) + " but " +
           std::to_string(l.c) + " inputs make " + std::to_string(colBlocks) +
           " column blocks of p = " + std::to_string(p);
  return {};
}

std::string checkPermDiagRecords(const LayerDecl &l,
                                 const std::vector<uint8_t> &bytes) {
  const int64_t p = l.blockRows, rec = permDiagRecordBytes(p);
  const int64_t rows = permDiagRowBlocks(l), cols = l.blocks;
  if (int64_t(bytes.size()) != rows * cols * rec)
    return "weights segment has " + std::to_string(bytes.size()) +
           " bytes, expected " + std::to_string(rows * cols * rec) + " (" +
           std::to_string(rows) + " x " + std::to_string(cols) +
           " block records of 1 + p bytes)";
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const uint8_t *r = &bytes[size_t((i * cols + j) * rec)];
      if (r[0] >= p)
        return "offset " + std::to_string(r[0]) + " of block (" +
               std::to_string(i) + ", " + std::to_string(j) +
               ") is not below p = " + std::to_string(p);
      for (int64_t c = 0; c < p; ++c)
        if (r[1 + c] == 0x80)
          return "value -128 of block (" + std::to_string(i) + ", " +
                 std::to_string(j) + ") is outside [-127, 127]";
    }
  return {};
}

std::string checkPermDiagInstruction(const Instruction &inst,
                                     const LayerDecl &l,
                                     const HardwareConfig &config,
                                     PermDiagWalk &walk) {
  const int64_t p = l.blockRows;
  const int64_t rows = permDiagRowBlocks(l);
  auto need = [&](bool have, const char *what) -> std::string {
    if (have)
      return {};
    return std::string("needs a ") + what + " earlier in layer '" + l.name +
           "'";
  };
  switch (inst.opcode) {
  case Opcode::PdTile: {
    using namespace field::PdTile;
    std::string err = need(walk.weight, "cfg_weight");
    if (!err.empty())
      return err;
    if (inst[RowBlock0] + inst[RowBlocks] > rows)
      return "row blocks " +
             range(inst[RowBlock0], inst[RowBlock0] + inst[RowBlocks]) +
             " exceed the layer's " + std::to_string(rows);
    if (inst[ColBlock0] + inst[ColBlocks] > l.blocks)
      return "column blocks " +
             range(inst[ColBlock0], inst[ColBlock0] + inst[ColBlocks]) +
             " exceed the layer's " + std::to_string(l.blocks);
    int64_t end = inst[RecAddr] +
                  inst[RowBlocks] * inst[ColBlocks] * permDiagRecordBytes(p);
    if (end > config.weight.bytes)
      return "block records " + range(inst[RecAddr], end) +
             " overflow the weight buffer of " +
             std::to_string(config.weight.bytes) + " bytes";
    walk.tile.valid = true;
    walk.tile.rowBlock0 = inst[RowBlock0];
    walk.tile.rowBlocks = inst[RowBlocks];
    walk.tile.colBlock0 = inst[ColBlock0];
    walk.tile.colBlocks = inst[ColBlocks];
    walk.tile.addr = inst[RecAddr];
    return {};
  }
  case Opcode::PdMac: {
    using namespace field::PdMac;
    std::string err = need(walk.band, "cfg_band");
    if (err.empty())
      err = need(walk.tile.valid, "pd_tile");
    if (!err.empty())
      return err;
    if (inst[Pos0] + inst[Npos] > l.n)
      return "positions " + range(inst[Pos0], inst[Pos0] + inst[Npos]) +
             " exceed the layer's " + std::to_string(l.n);
    if (inst[Pos0] < walk.n0 ||
        inst[Pos0] + inst[Npos] > walk.n0 + walk.samples)
      return "positions " + range(inst[Pos0], inst[Pos0] + inst[Npos]) +
             " are not in the input band's samples " +
             range(walk.n0, walk.n0 + walk.samples);
    int64_t end = inst[AccAddr] + inst[Npos] * walk.tile.poolRows(p);
    if (end > config.pdPoolEntries())
      return "accumulator pool entries " + range(inst[AccAddr], end) +
             " exceed the " + std::to_string(config.pdPoolEntries()) +
             " of dim_m x entries_per_slice";
    return {};
  }
  case Opcode::PdRequant: {
    using namespace field::PdRequant;
    std::string err = need(walk.quant, "cfg_quant");
    if (err.empty())
      err = need(walk.tile.valid, "pd_tile");
    if (!err.empty())
      return err;
    int64_t end = inst[AccAddr] + inst[Npos] * walk.tile.poolRows(p);
    if (end > config.pdPoolEntries())
      return "accumulator pool entries " + range(inst[AccAddr], end) +
             " exceed the " + std::to_string(config.pdPoolEntries()) +
             " of dim_m x entries_per_slice";
    int64_t outs =
        std::min(walk.tile.poolRows(p), l.k - walk.tile.rowBlock0 * p);
    int64_t last = inst[BufAddr] + (outs - 1) * inst[ChStride] +
                   (inst[Npos] - 1) * inst[PosStride];
    if (last >= config.output.bytes)
      return "writes output-buffer byte " + std::to_string(last) +
             ", beyond its " + std::to_string(config.output.bytes) + " bytes";
    if (inst[BiasAddr] + 8 * outs > config.weight.bytes)
      return "biases " + range(inst[BiasAddr], inst[BiasAddr] + 8 * outs) +
             " overflow the weight buffer";
    return {};
  }
  default:
    return "is not a permdiag instruction";
  }
}

} // namespace sd::sdacc
