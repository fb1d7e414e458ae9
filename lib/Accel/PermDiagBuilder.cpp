//===- PermDiagBuilder.cpp - Tiles PermDNN layers into programs -----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The program builder's part for permdiag layers (PermDiag.h): block records
// in and out of the weights segment, the dense weight for the baseline, and
// the schedule.
//
// The schedule runs bands of whole samples (the input stays resident when it
// fits), then groups of output row blocks, then chunks of positions, then
// column tiles. The accumulator pool bounds a chunk: row blocks x p outputs x
// positions fill at most half of it, so the requantization and store of one
// chunk overlap the next. When the whole layer's records fit the weight
// buffer they are loaded once; otherwise each group's records are cut into
// column tiles, double-buffered, and a chunk then holds the whole band so a
// tile is loaded once per group. Loads for the next step are emitted before
// the current step's compute; the simulator's scoreboard overlaps them.
//
//===----------------------------------------------------------------------===//

#include "DmaSplit.h"
#include "SD/Accel/PermDiag.h"
#include "SD/Accel/ProgramBuilder.h"

#include <algorithm>

namespace sd::sdacc {

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
} // namespace

//===----------------------------------------------------------------------===//
// Records
//===----------------------------------------------------------------------===//

std::string checkPermDiagSpec(const LayerSpec &spec, int64_t inputs,
                              const HardwareConfig &config) {
  if (spec.kind != LayerKind::FullyConnected)
    return "a permdiag layer must be fully connected";
  const int64_t p = spec.blockSize;
  if (p < 1 || p > config.pdMaxBlockSize)
    return "block size p = " + std::to_string(p) + " must be in [1, " +
           std::to_string(config.pdMaxBlockSize) +
           "] (permdiag_engine.max_block_size)";
  const int64_t rows = ceilDiv(spec.outChannels, p), cols = ceilDiv(inputs, p);
  if (rows > 65535 || cols > 65535)
    return "more than 65535 row or column blocks";
  if (int64_t(spec.pdOffsets.size()) != rows * cols)
    return "offsets hold " + std::to_string(spec.pdOffsets.size()) +
           " values, expected " + std::to_string(rows) + " x " +
           std::to_string(cols) + " blocks";
  if (int64_t(spec.pdValues.size()) != rows * cols * p)
    return "values hold " + std::to_string(spec.pdValues.size()) +
           " values, expected " + std::to_string(rows * cols * p);
  for (size_t i = 0; i < spec.pdOffsets.size(); ++i)
    if (spec.pdOffsets[i] < 0 || spec.pdOffsets[i] >= p)
      return "offset " + std::to_string(spec.pdOffsets[i]) + " of block " +
             std::to_string(i) + " is not in [0, p = " + std::to_string(p) +
             ")";
  for (int8_t v : spec.pdValues)
    if (v == -128)
      return "values must be in [-127, 127]";
  if (!spec.bias.empty() && int64_t(spec.bias.size()) != spec.outChannels)
    return "bias holds " + std::to_string(spec.bias.size()) +
           " values, expected " + std::to_string(spec.outChannels);
  if (spec.multiplier < (1 << 14) || spec.multiplier >= (1 << 15) ||
      spec.shift < 1 || spec.shift > 62)
    return "requantization needs M in [2^14, 2^15) and S in [1, 62]";
  return {};
}

std::vector<uint8_t> packPermDiagRecords(const LayerSpec &spec,
                                         int64_t inputs) {
  const int64_t p = spec.blockSize, rec = permDiagRecordBytes(p);
  const int64_t rows = ceilDiv(spec.outChannels, p), cols = ceilDiv(inputs, p);
  std::vector<uint8_t> bytes(size_t(rows * cols * rec));
  for (int64_t b = 0; b < rows * cols; ++b) {
    // Row c reads column (c + k) mod p, so column col feeds row
    // (col + k') mod p with k' = (p - k) mod p.
    const int64_t kp = (p - spec.pdOffsets[size_t(b)]) % p;
    uint8_t *r = &bytes[size_t(b * rec)];
    r[0] = uint8_t(kp);
    for (int64_t col = 0; col < p; ++col)
      r[1 + col] = uint8_t(spec.pdValues[size_t(b * p + (col + kp) % p)]);
  }
  return bytes;
}

