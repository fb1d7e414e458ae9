//===- Simulator.cpp - Executes accelerator programs ----------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Functional execution follows program order exactly; the timing model only
// decides when each instruction would have run. Because the scoreboard
// orders every pair of instructions that touch the same buffer range, the
// functional result is what the overlapped hardware would compute.
//
//===----------------------------------------------------------------------===//

#include "SD/Simulator/Simulator.h"

#include "PermDiagEngine.h"
#include "SD/Compression/Quantize.h"
#include "SD/Accel/NetworkLayers.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace sd::sdacc {

const char *levelName(Level level) {
  switch (level) {
  case Level::Dram:
    return "dram";
  case Level::InputBuffer:
    return "input_buffer";
  case Level::OutputBuffer:
    return "output_buffer";
  case Level::WeightBuffer:
    return "weight_buffer";
  case Level::IndexBuffer:
    return "index_buffer";
  case Level::BasisRf:
    return "basis_rf";
  case Level::WeightRf:
    return "weight_rf";
  case Level::AccumulatorRf:
    return "accumulator_rf";
  }
  return "?";
}

void SimStats::add(const SimStats &o) {
  cycles += o.cycles;
  instructions += o.instructions;
  macs += o.macs;
  denseMacs += o.denseMacs;
  rowsSkipped += o.rowsSkipped;
  cyclesSaved += o.cyclesSaved;
  shifts += o.shifts;
  adds += o.adds;
  requants += o.requants;
  for (unsigned i = 0; i < kNumLevels; ++i) {
    traffic[i].readBytes += o.traffic[i].readBytes;
    traffic[i].writeBytes += o.traffic[i].writeBytes;
  }
  for (size_t i = 0; i < dramBytesByKind.size(); ++i)
    dramBytesByKind[i] += o.dramBytesByKind[i];
  for (size_t i = 0; i < unitBusy.size(); ++i)
    unitBusy[i] += o.unitBusy[i];
}

double Energy::total() const {
  double t = mac + shift + add + requant;
  for (double e : byLevel)
    t += e;
  return t;
}

Energy computeEnergy(const SimStats &s, const HardwareConfig &c) {
  Energy e;
  auto level = [&](Level l, double read, double write) {
    const Traffic &t = s.at(l);
    e.byLevel[unsigned(l)] =
        double(t.readBytes) * read + double(t.writeBytes) * write;
  };
  level(Level::Dram, c.dramReadPjPerByte, c.dramWritePjPerByte);
  level(Level::InputBuffer, c.input.readPjPerByte, c.input.writePjPerByte);
  level(Level::OutputBuffer, c.output.readPjPerByte, c.output.writePjPerByte);
  level(Level::WeightBuffer, c.weight.readPjPerByte, c.weight.writePjPerByte);
  level(Level::IndexBuffer, c.index.readPjPerByte, c.index.writePjPerByte);
  level(Level::BasisRf, c.basisRf.pjPerByte, c.basisRf.pjPerByte);
  level(Level::WeightRf, c.weightRf.pjPerByte, c.weightRf.pjPerByte);
  level(Level::AccumulatorRf, c.accRf.pjPerByte, c.accRf.pjPerByte);
  e.mac = double(s.macs) * c.mac.pj;
  e.shift = double(s.shifts) * c.shift.pj;
  e.add = double(s.adds) * c.add.pj;
  e.requant = double(s.requants) * c.requant.pj;
  return e;
}

namespace {
/// Resources the scoreboard orders accesses to.
enum Resource : unsigned {
  ResDram,
  ResInput,
  ResOutput,
  ResWeight,
  ResIndex,
  ResBasisRf0,
  ResBasisRf1,
  ResWeightRf0,
  ResWeightRf1,
  ResAcc,
  NumResources
};

struct Access {
  unsigned resource;
  int64_t lo, hi;
  bool write;
};

/// The last time a range of a resource was read or written.
struct Record {
  int64_t lo, hi;
  uint64_t time;
  bool write;
};

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// floor(v / 2^s) for s in [1, 62] (an arithmetic shift, spelled out so it
/// does not depend on the implementation's shift of negative numbers).
int64_t floorShift(int64_t v, int64_t s) {
  return v >= 0 ? v >> s : -((-(v + 1)) >> s) - 1;
}

constexpr int64_t kAccLimit = (int64_t(1) << 47) - 1;

/// Saturating add of int64 values (only a pathological bias reaches it).
int64_t addSaturating(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return a < 0 ? INT64_MIN : INT64_MAX;
  return r;
}
} // namespace

/// DRAM: 32-bit addresses backed by 64 KiB pages allocated on first write,
/// so memory follows the bytes a program touches, not the addresses it
/// declares (a damaged file cannot make the simulator allocate 4 GiB).
class PagedMemory {
public:
  static constexpr uint64_t kPageBits = 16;
  static constexpr uint64_t kPageBytes = uint64_t(1) << kPageBits;

  void clear() { pages.clear(); }

  void write(uint64_t addr, const uint8_t *src, uint64_t n) {
    while (n) {
      uint64_t page = addr >> kPageBits, off = addr & (kPageBytes - 1);
      uint64_t len = std::min(n, kPageBytes - off);
      if (page >= pages.size())
        pages.resize(size_t(page + 1));
      if (!pages[size_t(page)])
        pages[size_t(page)] = std::make_unique<uint8_t[]>(kPageBytes);
      std::memcpy(pages[size_t(page)].get() + off, src, size_t(len));
      addr += len;
      src += len;
      n -= len;
    }
  }

  void read(uint64_t addr, uint8_t *dst, uint64_t n) const {
    while (n) {
      uint64_t page = addr >> kPageBits, off = addr & (kPageBytes - 1);
      uint64_t len = std::min(n, kPageBytes - off);
      if (page < pages.size() && pages[size_t(page)])
        std::memcpy(dst, pages[size_t(page)].get() + off, size_t(len));
      else
        std::memset(dst, 0, size_t(len));
      addr += len;
      dst += len;
      n -= len;
    }
  }

private:
  std::vector<std::unique_ptr<uint8_t[]>> pages;
};

/// One rebuild engine of every PE line (the simulator keeps, per slice,
/// what all dim_c lines of the slice hold together).
struct EngineState {
  bool basisValid = false;
  int64_t basisBlock = -1;
  uint64_t basisTile = 0;
  std::vector<int8_t> basis; ///< [dim_m][9].
  bool weightsValid = false;
  int64_t weightsBlock = -1;
  uint64_t weightsTile = 0;
  /// Per slice: row ids (inside the block) of the rows held, and 3 weights
  /// per row.
  std::vector<std::vector<int32_t>> rows;
  std::vector<std::vector<int32_t>> weights;
  /// Per slice, the non-zero weights as taps of the input band (offset,
  /// kernel row and column), valid for `tapsSerial` and `tapsStride`.
  struct Taps {
    std::vector<int32_t> offset, weight;
    std::vector<int16_t> kh, kw;
    uint64_t serial = 0;
    int64_t stride = -1;
  };
  std::vector<Taps> taps;
  /// Bumped whenever the weights change.
  uint64_t weightsSerial = 0;
};

class Simulator::Impl {
public:
  explicit Impl(const HardwareConfig &config) : config(config) {}

  bool load(const Program &p, std::string &error, bool verify);
  bool setInput(const std::string &name, const std::vector<int8_t> &values,
                const std::vector<int64_t> &shape, std::string &error);
  bool run(std::string &error);

