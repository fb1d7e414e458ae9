//===- PermDiagEngine.cpp - The PermDNN engine mode of the simulator ------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Column-wise processing as PermDNN (MICRO 2018) publishes it: the engine
// walks the inputs of a column block, skips zero inputs, and sends every
// non-zero input to each row block of the tile, whose multiplier takes the
// value stored for that column and adds the product into output
// (col + k') mod p of the block. No index is read.
//
// Cycle model. The pd_mac multipliers (permdiag_engine.pes x
// multipliers_per_pe) work on one column block at a time: its non-zero
// inputs of all the instruction's positions, times the tile's row blocks,
// are products that never collide on an accumulator (a permuted diagonal
// sends the p columns of a block to p distinct outputs), so they spread over
// every multiplier; a column block without non-zero inputs costs nothing.
// Two cycles of pipeline latency (multiply, accumulate) follow.
//
//===----------------------------------------------------------------------===//

#include "PermDiagEngine.h"

#include "SD/Compression/Quantize.h"

#include <algorithm>

namespace sd::sdacc {

namespace {
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Saturating add of int64 values (only a pathological bias reaches it).
int64_t addSaturating(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return a < 0 ? INT64_MIN : INT64_MAX;
  return r;
}

std::string range(int64_t lo, int64_t hi) {
  return "[" + std::to_string(lo) + ", " + std::to_string(hi) + ")";
}
} // namespace

static bool execTile(const Instruction &inst, PermDiagMachine &m,
                     std::string &error) {
  using namespace field::PdTile;
  const int64_t p = m.layer.blockRows;
  int64_t end = inst[RecAddr] +
                inst[RowBlocks] * inst[ColBlocks] * permDiagRecordBytes(p);
  if (end > m.config.weight.bytes) {
    error = "block records " + range(inst[RecAddr], end) +
            " overflow the weight buffer";
    return false;
  }
  m.tile.valid = true;
  m.tile.rowBlock0 = inst[RowBlock0];
  m.tile.rowBlocks = inst[RowBlocks];
  m.tile.colBlock0 = inst[ColBlock0];
  m.tile.colBlocks = inst[ColBlocks];
  m.tile.addr = inst[RecAddr];
  return true;
}

static bool execMac(const Instruction &inst, PermDiagMachine &m,
                    PdTiming &timing, std::string &error) {
  using namespace field::PdMac;
  const LayerDecl &l = m.layer;
  const PermDiagTile &t = m.tile;
  const HardwareConfig &config = m.config;
  const int64_t pos0 = inst[Pos0], npos = inst[Npos], accAddr = inst[AccAddr];
  const int64_t p = l.blockRows, rec = permDiagRecordBytes(p);
  const int64_t rb = t.rowBlocks, cb = t.colBlocks, rows = t.poolRows(p);
  if (!t.valid) {
    error = "no permdiag tile (pd_tile first)";
    return false;
  }
  if (accAddr + npos * rows > config.pdPoolEntries()) {
    error = "accumulator pool entries " +
            range(accAddr, accAddr + npos * rows) + " exceed the pool";
    return false;
  }
  if (pos0 < m.bandN0 || pos0 + npos > m.bandN0 + m.bandSamples) {
    error =
        "positions " + range(pos0, pos0 + npos) + " are not in the input band";
    return false;
  }
  const int64_t inLo = m.bandAddr + (pos0 - m.bandN0) * l.c;
  const int64_t inHi = inLo + npos * l.c;
  if (inHi > config.input.bytes) {
    error = "the input band ends beyond the input buffer";
    return false;
  }
  const uint8_t *records = m.wbuf + t.addr;
  // The weight buffer holds whatever was loaded: an offset that is not a
  // column of the block would send products to another block.
  for (int64_t b = 0; b < rb * cb; ++b)
    if (records[b * rec] >= p) {
      error = "offset " + std::to_string(records[b * rec]) +
              " of tile block (" + std::to_string(b / cb) + ", " +
              std::to_string(b % cb) +
              ") in the weight buffer is not below p = " + std::to_string(p);
      return false;
    }

  int64_t *pool = m.acc.data() + accAddr;
  if (inst[Init])
    std::fill(pool, pool + npos * rows, 0);
  const int64_t colLo = t.colBlock0 * p;
  const int64_t colHi = std::min(l.c, (t.colBlock0 + cb) * p);
  std::vector<int64_t> nonZero(size_t(cb), 0);
  for (int64_t i = 0; i < npos; ++i) {
    const int8_t *x = m.ibuf + inLo + i * l.c;
    int64_t *a = pool + i * rows;
    for (int64_t col = colLo; col < colHi; ++col) {
      const int64_t v = x[col];
      if (v == 0)
        continue;
      const int64_t j = col / p - t.colBlock0, c = col % p;
      ++nonZero[size_t(j)];
      const uint8_t *r = records + j * rec;
      for (int64_t ib = 0; ib < rb; ++ib, r += cb * rec) {
        int64_t out = c + r[0];
        if (out >= p)
          out -= p;
        a[ib * p + out] += v * int8_t(r[1 + c]);
      }
    }
  }

  int64_t products = 0;
  uint64_t cycles = 0;
  for (int64_t nz : nonZero) {
    products += nz * rb;
    cycles += uint64_t(ceilDiv(nz * rb, config.pdLanes()));
  }
  const uint64_t recordBytes = uint64_t(rb * cb * rec);
  const uint64_t accBytes = uint64_t(products * config.accumulatorBytes());
  SimStats &s = m.stats;
  s.macs += uint64_t(products);
  // Every input of the tile's columns is read to find the non-zero ones.
  s.at(Level::InputBuffer).readBytes += uint64_t(npos * (colHi - colLo));
  // A PE holds its blocks' records in its weight registers for the
  // instruction; each product reads one value from there.
  s.at(Level::WeightBuffer).readBytes += recordBytes;
  s.at(Level::WeightRf).writeBytes += recordBytes;
  s.at(Level::WeightRf).readBytes += uint64_t(products);
  // Products scatter to outputs: each is a read-modify-write of one
  // accumulator (the MAC's add is in its energy).
  s.at(Level::AccumulatorRf).readBytes += accBytes;
  s.at(Level::AccumulatorRf).writeBytes += accBytes;
  timing.unit = Unit::Mac;
  timing.cycles = cycles + 2;
  timing.accesses = {{PdResource::Input, inLo, std::max(inHi, inLo + 1), false},
                     {PdResource::Weight, t.addr,
                      t.addr + std::max<int64_t>(1, rb * cb * rec), false},
                     {PdResource::Acc, accAddr, accAddr + npos * rows, true}};
  return true;
}

static bool execRequant(const Instruction &inst, PermDiagMachine &m,
                        PdTiming &timing, std::string &error) {
  using namespace field::PdRequant;
  const LayerDecl &l = m.layer;
  const PermDiagTile &t = m.tile;
  const HardwareConfig &config = m.config;
  const int64_t accAddr = inst[AccAddr], npos = inst[Npos];
  const int64_t bufAddr = inst[BufAddr], chStride = inst[ChStride];
  const int64_t posStride = inst[PosStride], biasAddr = inst[BiasAddr];
  const int64_t p = l.blockRows, rows = t.poolRows(p);
  if (!t.valid) {
    error = "no permdiag tile (pd_tile first)";
    return false;
  }
  const int64_t outs = std::min(rows, l.k - t.rowBlock0 * p);
  const int64_t last = bufAddr + (outs - 1) * chStride + (npos - 1) * posStride;
  if (accAddr + npos * rows > config.pdPoolEntries() ||
      last >= config.output.bytes ||
      biasAddr + 8 * outs > config.weight.bytes) {
    error = "accumulators, outputs or biases outside their storage";
    return false;
  }
  compression::Requantization rq;
  rq.multiplier = l.multiplier;
  rq.shift = l.shift;
  for (int64_t o = 0; o < outs; ++o) {
    uint64_t raw = 0;
    for (int b = 0; b < 8; ++b)
      raw |= uint64_t(m.wbuf[biasAddr + o * 8 + b]) << (8 * b);
    const int64_t bias = int64_t(raw);
    for (int64_t i = 0; i < npos; ++i) {
      int64_t v = addSaturating(m.acc[size_t(accAddr + i * rows + o)], bias);
      m.obuf[bufAddr + o * chStride + i * posStride] =
          compression::requantize(v, rq, l.relu != 0);
    }
  }
  SimStats &s = m.stats;
  const uint64_t outputs = uint64_t(outs * npos);
  s.requants += outputs;
  s.adds += outputs; // bias
  s.at(Level::AccumulatorRf).readBytes +=
      outputs * uint64_t(config.accumulatorBytes());
  s.at(Level::WeightBuffer).readBytes += uint64_t(outs * 8);
  s.at(Level::OutputBuffer).writeBytes += outputs;
  timing.unit = Unit::Requant;
  // The requantization units handle dim_m x dim_f outputs per cycle.
  timing.cycles = uint64_t(ceilDiv(outs * npos, config.dimM * config.dimF) + 3);
  timing.accesses = {{PdResource::Acc, accAddr, accAddr + npos * rows, false},
                     {PdResource::Weight, biasAddr, biasAddr + outs * 8, false},
                     {PdResource::Output, bufAddr, last + 1, true}};
  return true;
}

bool executePermDiag(const Instruction &inst, PermDiagMachine &m,
                     PdTiming &timing, std::string &error) {
  switch (inst.opcode) {
  case Opcode::PdTile:
    return execTile(inst, m, error);
  case Opcode::PdMac:
    return execMac(inst, m, timing, error);
  case Opcode::PdRequant:
    return execRequant(inst, m, timing, error);
  default:
    error = "not a permdiag instruction";
    return false;
  }
}

} // namespace sd::sdacc