bool unpackPermDiagRecords(const LayerDecl &l,
                           const std::vector<uint8_t> &bytes, LayerSpec &spec,
                           std::string &error) {
  error = checkPermDiagRecords(l, bytes);
  if (!error.empty()) {
    error = "layer '" + l.name + "': " + error;
    return false;
  }
  const int64_t p = l.blockRows, rec = permDiagRecordBytes(p);
  const int64_t blocks = permDiagRowBlocks(l) * l.blocks;
  spec.blockSize = p;
  spec.pdOffsets.resize(size_t(blocks));
  spec.pdValues.resize(size_t(blocks * p));
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t *r = &bytes[size_t(b * rec)];
    const int64_t k = (p - r[0]) % p;
    spec.pdOffsets[size_t(b)] = int32_t(k);
    for (int64_t c = 0; c < p; ++c)
      spec.pdValues[size_t(b * p + c)] = int8_t(r[1 + (c + k) % p]);
  }
  return true;
}

std::vector<int32_t> permDiagDenseWeights(const LayerSpec &spec) {
  const int64_t outputs = spec.outChannels, inputs = spec.layout.shape.at(1);
  const int64_t p = spec.blockSize, cols = ceilDiv(inputs, p);
  std::vector<int32_t> w(size_t(outputs * inputs), 0);
  for (int64_t o = 0; o < outputs; ++o) {
    const int64_t i = o / p, c = o % p;
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t b = i * cols + j;
      const int64_t n = j * p + (c + spec.pdOffsets[size_t(b)]) % p;
      if (n < inputs)
        w[size_t(o * inputs + n)] = spec.pdValues[size_t(b * p + c)];
    }
  }
  return w;
}

//===----------------------------------------------------------------------===//
// Schedule
//===----------------------------------------------------------------------===//

namespace {
/// One step: a column tile of a group for a chunk of positions.
struct Step {
  int64_t band = 0, group = 0, tile = 0, pos0 = 0, npos = 0;
  bool first = true, last = true;
  bool loadBand = false, loadTile = false, loadBias = false;
  int64_t bandSlot = 0, tileSlot = 0, biasSlot = 0;
};

class PermDiagEmitter {
public:
  PermDiagEmitter(const HardwareConfig &config, const LayerDecl &l,
                  int64_t layerIndex, const PermDiagAddrs &addrs,
                  std::vector<Instruction> &out, LayerSchedule &sched)
      : config(config), l(l), layerIndex(layerIndex), addrs(addrs), out(out),
        sched(sched) {}