  const HardwareConfig config;
  Program program;
  bool loaded = false;
  std::vector<bool> inputSet;
  PagedMemory dram;
  std::vector<int8_t> ibuf, obuf;
  std::vector<int64_t> compulsory; ///< compulsoryDramBytes per layer.
  std::vector<uint8_t> wbuf, xbuf;
  SimStats total;
  std::vector<LayerResult> layers;
  std::FILE *trace = nullptr;

private:
  bool fail(std::string &error, size_t index, const std::string &text) {
    error = "instruction " + std::to_string(index) + " (" +
            program.instructions[index].desc().mnemonic + "): " + text;
    return false;
  }

  bool execute(size_t index, std::string &error);
  void execMove(const Instruction &inst);
  bool execDma(const Instruction &inst, bool store, std::string &error,
               size_t index);
  bool execLoadB(const Instruction &inst, std::string &error, size_t index);
  bool execRebuild(const Instruction &inst, std::string &error, size_t index);
  bool execLoadW(const Instruction &inst, std::string &error, size_t index);
  bool execMac(const Instruction &inst, std::string &error, size_t index);
  bool execRequant(const Instruction &inst, std::string &error, size_t index);
  bool execPermDiag(const Instruction &inst, std::string &error, size_t index);
  // Pooling and residual add (the arithmetic is in NetworkLayers.cpp).
  bool execAdd(const Instruction &inst);
  bool execPool(const Instruction &inst);
  bool execDwConv(const Instruction &inst);
  int64_t dwWAddr = 0, dwBiasAddr = 0; ///< cfg_dw of the current layer.
  bool tileCodeOffsets(std::string &error, size_t index);

  // Timing.
  void schedule(Unit unit, const std::vector<Access> &accesses,
                uint64_t duration, bool dma);
  uint64_t dramSlot(uint64_t ready, uint64_t length);

  SimStats &stats() { return layers.back().stats; }

  // Layer state (reset by `layer`).
  const LayerDecl *layer = nullptr;
  int64_t bandAddr = 0, bandN0 = 0, bandSamples = 0, bandH0 = 0, bandRows = 0;
  int64_t tileChannels = 0, tileBlock0 = 0, tileBlocks = 0;
  int64_t tileCodeAddr = 0, tileIndexAddr = 0, tileBasisAddr = 0;
  uint64_t tileSerial = 0;
  EngineState engines[2];
  PermDiagTile pdTile;      ///< The pd_tile in force (PermDNN engine mode).
  std::vector<int64_t> acc; ///< [dim_m][entries].
  // Code segment offsets of the current tile ([channel][block], relative to
  // tileCodeAddr) and the state of the index buffer they were read from.
  std::vector<int64_t> segOffsets;
  uint64_t segTile = 0, segIndexVersion = 0, indexVersion = 1;
  std::vector<int8_t> unpacked; ///< Scratch for decoded codes.

  // Timing state.
  uint64_t dispatch = 0, barrier = 0, maxEnd = 0;
  std::array<uint64_t, kNumUnits> unitFree{};
  std::array<std::vector<uint64_t>, kNumUnits> unitStarts;
  std::array<uint64_t, kNumUnits> unitCount{};
  std::vector<Record> records[NumResources];
  std::vector<std::pair<uint64_t, uint64_t>> dramBusy;
  bool layerStarted = false;
  size_t current = 0; ///< Index of the instruction being executed.
};

bool Simulator::Impl::load(const Program &p, std::string &error, bool verify) {
  if (verify) {
    error = verifyProgram(p, config);
    if (!error.empty())
      return false;
  }
  program = p;
  dram.clear();
  for (const DataSegment &s : program.segments)
    dram.write(s.dramAddr, s.bytes.data(), s.bytes.size());
  inputSet.assign(program.tensors.size(), false);
  loaded = true;
  return true;
}

bool Simulator::Impl::setInput(const std::string &name,
                               const std::vector<int8_t> &values,
                               const std::vector<int64_t> &shape,
                               std::string &error) {
  int64_t t = program.findTensor(name);
  if (!loaded || t < 0 ||
      program.tensors[size_t(t)].role != TensorRole::Input) {
    error = "the program has no input tensor '" + name + "'";
    return false;
  }
  const TensorDecl &decl = program.tensors[size_t(t)];
  if (shape != decl.shape) {
    auto text = [](const std::vector<int64_t> &s) {
      std::string out = "[";
      for (size_t i = 0; i < s.size(); ++i)
        out += (i ? ", " : "") + std::to_string(s[i]);
      return out + "]";
    };
    error = "input '" + name + "' has shape " + text(shape) +
            ", the program expects " + text(decl.shape);
    return false;
  }
  if (int64_t(values.size()) != decl.numBytes()) {
    error = "input '" + name + "' has " + std::to_string(values.size()) +
            " values, expected " + std::to_string(decl.numBytes());
    return false;
  }
  dram.write(decl.dramAddr, reinterpret_cast<const uint8_t *>(values.data()),
             values.size());
  inputSet[size_t(t)] = true;
  return true;
}

//===----------------------------------------------------------------------===//
// Timing
//===----------------------------------------------------------------------===//

uint64_t Simulator::Impl::dramSlot(uint64_t ready, uint64_t length) {
  // Earliest gap of `length` cycles at or after `ready` on the DRAM port.
  uint64_t t = ready;
  for (const auto &busy : dramBusy) {
    if (t + length <= busy.first)
      break;
    if (busy.second > t)
      t = busy.second;
  }
  auto at = std::lower_bound(dramBusy.begin(), dramBusy.end(),
                             std::make_pair(t, uint64_t(0)));
  dramBusy.insert(at, {t, t + length});
  return t;
}

void Simulator::Impl::schedule(Unit unit, const std::vector<Access> &accesses,
                               uint64_t duration, bool dma) {
  unsigned u = unsigned(unit);
  // In-order dispatch; a full unit queue stalls dispatch until its oldest
  // queued instruction starts.
  uint64_t d = std::max(dispatch, barrier);
  std::vector<uint64_t> &starts = unitStarts[u];
  size_t depth = size_t(config.queueDepth);
  if (starts.size() >= depth)
    d = std::max(d, starts[size_t(unitCount[u] % depth)]);
  dispatch = d;
  uint64_t start = std::max(d, unitFree[u]);
  for (const Access &a : accesses)
    for (const Record &r : records[a.resource])
      if (r.lo < a.hi && a.lo < r.hi && (a.write || r.write))
        start = std::max(start, r.time);
  uint64_t end, busyUntil;
  if (dma) {
    uint64_t transfer = dramSlot(start, duration);
    busyUntil = transfer + duration;
    end = busyUntil + uint64_t(config.dramLatencyCycles);
  } else {
    end = busyUntil = start + duration;
  }
  unitFree[u] = busyUntil;
  if (trace)
    std::fprintf(trace, "%zu %s %s %llu %llu\n", current,
                 program.instructions[current].desc().mnemonic, unitName(unit),
                 (unsigned long long)start, (unsigned long long)end);
  if (starts.size() < depth)
    starts.push_back(start);
  else
    starts[size_t(unitCount[u] % depth)] = start;
  ++unitCount[u];
  maxEnd = std::max(maxEnd, end);
  for (const Access &a : accesses) {
    std::vector<Record> &rs = records[a.resource];
    // Records that can no longer delay anything are dropped: nothing starts
    // before the dispatch time.
    if (rs.size() > 32)
      rs.erase(std::remove_if(rs.begin(), rs.end(),
                              [&](const Record &r) { return r.time <= d; }),
               rs.end());
    rs.push_back({a.lo, a.hi, end, a.write});
  }
  if (dramBusy.size() > 64)
    dramBusy.erase(std::remove_if(dramBusy.begin(), dramBusy.end(),
                                  [&](const std::pair<uint64_t, uint64_t> &b) {
                                    return b.second <= d;
                                  }),
                   dramBusy.end());
  LayerResult &lr = layers.back();
  if (!layerStarted) {
    lr.startCycle = start;
    layerStarted = true;
  }
  lr.startCycle = std::min(lr.startCycle, start);
  lr.endCycle = std::max(lr.endCycle, end);
  lr.stats.unitBusy[u] += duration;
}

//===----------------------------------------------------------------------===//
// Execution
//===----------------------------------------------------------------------===//

bool Simulator::Impl::run(std::string &error) {
  if (!loaded) {
    error = "no program loaded";
    return false;
  }
  for (size_t i = 0; i < program.tensors.size(); ++i)
    if (program.tensors[i].role == TensorRole::Input && !inputSet[i]) {
      error = "input '" + program.tensors[i].name + "' was not given";
      return false;
    }
  ibuf.assign(size_t(config.input.bytes), 0);
  obuf.assign(size_t(config.output.bytes), 0);
  wbuf.assign(size_t(config.weight.bytes), 0);
  xbuf.assign(size_t(config.index.bytes), 0);
  acc.assign(size_t(config.dimM * config.accEntries), 0);
  for (EngineState &e : engines) {
    e = EngineState();
    e.basis.assign(size_t(config.dimM * 9), 0);
    e.rows.assign(size_t(config.dimM), {});
    e.weights.assign(size_t(config.dimM), {});
    e.taps.assign(size_t(config.dimM), {});
  }
  layers.clear();
  total = SimStats();
  dispatch = barrier = maxEnd = 0;
  unitFree.fill(0);
  unitCount.fill(0);
  for (auto &s : unitStarts)
    s.clear();
  for (auto &r : records)
    r.clear();
  dramBusy.clear();
  // Instructions before the first `layer` (only syncs verify) are charged
  // to a placeholder that is dropped if it stays empty.
  layers.push_back(LayerResult{"(preamble)", "", 0, 0, {}, -1});
  compulsory = compulsoryDramBytes(program);
  for (size_t i = 0; i < program.instructions.size(); ++i) {
    current = i;
    if (!execute(i, error))
      return false;
  }
  if (layers.front().stats.instructions == 0)
    layers.erase(layers.begin());
  for (LayerResult &l : layers) {
    l.stats.cycles = l.endCycle - l.startCycle;
    uint64_t cycles = l.stats.cycles;
    l.stats.cycles = 0;
    total.add(l.stats);
    l.stats.cycles = cycles;
  }
  total.cycles = maxEnd;
  return true;
}

bool Simulator::Impl::execute(size_t index, std::string &error) {
  const Instruction &inst = program.instructions[index];
  if (inst.opcode == Opcode::Layer) {
    int64_t id = inst[field::Layer::Layer];
    layer = &program.layers[size_t(id)];
    layers.push_back(LayerResult{layer->name,
                                 weightFormatName(layer->weightFormat()), 0, 0,
                                 {}, compulsory[size_t(id)]});
    layers.back().stats.denseMacs = uint64_t(layer->denseMacs());
    layers.back().stats.instructions = 1;
    layerStarted = false;
    tileChannels = 0;
    pdTile = PermDiagTile();
    for (EngineState &e : engines)
      e.basisValid = e.weightsValid = false;
    return true;
  }
  ++stats().instructions;
  switch (inst.opcode) {
  case Opcode::Sync:
    barrier = std::max(barrier, maxEnd);
    return true;
  case Opcode::CfgInput:
  case Opcode::CfgOutput:
  case Opcode::CfgKernel:
  case Opcode::CfgWeight:
  case Opcode::CfgQuant:
    // The verifier matched these against the layer table, which the
    // execution reads directly.
    return true;
  case Opcode::CfgBand: {
    using namespace field::CfgBand;
    bandAddr = inst[BufAddr];
    bandN0 = inst[N0];
    bandSamples = inst[Samples];
    bandH0 = inst[H0];
    bandRows = inst[Rows];
    return true;
  }
  case Opcode::CfgTile: {
    using namespace field::CfgTile;
    tileChannels = inst[Channels];
    tileBlock0 = inst[Block0];
    tileBlocks = inst[Blocks];
    tileCodeAddr = inst[CodeAddr];
    tileIndexAddr = inst[IndexAddr];
    tileBasisAddr = inst[BasisAddr];
    ++tileSerial;
    for (EngineState &e : engines)
      e.basisValid = e.weightsValid = false;
    return true;
  }
  case Opcode::DmaLoad:
    return execDma(inst, false, error, index);
  case Opcode::DmaStore:
    return execDma(inst, true, error, index);
  case Opcode::Move:
    execMove(inst);
    return true;
  case Opcode::LoadB:
    return execLoadB(inst, error, index);
  case Opcode::Rebuild:
    return execRebuild(inst, error, index);
  case Opcode::LoadW:
    return execLoadW(inst, error, index);
  case Opcode::Mac:
    return execMac(inst, error, index);
  case Opcode::Requant:
    return execRequant(inst, error, index);
  case Opcode::PdTile:
  case Opcode::PdMac:
  case Opcode::PdRequant:
    return execPermDiag(inst, error, index);
  case Opcode::CfgAdd:
    return true;
  case Opcode::CfgDw:
    dwWAddr = inst[field::CfgDw::WAddr];
    dwBiasAddr = inst[field::CfgDw::BiasAddr];
    return true;
  case Opcode::DwConv:
    return execDwConv(inst);
  case Opcode::Add:
    return execAdd(inst);
  case Opcode::Pool:
    return execPool(inst);
  default:
    return fail(error, index, "not executable");
  }
}

static unsigned bufferResource(Buffer b) {
  switch (b) {
  case Buffer::Input:
    return ResInput;
  case Buffer::Output:
    return ResOutput;
  case Buffer::Weight:
    return ResWeight;
  case Buffer::Index:
    return ResIndex;
  }
  return ResInput;
}

static Level bufferLevel(Buffer b) {
  switch (b) {
  case Buffer::Input:
    return Level::InputBuffer;
  case Buffer::Output:
    return Level::OutputBuffer;
  case Buffer::Weight:
    return Level::WeightBuffer;
  case Buffer::Index:
    return Level::IndexBuffer;
  }
  return Level::InputBuffer;
}

void Simulator::Impl::execMove(const Instruction &inst) {
  using namespace field::Move;
  const int64_t src = inst[SrcAddr], dst = inst[DstAddr];
  const int64_t length = inst[Length], count = inst[Count];
  const int64_t srcStride = inst[SrcStride], dstStride = inst[DstStride];
  for (int64_t r = 0; r < count; ++r)
    std::memmove(ibuf.data() + dst + r * dstStride,
                 obuf.data() + src + r * srcStride, size_t(length));
  uint64_t bytes = uint64_t(length * count);
  SimStats &s = stats();
  s.at(Level::OutputBuffer).readBytes += bytes;
  s.at(Level::InputBuffer).writeBytes += bytes;
  std::vector<Access> accesses = {
      {bufferResource(Buffer::Output), src,
       src + (count - 1) * srcStride + length, false},
      {bufferResource(Buffer::Input), dst,
       dst + (count - 1) * dstStride + length, true}};
  // On chip: the store channel's width, no DRAM slot and no DRAM latency.
  schedule(Unit::DmaStore, accesses,
           uint64_t(ceilDiv(int64_t(bytes), config.dramBytesPerCycle)), false);
}