  bool run(std::string &error) {
    size_t before = out.size();
    if (!plan(error))
      return false;
    emit();
    sched.instructions = int64_t(out.size() - before);
    return true;
  }

private:
  bool plan(std::string &error) {
    p = l.blockRows;
    R = permDiagRowBlocks(l);
    C = l.blocks;
    rec = permDiagRecordBytes(p);
    const int64_t n = l.n, K = l.c;
    // Input bands of whole samples, [samples][K] in the buffer.
    if (n * K <= config.input.bytes) {
      bandSamples = n;
    } else {
      bandSamples = config.input.bytes / 2 / K;
      bandSlots = 2;
      if (bandSamples < 1) {
        error = "one sample's " + std::to_string(K) +
                " inputs do not fit half the input buffer";
        return false;
      }
    }
    bandSamples = std::min<int64_t>(bandSamples, 65535);
    bandBytes = bandSamples * K;
    poolHalf = config.pdPoolEntries() / 2;
    outHalf = config.output.bytes / 2;
    if (p > poolHalf || p > outHalf) {
      error = "a block's " + std::to_string(p) +
              " outputs do not fit half the accumulator pool or output buffer";
      return false;
    }
    // Whole-layer residency, with room for two bias slots of the largest
    // group.
    const int64_t rtMax = std::min(R, poolHalf / p);
    // Biases start 8-byte aligned after the records.
    const int64_t recordBytes = (R * C * rec + 7) / 8 * 8;
    resident = recordBytes + 2 * rtMax * p * 8 <= config.weight.bytes;
    if (resident)
      npos = std::clamp<int64_t>(poolHalf / (R * p), 1, bandSamples);
    else
      npos = std::min(bandSamples, poolHalf / p);
    rt = std::min(R, poolHalf / (p * npos));
    while (rt * p * npos > outHalf) {
      if (npos > 1)
        --npos;
      else
        --rt;
    }
    biasSlot = rt * p * 8;
    if (resident) {
      ct = C;
      biasBase = recordBytes;
    } else {
      for (;;) {
        biasSlot = rt * p * 8;
        wSlot = (config.weight.bytes - 2 * biasSlot) / 2 / 8 * 8;
        ct = std::min(C, wSlot / (rt * rec));
        if (ct >= 1 || rt == 1)
          break;
        --rt;
      }
      if (ct < 1) {
        error = "one block record of " + std::to_string(rec) +
                " bytes does not fit half the weight buffer";
        return false;
      }
      biasBase = 2 * wSlot;
    }
    groups = ceilDiv(R, rt);
    colTiles = ceilDiv(C, ct);
    bands = ceilDiv(n, bandSamples);

    // Steps, and the loads each needs (slots alternate, so a load for the
    // next step never overwrites what the current step reads).
    int64_t prevBand = -1, prevGroup = -1, prevTileKey = -1;
    int64_t tileSlotNext = 0, biasSlotNext = 0;
    for (int64_t b = 0; b < bands; ++b) {
      const int64_t n0 = b * bandSamples, n1 = std::min(n, n0 + bandSamples);
      for (int64_t g = 0; g < groups; ++g)
        for (int64_t pos = n0; pos < n1; pos += npos)
          for (int64_t t = 0; t < colTiles; ++t) {
            Step s;
            s.band = b;
            s.group = g;
            s.tile = t;
            s.pos0 = pos;
            s.npos = std::min(npos, n1 - pos);
            s.first = t == 0;
            s.last = t == colTiles - 1;
            s.bandSlot = b % bandSlots;
            s.loadBand = b != prevBand;
            if (g != prevGroup) {
              s.loadBias = true;
              s.biasSlot = biasSlotNext;
              biasSlotNext = 1 - biasSlotNext;
            } else {
              s.biasSlot = steps.back().biasSlot;
            }
            int64_t key = g * colTiles + t;
            if (!resident && key != prevTileKey) {
              s.loadTile = true;
              s.tileSlot = tileSlotNext;
              tileSlotNext = 1 - tileSlotNext;
            } else {
              s.tileSlot = steps.empty() ? 0 : steps.back().tileSlot;
            }
            prevBand = b;
            prevGroup = g;
            prevTileKey = key;
            steps.push_back(s);
          }
    }

    sched.loopOrder = "bands-outer";
    sched.channelsPerGroup = rt * p;
    sched.groups = groups;
    sched.blockTiles = groups * colTiles;
    sched.weightsResident = resident;
    sched.blocksSplit = colTiles > 1;
    sched.bands = bands;
    sched.bandKind = "batch";
    sched.bandSamples = bandSamples;
    sched.inputResident = bands == 1;
    sched.chunkPositions = npos;
    return true;
  }

  void push(const Instruction &inst) { out.push_back(inst); }

  void dma(bool store, DmaKind kind, int64_t dram, int64_t buf, int64_t length,
           int64_t count, int64_t stride) {
    emitDma(out, sched, store, kind, dram, buf, length, count, stride);
  }

  int64_t groupRows(int64_t g) const { return std::min(rt, R - g * rt); }
  int64_t groupOutputs(int64_t g) const {
    return std::min(groupRows(g) * p, l.k - g * rt * p);
  }
  int64_t tileCols(int64_t t) const { return std::min(ct, C - t * ct); }