bool Simulator::Impl::execDma(const Instruction &inst, bool store,
                              std::string &error, size_t index) {
  (void)error;
  (void)index;
  int64_t dramAddr, bufAddr, length, count, stride;
  Buffer buffer = Buffer::Output;
  DmaKind kind = DmaKind::Act;
  if (store) {
    using namespace field::DmaStore;
    dramAddr = inst[DramAddr];
    bufAddr = inst[BufAddr];
    length = inst[Length];
    count = inst[Count];
    stride = inst[DramStride];
  } else {
    using namespace field::DmaLoad;
    kind = DmaKind(inst[Kind]);
    buffer = dmaKindBuffer(kind);
    dramAddr = inst[DramAddr];
    bufAddr = inst[BufAddr];
    length = inst[Length];
    count = inst[Count];
    stride = inst[DramStride];
  }
  uint8_t *buf = nullptr;
  switch (buffer) {
  case Buffer::Input:
    buf = reinterpret_cast<uint8_t *>(ibuf.data());
    break;
  case Buffer::Output:
    buf = reinterpret_cast<uint8_t *>(obuf.data());
    break;
  case Buffer::Weight:
    buf = wbuf.data();
    break;
  case Buffer::Index:
    buf = xbuf.data();
    ++indexVersion;
    break;
  }
  for (int64_t r = 0; r < count; ++r) {
    uint64_t d = uint64_t(dramAddr + r * stride);
    uint8_t *b = buf + bufAddr + r * length;
    if (store)
      dram.write(d, b, uint64_t(length));
    else
      dram.read(d, b, uint64_t(length));
  }
  uint64_t bytes = uint64_t(length * count);
  SimStats &s = stats();
  Level level = bufferLevel(buffer);
  if (store) {
    s.at(Level::Dram).writeBytes += bytes;
    s.at(level).readBytes += bytes;
    s.dramBytesByKind[kNumDmaKinds] += bytes;
  } else {
    s.at(Level::Dram).readBytes += bytes;
    s.at(level).writeBytes += bytes;
    s.dramBytesByKind[unsigned(kind)] += bytes;
  }
  int64_t span = (count - 1) * stride + length;
  std::vector<Access> accesses = {
      {ResDram, dramAddr, dramAddr + span, store},
      {bufferResource(buffer), bufAddr, bufAddr + length * count, !store}};
  uint64_t transfer =
      uint64_t(ceilDiv(int64_t(bytes), config.dramBytesPerCycle));
  schedule(store ? Unit::DmaStore : Unit::DmaLoad, accesses, transfer, true);
  return true;
}

bool Simulator::Impl::execLoadB(const Instruction &inst, std::string &error,
                                size_t index) {
  int64_t bank = inst[field::LoadB::Bank], block = inst[field::LoadB::Block];
  int64_t first = tileBasisAddr + (block - tileBlock0) * 9;
  int64_t last = tileBasisAddr +
                 ((tileChannels - 1) * tileBlocks + (block - tileBlock0)) * 9 +
                 9;
  if (last > config.weight.bytes)
    return fail(error, index,
                "the tile's bases end at weight-buffer byte " +
                    std::to_string(last) + ", beyond its " +
                    std::to_string(config.weight.bytes) + " bytes");
  EngineState &e = engines[bank];
  for (int64_t m = 0; m < tileChannels; ++m)
    std::memcpy(&e.basis[size_t(m * 9)],
                &wbuf[size_t(tileBasisAddr +
                             (m * tileBlocks + (block - tileBlock0)) * 9)],
                9);
  e.basisValid = true;
  e.basisBlock = block;
  e.basisTile = tileSerial;
  SimStats &s = stats();
  s.at(Level::WeightBuffer).readBytes += uint64_t(tileChannels * 9);
  // Each slice broadcasts its B to the engine of every one of its lines.
  s.at(Level::BasisRf).writeBytes += uint64_t(tileChannels * 9 * config.dimC);
  schedule(Unit::Rebuild,
           {{ResWeight, first, last, false},
            {unsigned(ResBasisRf0 + bank), 0, 1, true}},
           uint64_t(config.basisRfBytes), false);
  return true;
}

bool Simulator::Impl::tileCodeOffsets(std::string &error, size_t index) {
  if (segTile == tileSerial && segIndexVersion == indexVersion)
    return true;
  const LayerDecl &l = *layer;
  int64_t idxBytes = l.indexBytesPerBlock();
  int64_t end = tileIndexAddr + tileChannels * tileBlocks * idxBytes;
  if (end > config.index.bytes)
    return fail(error, index,
                "the tile's row index ends at index-buffer byte " +
                    std::to_string(end) + ", beyond its " +
                    std::to_string(config.index.bytes) + " bytes");
  segOffsets.assign(size_t(tileChannels * tileBlocks + 1), 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < tileChannels * tileBlocks; ++i) {
    segOffsets[size_t(i)] = offset;
    offset += codeSegmentBytes(
        popcount(&xbuf[size_t(tileIndexAddr + i * idxBytes)], idxBytes),
        l.codeBits);
  }
  segOffsets.back() = offset;
  segTile = tileSerial;
  segIndexVersion = indexVersion;
  return true;
}

bool Simulator::Impl::execRebuild(const Instruction &inst, std::string &error,
                                  size_t index) {
  int64_t bank = inst[field::Rebuild::Bank];
  int64_t block = inst[field::Rebuild::Block];
  EngineState &e = engines[bank];
  if (!e.basisValid || e.basisTile != tileSerial || e.basisBlock != block)
    return fail(error, index,
                "engine " + std::to_string(bank) + " holds no B of block " +
                    std::to_string(block) +
                    " of the current tile (load_b it first)");
  if (!tileCodeOffsets(error, index))
    return false;
  const LayerDecl &l = *layer;
  const int64_t br = l.blockRows, idxBytes = l.indexBytesPerBlock();
  const int64_t bits = l.codeBits, levels = l.maxExp - l.minExp + 1;
  const int64_t usedInBlock = std::min(br, l.usedRows() - block * br);
  const int64_t local = block - tileBlock0;
  // sign(c) * 2^(|c| - 1) for c in [-levels, levels]; the verifier bounds
  // levels so that every rebuilt weight fits rebuilt_weight_bits <= 32.
  std::vector<int64_t> power(size_t(2 * levels + 1), 0);
  for (int64_t c = 1; c <= levels; ++c) {
    power[size_t(levels + c)] = int64_t(1) << (c - 1);
    power[size_t(levels - c)] = -(int64_t(1) << (c - 1));
  }
  SimStats &s = stats();
  int64_t maxRows = 0;
  uint64_t codeBytes = 0;
  for (int64_t m = 0; m < tileChannels; ++m) {
    int64_t seg = m * tileBlocks + local;
    const uint8_t *bitsAt = &xbuf[size_t(tileIndexAddr + seg * idxBytes)];
    int64_t segStart = tileCodeAddr + segOffsets[size_t(seg)];
    int64_t segEnd = tileCodeAddr + segOffsets[size_t(seg + 1)];
    if (segEnd > config.weight.bytes)
      return fail(error, index,
                  "the codes of channel " + std::to_string(m) +
                      " end at weight-buffer byte " + std::to_string(segEnd) +
                      ", beyond its " + std::to_string(config.weight.bytes) +
                      " bytes");
    const uint8_t *codes = &wbuf[size_t(segStart)];
    const int8_t *basis = &e.basis[size_t(m * 9)];
    std::vector<int32_t> &rows = e.rows[size_t(m)];
    std::vector<int32_t> &w = e.weights[size_t(m)];
    int64_t present = popcount(bitsAt, idxBytes);
    rows.resize(size_t(present));
    w.resize(size_t(present * 3));
    unpacked.resize(size_t(present * 3));
    unpackCodes(codes, present * 3, bits, unpacked.data());
    // Every weight is sum_k sign(c_k) * (bq[k][j] << (|c_k| - 1)): three
    // multiply-adds with sign(c) * 2^(|c| - 1) from a table (exact).
    int64_t b[9];
    for (int k = 0; k < 9; ++k)
      b[k] = basis[k];
    int64_t n = 0, i = 0, nonZeroCodes = 0, adds = 0;
    for (int64_t byte = 0; byte < idxBytes; ++byte) {
      unsigned set = bitsAt[byte];
      while (set) {
        int64_t r = byte * 8 + __builtin_ctz(set);
        set &= set - 1;
        if (r >= usedInBlock)
          return fail(error, index,
                      "the row index of channel " + std::to_string(m) +
                          ", block " + std::to_string(block) + " marks row " +
                          std::to_string(r) + ", which holds only padding");
        int c[3] = {unpacked[size_t(i)], unpacked[size_t(i + 1)],
                    unpacked[size_t(i + 2)]};
        i += 3;
        for (int k = 0; k < 3; ++k)
          if (c[k] < -levels || c[k] > levels)
            return fail(error, index,
                        "Ce code " + std::to_string(c[k]) + " of channel " +
                            std::to_string(m) + ", block " +
                            std::to_string(block) + " is outside the " +
                            std::to_string(levels) + " exponent levels");
        int64_t p0 = power[size_t(c[0] + levels)];
        int64_t p1 = power[size_t(c[1] + levels)];
        int64_t p2 = power[size_t(c[2] + levels)];
        int32_t *out = &w[size_t(n * 3)];
        for (int j = 0; j < 3; ++j)
          out[j] = int32_t(p0 * b[j] + p1 * b[3 + j] + p2 * b[6 + j]);
        rows[size_t(n++)] = int32_t(r);
        int64_t nz = (c[0] != 0) + (c[1] != 0) + (c[2] != 0);
        nonZeroCodes += nz;
        adds += 3 * std::max<int64_t>(0, nz - 1);
      }
    }
    s.adds += uint64_t(adds);
    int64_t nzRows = int64_t(rows.size());
    maxRows = std::max(maxRows, nzRows);
    codeBytes += uint64_t(segEnd - segStart);
    s.shifts += uint64_t(3 * nonZeroCodes);
    s.at(Level::BasisRf).readBytes += uint64_t(3 * nonZeroCodes);
    s.at(Level::WeightRf).writeBytes +=
        uint64_t(nzRows * 3 * config.rebuiltWeightBytes());
  }
  s.at(Level::WeightBuffer).readBytes += codeBytes;
  s.at(Level::IndexBuffer).readBytes += uint64_t(tileChannels * idxBytes);
  e.weightsValid = true;
  e.weightsBlock = block;
  e.weightsTile = tileSerial;
  ++e.weightsSerial;
  // Each line's shift-add unit produces one weight per cycle.
  uint64_t duration = uint64_t(ceilDiv(maxRows, config.dimC) * 3 + 2);
  int64_t codeLo = tileCodeAddr, codeHi = tileCodeAddr + segOffsets.back();
  int64_t idxLo = tileIndexAddr,
          idxHi = tileIndexAddr + tileChannels * tileBlocks * idxBytes;
  schedule(Unit::Rebuild,
           {{ResWeight, codeLo, std::max(codeHi, codeLo + 1), false},
            {ResIndex, idxLo, idxHi, false},
            {unsigned(ResBasisRf0 + bank), 0, 1, false},
            {unsigned(ResWeightRf0 + bank), 0, 1, true}},
           duration, false);
  return true;
}

bool Simulator::Impl::execLoadW(const Instruction &inst, std::string &error,
                                size_t index) {
  int64_t bank = inst[field::LoadW::Bank], block = inst[field::LoadW::Block];
  const LayerDecl &l = *layer;
  const int64_t L = l.rowLength(), br3 = l.blockRows * 3;
  const int64_t perChannel =
      std::min((tileBlock0 + tileBlocks) * br3, L) - tileBlock0 * br3;
  const int64_t inBlock = std::min(br3, L - block * br3);
  const int64_t rowsInBlock = ceilDiv(inBlock, 3);
  int64_t end = tileCodeAddr + tileChannels * perChannel;
  if (end > config.weight.bytes)
    return fail(error, index,
                "the tile's weights end at weight-buffer byte " +
                    std::to_string(end) + ", beyond its " +
                    std::to_string(config.weight.bytes) + " bytes");
  EngineState &e = engines[bank];
  for (int64_t m = 0; m < tileChannels; ++m) {
    const int8_t *src = reinterpret_cast<const int8_t *>(&wbuf[size_t(
        tileCodeAddr + m * perChannel + (block - tileBlock0) * br3)]);
    std::vector<int32_t> &rows = e.rows[size_t(m)];
    std::vector<int32_t> &w = e.weights[size_t(m)];
    rows.resize(size_t(rowsInBlock));
    w.assign(size_t(rowsInBlock * 3), 0);
    for (int64_t r = 0; r < rowsInBlock; ++r)
      rows[size_t(r)] = int32_t(r);
    for (int64_t i = 0; i < inBlock; ++i)
      w[size_t(i)] = src[i];
  }
  e.weightsValid = true;
  e.weightsBlock = block;
  e.weightsTile = tileSerial;
  ++e.weightsSerial;
  SimStats &s = stats();
  s.at(Level::WeightBuffer).readBytes += uint64_t(tileChannels * inBlock);
  s.at(Level::WeightRf).writeBytes += uint64_t(tileChannels * inBlock);
  schedule(Unit::Rebuild,
           {{ResWeight, tileCodeAddr, end, false},
            {unsigned(ResWeightRf0 + bank), 0, 1, true}},
           uint64_t(ceilDiv(rowsInBlock, config.dimC) * 3 + 2), false);
  return true;
}