  void emitLoads(const Step &s) {
    if (s.loadBand) {
      const int64_t n0 = s.band * bandSamples;
      const int64_t samples = std::min(bandSamples, l.n - n0);
      dma(false, DmaKind::Act, addrs.input + n0 * l.c, s.bandSlot * bandBytes,
          l.c, samples, l.c);
    }
    if (s.loadBias)
      dma(false, DmaKind::Bias, addrs.bias + s.group * rt * p * 8,
          biasBase + s.biasSlot * biasSlot, groupOutputs(s.group) * 8, 1, 0);
    if (s.loadTile) {
      const int64_t r0 = s.group * rt, c0 = s.tile * ct;
      dma(false, DmaKind::Weights, addrs.weights + (r0 * C + c0) * rec,
          s.tileSlot * wSlot, tileCols(s.tile) * rec, groupRows(s.group),
          C * rec);
    }
  }

  void emitCompute(const Step &s, const Step *prev) {
    const int64_t r0 = s.group * rt;
    if (!prev || prev->band != s.band) {
      const int64_t n0 = s.band * bandSamples;
      push(Instruction(
          Opcode::CfgBand,
          {s.bandSlot * bandBytes, n0, std::min(bandSamples, l.n - n0), 0, 1}));
    }
    if (!prev || prev->group != s.group || prev->tile != s.tile) {
      const int64_t addr = resident ? r0 * C * rec : s.tileSlot * wSlot;
      push(Instruction(Opcode::PdTile, {r0, groupRows(s.group), s.tile * ct,
                                        tileCols(s.tile), addr}));
    }
    const int64_t acc = (chunks % 2) * poolHalf;
    push(Instruction(Opcode::PdMac, {s.pos0, s.npos, acc, s.first ? 1 : 0}));
    if (!s.last)
      return;
    const int64_t outs = groupOutputs(s.group);
    const int64_t obuf = (chunks % 2) * outHalf;
    push(Instruction(Opcode::PdRequant, {acc, s.npos, obuf, 1, outs,
                                         biasBase + s.biasSlot * biasSlot}));
    dma(true, DmaKind::Act, addrs.output + s.pos0 * l.k + r0 * p, obuf, outs,
        s.npos, l.k);
    ++chunks;
  }

  void emit() {
    push(Instruction(Opcode::Layer, {layerIndex}));
    push(Instruction(Opcode::CfgInput, {l.n, l.c, 1, 1}));
    push(Instruction(Opcode::CfgOutput, {l.k, 1, 1}));
    push(Instruction(Opcode::CfgKernel, {1, 1, 1, 1, 0, 0}));
    push(Instruction(Opcode::CfgWeight, {int64_t(WeightFormat::PermDiag), C, p,
                                         config.ceBits, 0, 0}));
    push(Instruction(Opcode::CfgQuant, {l.multiplier, l.shift, l.relu}));
    if (resident)
      dma(false, DmaKind::Weights, addrs.weights, 0, R * C * rec, 1, 0);
    if (!steps.empty())
      emitLoads(steps[0]);
    for (size_t i = 0; i < steps.size(); ++i) {
      if (i + 1 < steps.size())
        emitLoads(steps[i + 1]);
      emitCompute(steps[i], i ? &steps[i - 1] : nullptr);
    }
    push(Instruction(Opcode::Sync, {}));
    sched.chunks = chunks;
  }

  const HardwareConfig &config;
  const LayerDecl &l;
  int64_t layerIndex;
  PermDiagAddrs addrs;
  std::vector<Instruction> &out;
  LayerSchedule &sched;

  int64_t p = 1, R = 1, C = 1, rec = 2;
  int64_t bandSamples = 1, bandSlots = 1, bandBytes = 0, bands = 1;
  int64_t poolHalf = 1, outHalf = 1;
  bool resident = false;
  int64_t npos = 1, rt = 1, ct = 1, groups = 1, colTiles = 1;
  int64_t wSlot = 0, biasSlot = 0, biasBase = 0;
  std::vector<Step> steps;
  int64_t chunks = 0;
};
} // namespace

bool emitPermDiagLayer(const HardwareConfig &config, const LayerDecl &l,
                       int64_t layerIndex, const PermDiagAddrs &addrs,
                       std::vector<Instruction> &out, LayerSchedule &sched,
                       std::string &error) {
  PermDiagEmitter emitter(config, l, layerIndex, addrs, out, sched);
  if (emitter.run(error))
    return true;
  error = "layer '" + l.name + "': " + error;
  return false;
}

} // namespace sd::sdacc