bool Simulator::Impl::execMac(const Instruction &inst, std::string &error,
                              size_t index) {
  using namespace field::Mac;
  const int64_t bank = inst[Bank], pos0 = inst[Pos0], npos = inst[Npos];
  const int64_t accAddr = inst[AccAddr];
  const bool init = inst[Init] != 0;
  EngineState &e = engines[bank];
  if (!e.weightsValid || e.weightsTile != tileSerial)
    return fail(error, index,
                "weight register file " + std::to_string(bank) +
                    " holds no weights of the current tile (rebuild or "
                    "load_w first)");
  const LayerDecl &l = *layer;
  const int64_t block = e.weightsBlock;
  const int64_t L = l.rowLength(), RS = l.r * l.s;
  const int64_t plane = l.oh * l.ow, W = l.w, H = l.h;
  // The band is [samples][rows][c][w]: an input row of every channel is
  // contiguous, so a chunk of positions reads one contiguous range.
  const int64_t rowStride = l.c * W, sampleStride = bandRows * rowStride;
  const bool se = l.weightFormat() == WeightFormat::SmartExchange;
  const int8_t *band = ibuf.data() + bandAddr;

  std::vector<uint8_t> rowUsed(size_t(l.blockRows), 0);
  int64_t maxRows = 0;
  SimStats &s = stats();
  const int64_t fTiles = ceilDiv(npos, config.dimF);
  for (int64_t m = 0; m < tileChannels; ++m) {
    const std::vector<int32_t> &rows = e.rows[size_t(m)];
    const std::vector<int32_t> &w = e.weights[size_t(m)];
    EngineState::Taps &tp = e.taps[size_t(m)];
    for (int32_t r : rows)
      rowUsed[size_t(r)] = 1;
    // The taps depend on the weights and on the band's row count; both
    // usually stay for many mac instructions.
    if (tp.serial != e.weightsSerial || tp.stride != rowStride) {
      size_t cap = rows.size() * 3, n = 0;
      tp.offset.resize(cap);
      tp.weight.resize(cap);
      tp.kh.resize(cap);
      tp.kw.resize(cap);
      for (size_t i = 0; i < rows.size(); ++i) {
        // Weight li = (row * 3 + j) of the output's c * r * s values is
        // input (c, kh, kw); walk the three from the row's first.
        int64_t li = (block * l.blockRows + rows[i]) * 3;
        int64_t c = li / RS, rem = li % RS;
        int64_t y = rem / l.s, x = rem % l.s;
        for (int64_t j = 0; j < 3; ++j, ++li) {
          int32_t v = w[i * 3 + size_t(j)];
          // Padding columns and zero weights add nothing to the exact sum.
          if (li < L && v != 0) {
            tp.kh[n] = int16_t(y);
            tp.kw[n] = int16_t(x);
            tp.offset[n] = int32_t(y * rowStride + c * W + x);
            tp.weight[n] = v;
            ++n;
          }
          if (++x == l.s) {
            x = 0;
            if (++y == l.r) {
              y = 0;
              ++c;
            }
          }
        }
      }
      tp.offset.resize(n);
      tp.weight.resize(n);
      tp.kh.resize(n);
      tp.kw.resize(n);
      tp.serial = e.weightsSerial;
      tp.stride = rowStride;
    }
    const int32_t *off = tp.offset.data(), *wt = tp.weight.data();
    const int16_t *kh = tp.kh.data(), *kw = tp.kw.data();
    const size_t taps = tp.weight.size();
    int64_t *a = &acc[size_t(m * config.accEntries + accAddr)];
    if (init)
      std::fill(a, a + npos, 0);
    int64_t n = pos0 / plane, q = pos0 % plane;
    int64_t oh = q / l.ow, ow = q % l.ow;
    for (int64_t i = 0; i < npos; ++i) {
      const int64_t ih0 = oh * l.strideH - l.padTop;
      const int64_t iw0 = ow * l.strideW - l.padLeft;
      const int8_t *base = band + (n - bandN0) * sampleStride;
      int64_t sum = 0;
      if (ih0 >= 0 && ih0 + l.r <= H && iw0 >= 0 && iw0 + l.s <= W) {
        const int8_t *x = base + (ih0 - bandH0) * rowStride + iw0;
        for (size_t t = 0; t < taps; ++t)
          sum += int64_t(wt[t]) * x[off[t]];
      } else {
        // Border windows: skip taps in the zero padding; the origin
        // offset may be negative, so index from the sample's base.
        const int64_t origin = (ih0 - bandH0) * rowStride + iw0;
        for (size_t t = 0; t < taps; ++t) {
          int64_t ih = ih0 + kh[t], iw = iw0 + kw[t];
          if (ih < 0 || ih >= H || iw < 0 || iw >= W)
            continue;
          sum += int64_t(wt[t]) * base[origin + off[t]];
        }
      }
      a[i] += sum;
      if (++ow == l.ow) {
        ow = 0;
        if (++oh == l.oh) {
          oh = 0;
          ++n;
        }
      }
    }
    int64_t nz = int64_t(rows.size());
    maxRows = std::max(maxRows, nz);
    s.macs += uint64_t(npos * nz * 3);
    s.at(Level::WeightRf).readBytes += uint64_t(
        fTiles * nz * 3 * (se ? config.rebuiltWeightBytes() : int64_t(1)));
    s.at(Level::AccumulatorRf).writeBytes +=
        uint64_t(npos * config.accumulatorBytes());
    if (!init)
      s.at(Level::AccumulatorRf).readBytes +=
          uint64_t(npos * config.accumulatorBytes());
    s.adds +=
        uint64_t(npos * (std::max<int64_t>(0, std::min(config.dimC, nz) - 1) +
                         (init ? 0 : 1)));
  }
  // The index selector fetches the input rows some slice needs; lines reuse
  // a fetched kernel row across its taps when the row is a kernel row
  // (s == 3) and the dim_f positions are neighbors.
  int64_t unionRows = 0;
  for (uint8_t u : rowUsed)
    unionRows += u;
  const int64_t usedInBlock =
      std::min(l.blockRows, l.usedRows() - block * l.blockRows);
  uint64_t inputBytes = 0;
  for (int64_t f0 = 0; f0 < npos; f0 += config.dimF) {
    int64_t f = std::min(config.dimF, npos - f0);
    int64_t perRow =
        l.s == 3 ? std::min(3 * f, (f - 1) * l.strideW + 3) : 3 * f;
    inputBytes += uint64_t(unionRows * perRow);
  }
  s.at(Level::InputBuffer).readBytes += inputBytes;
  int64_t perTile = std::max<int64_t>(1, ceilDiv(maxRows, config.dimC) * 3);
  int64_t densePerTile = ceilDiv(usedInBlock, config.dimC) * 3;
  for (int64_t m = 0; m < tileChannels; ++m)
    s.rowsSkipped +=
        uint64_t(fTiles * (usedInBlock - int64_t(e.rows[size_t(m)].size())));
  if (densePerTile > perTile)
    s.cyclesSaved += uint64_t(fTiles * (densePerTile - perTile));
  // Adder-tree depth plus the accumulator write.
  int64_t latency = 1;
  while ((int64_t(1) << (latency - 1)) < config.dimC)
    ++latency;
  // The input rows the positions read (and nothing more), so a mac can
  // start as soon as its rows have arrived.
  const int64_t nFirst = pos0 / plane, nLast = (pos0 + npos - 1) / plane;
  int64_t ohFirst = 0, ohLast = l.oh - 1;
  if (nFirst == nLast) {
    ohFirst = (pos0 % plane) / l.ow;
    ohLast = ((pos0 + npos - 1) % plane) / l.ow;
  }
  const int64_t rowLo = std::clamp<int64_t>(
      ohFirst * l.strideH - l.padTop - bandH0, 0, bandRows - 1);
  const int64_t rowHi = std::clamp<int64_t>(
      ohLast * l.strideH - l.padTop + l.r - 1 - bandH0, 0, bandRows - 1);
  const int64_t readLo =
      bandAddr + (nFirst - bandN0) * sampleStride + rowLo * rowStride;
  const int64_t readHi =
      bandAddr + (nLast - bandN0) * sampleStride + (rowHi + 1) * rowStride;
  schedule(Unit::Mac,
           {{ResInput, readLo, std::max(readHi, readLo + 1), false},
            {unsigned(ResWeightRf0 + bank), 0, 1, false},
            {ResAcc, accAddr, accAddr + npos, true}},
           uint64_t(fTiles * perTile + latency), false);
  return true;
}

bool Simulator::Impl::execRequant(const Instruction &inst, std::string &error,
                                  size_t index) {
  (void)error;
  (void)index;
  using namespace field::Requant;
  const int64_t accAddr = inst[AccAddr], npos = inst[Npos];
  const int64_t bufAddr = inst[BufAddr], chStride = inst[ChStride];
  const int64_t posStride = inst[PosStride], biasAddr = inst[BiasAddr];
  const LayerDecl &l = *layer;
  const int64_t M = l.multiplier, S = l.shift;
  const int64_t lo = l.relu ? 0 : -127;
  const int64_t half = int64_t(1) << (S - 1);
  int64_t lastByte = bufAddr;
  for (int64_t m = 0; m < tileChannels; ++m) {
    uint64_t raw = 0;
    for (int i = 0; i < 8; ++i)
      raw |= uint64_t(wbuf[size_t(biasAddr + m * 8 + i)]) << (8 * i);
    const int64_t bias = int64_t(raw);
    const int64_t *a = &acc[size_t(m * config.accEntries + accAddr)];
    for (int64_t i = 0; i < npos; ++i) {
      int64_t v = std::clamp(addSaturating(a[i], bias), -kAccLimit, kAccLimit);
      int64_t t = v * M; // |t| < 2^62
      int64_t y = std::clamp<int64_t>(floorShift(t + half, S), lo, 127);
      int64_t at = bufAddr + m * chStride + i * posStride;
      obuf[size_t(at)] = int8_t(y);
      lastByte = std::max(lastByte, at);
    }
  }
  SimStats &s = stats();
  uint64_t outputs = uint64_t(tileChannels * npos);
  s.requants += outputs;
  s.adds += outputs; // bias
  s.at(Level::AccumulatorRf).readBytes +=
      outputs * uint64_t(config.accumulatorBytes());
  s.at(Level::WeightBuffer).readBytes += uint64_t(tileChannels * 8);
  s.at(Level::OutputBuffer).writeBytes += outputs;
  schedule(Unit::Requant,
           {{ResAcc, accAddr, accAddr + npos, false},
            {ResWeight, biasAddr, biasAddr + tileChannels * 8, false},
            {ResOutput, bufAddr, lastByte + 1, true}},
           uint64_t(ceilDiv(npos, config.dimF) + 3), false);
  return true;
}

bool Simulator::Impl::execAdd(const Instruction &inst) {
  using namespace field::Add;
  const int64_t a = inst[AAddr], b = inst[BAddr], o = inst[OutAddr];
  const int64_t n = inst[Length];
  const LayerDecl &l = *layer;
  compression::AddRequantization r;
  r.multiplierA = l.multiplier;
  r.multiplierB = l.multiplier2;
  r.shift = l.shift;
  for (int64_t i = 0; i < n; ++i)
    obuf[size_t(o + i)] = compression::requantizeAdd(
        ibuf[size_t(a + i)], ibuf[size_t(b + i)], r, l.relu != 0);
  SimStats &s = stats();
  s.requants += uint64_t(n);
  s.at(Level::InputBuffer).readBytes += uint64_t(2 * n);
  s.at(Level::OutputBuffer).writeBytes += uint64_t(n);
  schedule(Unit::Requant,
           {{ResInput, a, a + n, false},
            {ResInput, b, b + n, false},
            {ResOutput, o, o + n, true}},
           uint64_t(addCycles(n, config.dimM, config.dimF)), false);
  return true;
}

bool Simulator::Impl::execPool(const Instruction &inst) {
  using namespace field::Pool;
  const int64_t ch0 = inst[Ch0], channels = inst[Channels];
  const int64_t pos0 = inst[Pos0], npos = inst[Npos], o = inst[OutAddr];
  const LayerDecl &l = *layer;
  const int64_t plane = l.oh * l.ow, rowStride = l.c * l.w;
  const int64_t sampleStride = bandRows * rowStride;
  int64_t taps = 0; // window taps inside the input, for the counts
  for (int64_t i = 0; i < npos; ++i) {
    int64_t p = pos0 + i, n = p / plane, q = p % plane;
    int64_t oh = q / l.ow, ow = q % l.ow;
    const int8_t *band =
        ibuf.data() + bandAddr + (n - bandN0) * sampleStride;
    for (int64_t c = 0; c < channels; ++c)
      obuf[size_t(o + c * npos + i)] =
          poolOutput(l, band, bandH0, ch0 + c, oh, ow);
    int64_t ih0 = oh * l.strideH - l.padTop, iw0 = ow * l.strideW - l.padLeft;
    taps += (std::min(l.h, ih0 + l.r) - std::max<int64_t>(0, ih0)) *
            (std::min(l.w, iw0 + l.s) - std::max<int64_t>(0, iw0));
  }
  SimStats &s = stats();
  const bool avg = l.layerKind() == LayerKind::AvgPool;
  // A max is a compare, an average tap an add: both priced as adds.
  s.adds += uint64_t(taps * channels);
  if (avg)
    s.requants += uint64_t(npos * channels);
  s.at(Level::InputBuffer).readBytes += uint64_t(taps * channels);
  s.at(Level::OutputBuffer).writeBytes += uint64_t(npos * channels);
  const int64_t nFirst = pos0 / plane, nLast = (pos0 + npos - 1) / plane;
  const int64_t lo = bandAddr + (nFirst - bandN0) * sampleStride;
  const int64_t hi = bandAddr + (nLast - bandN0 + 1) * sampleStride;
  schedule(Unit::Requant,
           {{ResInput, lo, hi, false}, {ResOutput, o, o + channels * npos, true}},
           uint64_t(poolCycles(channels, npos, l.r * l.s, config.dimM,
                               config.dimF)),
           false);
  return true;
}

/// The PermDNN engine mode (PermDiagEngine.cpp) on this machine's buffers,
/// timed by the scoreboard like every other instruction.
bool Simulator::Impl::execPermDiag(const Instruction &inst, std::string &error,
                                   size_t index) {
  PermDiagMachine m{config,      *layer, pdTile,      ibuf.data(),
                    bandAddr,    bandN0, bandSamples, wbuf.data(),
                    obuf.data(), acc,    stats()};
  PdTiming timing;
  std::string text;
  if (!executePermDiag(inst, m, timing, text))
    return fail(error, index, text);
  if (timing.unit == Unit::Control)
    return true;
  static constexpr unsigned kResource[] = {ResInput, ResOutput, ResWeight,
                                           ResAcc};
  std::vector<Access> accesses;
  for (const PdAccess &a : timing.accesses)
    accesses.push_back({kResource[unsigned(a.resource)], a.lo, a.hi, a.write});
  schedule(timing.unit, accesses, timing.cycles, false);
  return true;
}

bool Simulator::Impl::execDwConv(const Instruction &inst) {
  using namespace field::DwConv;
  const int64_t ch0 = inst[Ch0], channels = inst[Channels];
  const int64_t pos0 = inst[Pos0], npos = inst[Npos], o = inst[OutAddr];
  const LayerDecl &l = *layer;
  const int64_t plane = l.oh * l.ow, rowStride = l.c * l.w;
  const int64_t sampleStride = bandRows * rowStride, taps = l.r * l.s;
  int64_t inside = 0; // window taps inside the input
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t ch = ch0 + c;
    const int8_t *w =
        reinterpret_cast<const int8_t *>(wbuf.data() + dwWAddr + ch * taps);
    uint64_t raw = 0;
    for (int i = 0; i < 8; ++i)
      raw |= uint64_t(wbuf[size_t(dwBiasAddr + ch * 8 + i)]) << (8 * i);
    for (int64_t i = 0; i < npos; ++i) {
      int64_t p = pos0 + i, n = p / plane, q = p % plane;
      const int8_t *band =
          ibuf.data() + bandAddr + (n - bandN0) * sampleStride;
      obuf[size_t(o + c * npos + i)] = depthwiseOutput(
          l, band, bandH0, ch, q / l.ow, q % l.ow, w, int64_t(raw));
      if (c == 0) {
        int64_t ih0 = (q / l.ow) * l.strideH - l.padTop;
        int64_t iw0 = (q % l.ow) * l.strideW - l.padLeft;
        inside += (std::min(l.h, ih0 + l.r) - std::max<int64_t>(0, ih0)) *
                  (std::min(l.w, iw0 + l.s) - std::max<int64_t>(0, iw0));
      }
    }
  }
  SimStats &s = stats();
  const uint64_t outputs = uint64_t(channels * npos);
  s.macs += uint64_t(inside * channels);
  s.adds += outputs * uint64_t(std::min(taps, config.dimC)); // tree + bias
  s.requants += outputs;
  s.at(Level::InputBuffer).readBytes += uint64_t(inside * channels);
  s.at(Level::WeightBuffer).readBytes += uint64_t(channels * (taps + 8));
  s.at(Level::WeightRf).writeBytes += uint64_t(channels * taps);
  s.at(Level::WeightRf).readBytes +=
      uint64_t(channels * taps * ((npos + config.dimF - 1) / config.dimF));
  s.at(Level::OutputBuffer).writeBytes += outputs;
  const int64_t nFirst = pos0 / plane, nLast = (pos0 + npos - 1) / plane;
  const int64_t lo = bandAddr + (nFirst - bandN0) * sampleStride;
  const int64_t hi = bandAddr + (nLast - bandN0 + 1) * sampleStride;
  const int64_t wLo = dwWAddr + ch0 * taps;
  schedule(Unit::Mac,
           {{ResInput, lo, hi, false},
            {ResWeight, wLo, wLo + channels * taps, false},
            {ResWeight, dwBiasAddr + ch0 * 8, dwBiasAddr + (ch0 + channels) * 8,
             false},
            {ResOutput, o, o + channels * npos, true}},
           uint64_t(depthwiseCycles(channels, npos, taps, config.dimM,
                                    config.dimC, config.dimF)),
           false);
  return true;
}

//===----------------------------------------------------------------------===//
// Simulator
//===----------------------------------------------------------------------===//

Simulator::Simulator(const HardwareConfig &config)
    : impl(std::make_unique<Impl>(config)) {}
Simulator::~Simulator() = default;

bool Simulator::load(const Program &program, std::string &error, bool verify) {
  return impl->load(program, error, verify);
}

bool Simulator::setInput(const std::string &name,
                         const std::vector<int8_t> &values,
                         const std::vector<int64_t> &shape,
                         std::string &error) {
  return impl->setInput(name, values, shape, error);
}

void Simulator::setTrace(std::FILE *trace) { impl->trace = trace; }

bool Simulator::run(std::string &error) { return impl->run(error); }

bool Simulator::tensor(const std::string &name,
                       std::vector<int8_t> &values) const {
  int64_t t = impl->program.findTensor(name);
  if (t < 0)
    return false;
  const TensorDecl &d = impl->program.tensors[size_t(t)];
  values.resize(size_t(d.numBytes()));
  impl->dram.read(d.dramAddr, reinterpret_cast<uint8_t *>(values.data()),
                  values.size());
  return true;
}

const SimStats &Simulator::total() const { return impl->total; }
const std::vector<LayerResult> &Simulator::layers() const {
  return impl->layers;
}

static JsonValue statsJson(const SimStats &s, const HardwareConfig &config,
                           bool detailed) {
  JsonValue v = JsonValue::object();
  v.set("cycles", JsonValue::integer(int64_t(s.cycles)));
  v.set("time_us", JsonValue::number(double(s.cycles) / config.clockMhz));
  double peak = double(s.cycles) * double(config.numMacs());
  v.set("utilization",
        JsonValue::number(peak > 0 ? double(s.macs) / peak : 0.0));
  JsonValue &macs = v.set("macs", JsonValue::object());
  macs.set("performed", JsonValue::integer(int64_t(s.macs)));
  macs.set("dense_equivalent", JsonValue::integer(int64_t(s.denseMacs)));
  macs.set("rows_skipped", JsonValue::integer(int64_t(s.rowsSkipped)));
  macs.set("cycles_saved_by_index", JsonValue::integer(int64_t(s.cyclesSaved)));
  JsonValue &traffic = v.set("traffic_bytes", JsonValue::object());
  for (unsigned i = 0; i < kNumLevels; ++i) {
    JsonValue &t = traffic.set(levelName(Level(i)), JsonValue::object());
    t.set("read", JsonValue::integer(int64_t(s.traffic[i].readBytes)));
    t.set("write", JsonValue::integer(int64_t(s.traffic[i].writeBytes)));
  }
  JsonValue &byKind = v.set("dram_bytes_by_kind", JsonValue::object());
  for (unsigned k = 0; k < kNumDmaKinds; ++k)
    byKind.set(std::string("load_") + dmaKindName(DmaKind(k)),
               JsonValue::integer(int64_t(s.dramBytesByKind[k])));
  byKind.set("store_act",
             JsonValue::integer(int64_t(s.dramBytesByKind[kNumDmaKinds])));
  JsonValue &ops = v.set("operations", JsonValue::object());
  ops.set("mac", JsonValue::integer(int64_t(s.macs)));
  ops.set("shift", JsonValue::integer(int64_t(s.shifts)));
  ops.set("add", JsonValue::integer(int64_t(s.adds)));
  ops.set("requant", JsonValue::integer(int64_t(s.requants)));
  Energy e = computeEnergy(s, config);
  JsonValue &energy = v.set("energy_pj", JsonValue::object());
  energy.set("total", JsonValue::number(e.total()));
  JsonValue &byLevel = energy.set("by_level", JsonValue::object());
  for (unsigned i = 0; i < kNumLevels; ++i)
    byLevel.set(levelName(Level(i)), JsonValue::number(e.byLevel[i]));
  JsonValue &byOp = energy.set("by_operation", JsonValue::object());
  byOp.set("mac", JsonValue::number(e.mac));
  byOp.set("shift", JsonValue::number(e.shift));
  byOp.set("add", JsonValue::number(e.add));
  byOp.set("requant", JsonValue::number(e.requant));
  if (detailed) {
    JsonValue &busy = v.set("unit_busy_cycles", JsonValue::object());
    for (unsigned u = 1; u < kNumUnits; ++u)
      busy.set(unitName(Unit(u)), JsonValue::integer(int64_t(s.unitBusy[u])));
  }
  v.set("instructions", JsonValue::integer(int64_t(s.instructions)));
  return v;
}

JsonValue Simulator::report(const std::string &mode) const {
  const HardwareConfig &c = impl->config;
  JsonValue v = JsonValue::object();
  v.set("mode", JsonValue::string(mode));
  v.set("config", JsonValue::string(c.name));
  char fp[32];
  std::snprintf(fp, sizeof(fp), "0x%016llx",
                (unsigned long long)c.fingerprint());
  v.set("fingerprint", JsonValue::string(fp));
  v.set("clock_mhz", JsonValue::number(c.clockMhz));
  v.set("peak_macs_per_cycle", JsonValue::integer(c.numMacs()));
  JsonValue totals = statsJson(impl->total, c, true);
  for (const auto &member : totals.members())
    v.set(member.first, member.second);
  JsonValue &layers = v.set("layers", JsonValue::array());
  for (const LayerResult &l : impl->layers) {
    JsonValue lv = JsonValue::object();
    lv.set("name", JsonValue::string(l.name));
    lv.set("format", JsonValue::string(l.format));
    lv.set("start_cycle", JsonValue::integer(int64_t(l.startCycle)));
    JsonValue stats = statsJson(l.stats, c, true);
    for (const auto &member : stats.members())
      lv.set(member.first, member.second);
    if (l.compulsoryDramBytes >= 0)
      lv.set("dram_compulsory_bytes",
             JsonValue::integer(l.compulsoryDramBytes));
    layers.push(std::move(lv));
  }
  return v;
}

} // namespace sd::sdacc
