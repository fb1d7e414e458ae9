//===- Program.cpp - An accelerator program in memory ---------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/Program.h"
#include "SD/Accel/NetworkLayers.h"
#include "SD/Accel/PermDiag.h"
#include "SD/Accel/ProgramFile.h"

#include "SD/Compression/Layout.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <sstream>

namespace sd::sdacc {

const char *tensorRoleName(TensorRole role) {
  switch (role) {
#define SDACC_TENSOR_ROLE(Name, name, value, meaning)                          \
  case TensorRole::Name:                                                       \
    return name;
#include "SD/Accel/ProgramFile.def"
  }
  return "?";
}

const char *layerKindName(int64_t kind) {
  switch (kind) {
#define SDACC_LAYER_KIND(Name, name, value, meaning)                           \
  case value:                                                                  \
    return name;
#include "SD/Accel/ProgramFile.def"
  }
  return nullptr;
}

int64_t TensorDecl::numBytes() const {
  // Saturates instead of overflowing on the shapes a damaged file may
  // declare; checkTensorShape() rejects those.
  const int64_t saturated = int64_t(1) << 62;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d <= 0)
      return 0;
    if (n > saturated / d)
      return saturated;
    n *= d;
  }
  return n;
}

std::string checkTensorShape(const std::vector<int64_t> &shape) {
  if (shape.empty() || shape.size() > 4)
    return "rank " + std::to_string(shape.size()) + " must be 1 to 4";
  for (int64_t d : shape)
    if (d < 1 || d > (int64_t(1) << 31))
      return "dimension " + std::to_string(d) + " must be in [1, 2^31]";
  TensorDecl t;
  t.shape = shape;
  if (t.numBytes() > (int64_t(1) << 32))
    return "larger than 4 GiB";
  return {};
}

const std::vector<LayerFieldDesc> &layerFieldTable() {
  static const std::vector<LayerFieldDesc> table = {
#define SDACC_LAYER_FIELD(Member, name, Type, meaning)                         \
  LayerFieldDesc{name, &LayerDecl::Member, LayerFieldType::Type, meaning},
#include "SD/Accel/ProgramFile.def"
  };
  return table;
}

int64_t Program::findTensor(const std::string &name) const {
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name)
      return int64_t(i);
  return -1;
}

const DataSegment *Program::findSegment(int64_t layer, DmaKind kind) const {
  for (const DataSegment &s : segments)
    if (s.layer == layer && s.kind == kind)
      return &s;
  return nullptr;
}

uint64_t Program::dramExtent() const {
  uint64_t end = 0;
  for (const TensorDecl &t : tensors)
    end = std::max(end, t.dramAddr + uint64_t(t.numBytes()));
  for (const DataSegment &s : segments)
    end = std::max(end, s.dramAddr + s.bytes.size());
  return end;
}

bool Program::operator==(const Program &other) const {
  if (fingerprint != other.fingerprint ||
      tensors.size() != other.tensors.size() ||
      layers.size() != other.layers.size() ||
      segments.size() != other.segments.size() ||
      instructions != other.instructions)
    return false;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorDecl &a = tensors[i], &b = other.tensors[i];
    if (a.name != b.name || a.role != b.role || a.shape != b.shape ||
        a.dramAddr != b.dramAddr)
      return false;
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].name != other.layers[i].name)
      return false;
    for (const LayerFieldDesc &f : layerFieldTable())
      if (layers[i].*f.member != other.layers[i].*f.member)
        return false;
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const DataSegment &a = segments[i], &b = other.segments[i];
    if (a.kind != b.kind || a.layer != b.layer || a.dramAddr != b.dramAddr ||
        a.bytes != b.bytes)
      return false;
  }
  return true;
}

int readPackedCode(const uint8_t *segment, int64_t i, int64_t codeBits) {
  int64_t bit = i * codeBits;
  unsigned raw = 0;
  for (int64_t b = 0; b < codeBits; ++b, ++bit)
    raw |= unsigned((segment[bit / 8] >> (bit % 8)) & 1) << b;
  // Sign-extend the codeBits-bit two's complement value.
  int value = int(raw);
  if (raw & (1u << (codeBits - 1)))
    value -= 1 << codeBits;
  return value;
}

void unpackCodes(const uint8_t *segment, int64_t count, int64_t codeBits,
                 int8_t *out) {
  // Stream bytes through a bit buffer, least significant bit first.
  uint64_t buffer = 0;
  int64_t have = 0;
  const uint64_t mask = (uint64_t(1) << codeBits) - 1;
  const uint64_t sign = uint64_t(1) << (codeBits - 1);
  for (int64_t i = 0; i < count; ++i) {
    if (have < codeBits) {
      buffer |= uint64_t(*segment++) << have;
      have += 8;
    }
    uint64_t raw = buffer & mask;
    buffer >>= codeBits;
    have -= codeBits;
    out[i] = int8_t(int(raw) - ((raw & sign) ? int(mask) + 1 : 0));
  }
}

void writePackedCode(uint8_t *segment, int64_t i, int64_t codeBits, int code) {
  unsigned raw = unsigned(code) & ((1u << codeBits) - 1);
  int64_t bit = i * codeBits;
  for (int64_t b = 0; b < codeBits; ++b, ++bit)
    if ((raw >> b) & 1)
      segment[bit / 8] |= uint8_t(1u << (bit % 8));
}

int64_t popcount(const uint8_t *p, int64_t bytes) {
  // A table: the portable builtin is a library call without -mpopcnt.
  static const auto table = [] {
    std::array<uint8_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i)
      t[i] = uint8_t((i & 1) + t[i / 2]);
    return t;
  }();
  int64_t count = 0;
  for (int64_t i = 0; i < bytes; ++i)
    count += table[p[i]];
  return count;
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

static bool validName(const std::string &name) {
  if (name.empty() || name.size() > 255)
    return false;
  for (unsigned char ch : name)
    if (!(std::isalnum(ch) || ch == '_' || ch == '.' || ch == '-' ||
          ch == ':' || ch == '/'))
      return false;
  return true;
}

/// `name` with bytes outside printable ASCII escaped, for error messages
/// about names that failed validation (they may come from a damaged file).
static std::string printable(const std::string &name) {
  std::string out;
  for (unsigned char ch : name.substr(0, 64)) {
    if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
      out += char(ch);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", ch);
      out += buf;
    }
  }
  return name.size() > 64 ? out + "..." : out;
}

static std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
  return buf;
}

namespace {
/// A DRAM region: a tensor or a data segment.
struct Region {
  uint64_t begin, end;
  int64_t tensor;  ///< Tensor index or -1.
  int64_t segment; ///< Segment index or -1.
};

/// Checks one program; stops at the first problem.
class ProgramVerifier {
public:
  ProgramVerifier(const Program &program, const HardwareConfig &config)
      : program(program), config(config) {}

  std::string run() {
    if (program.fingerprint != config.fingerprint())
      return "program was built for a different hardware configuration "
             "(fingerprint " +
             hex(program.fingerprint) + ", this configuration '" + config.name +
             "' is " + hex(config.fingerprint()) + ")";
    if (!checkTensors() || !checkRegions() || !checkLayers() ||
        !checkInstructions())
      return message;
    return {};
  }

private:
  bool fail(const std::string &text) {
    message = text;
    return false;
  }

  bool checkTensors() {
    for (size_t i = 0; i < program.tensors.size(); ++i) {
      const TensorDecl &t = program.tensors[i];
      std::string where = "tensor " + std::to_string(i);
      if (!validName(t.name))
        return fail(where + ": name '" + printable(t.name) +
                    "' must be 1-255 characters of [A-Za-z0-9_.:/-]");
      where = "tensor '" + t.name + "'";
      for (size_t j = 0; j < i; ++j)
        if (program.tensors[j].name == t.name)
          return fail(where + " is declared twice");
      std::string problem = checkTensorShape(t.shape);
      if (!problem.empty())
        return fail(where + ": " + problem);
      if (t.role != TensorRole::Input && t.role != TensorRole::Output &&
          t.role != TensorRole::Internal)
        return fail(where + ": unknown role");
    }
    return true;
  }

  bool checkRegions() {
    for (size_t i = 0; i < program.tensors.size(); ++i) {
      const TensorDecl &t = program.tensors[i];
      regions.push_back(
          {t.dramAddr, t.dramAddr + uint64_t(t.numBytes()), int64_t(i), -1});
    }
    for (size_t i = 0; i < program.segments.size(); ++i) {
      const DataSegment &s = program.segments[i];
      if (s.kind == DmaKind::Act || unsigned(s.kind) >= kNumDmaKinds)
        return fail("segment " + std::to_string(i) + ": bad kind");
      if (s.layer < 0 || s.layer >= int64_t(program.layers.size()))
        return fail("segment " + std::to_string(i) + " (" +
                    dmaKindName(s.kind) + "): layer " +
                    std::to_string(s.layer) + " does not exist");
      regions.push_back(
          {s.dramAddr, s.dramAddr + s.bytes.size(), -1, int64_t(i)});
    }
    std::sort(
        regions.begin(), regions.end(),
        [](const Region &a, const Region &b) { return a.begin < b.begin; });
    for (size_t i = 0; i < regions.size(); ++i) {
      if (regions[i].end > (uint64_t(1) << 32))
        return fail(regionName(regions[i]) +
                    " ends beyond the 32-bit DRAM address space");
      if (i > 0 && regions[i].begin < regions[i - 1].end)
        return fail(regionName(regions[i]) + " at " + hex(regions[i].begin) +
                    " overlaps " + regionName(regions[i - 1]));
    }
    return true;
  }

  std::string regionName(const Region &r) const {
    if (r.tensor >= 0)
      return "tensor '" + program.tensors[r.tensor].name + "'";
    const DataSegment &s = program.segments[r.segment];
    return std::string(dmaKindName(s.kind)) + " segment of layer " +
           std::to_string(s.layer);
  }

  bool checkLayers() {
    for (size_t i = 0; i < program.layers.size(); ++i)
      if (!checkLayer(int64_t(i)))
        return false;
    return true;
  }

  bool checkLayer(int64_t index) {
    const LayerDecl &l = program.layers[index];
    std::string where = "layer " + std::to_string(index);
    if (!validName(l.name))
      return fail(where + ": name '" + printable(l.name) +
                  "' must be 1-255 characters of [A-Za-z0-9_.:/-]");
    where = "layer '" + l.name + "'";
    if (isNetworkLayerKind(l.kind)) {
      std::string e = verifyNetworkLayer(program, index);
      return e.empty() || fail(e);
    }
    auto field = [&](const char *name, int64_t v, int64_t lo, int64_t hi) {
      if (v >= lo && v <= hi)
        return true;
      return fail(where + ": " + name + " = " + std::to_string(v) +
                  " must be in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
    };
    // Limits follow the widths of the configuration instructions.
    if (!field("kind", l.kind, 0, 1) ||
        !field("format", l.format, 0, int64_t(kNumWeightFormats) - 1) ||
        !field("input", l.input, 0, int64_t(program.tensors.size()) - 1) ||
        !field("output", l.output, 0, int64_t(program.tensors.size()) - 1) ||
        !field("n", l.n, 1, 65535) || !field("c", l.c, 1, (1 << 20) - 1) ||
        !field("h", l.h, 1, 65535) || !field("w", l.w, 1, 65535) ||
        !field("k", l.k, 1, (1 << 20) - 1) || !field("oh", l.oh, 1, 65535) ||
        !field("ow", l.ow, 1, 65535) || !field("r", l.r, 1, 15) ||
        !field("s", l.s, 1, 15) || !field("stride_h", l.strideH, 1, 15) ||
        !field("stride_w", l.strideW, 1, 15) ||
        !field("pad_top", l.padTop, 0, l.r - 1) ||
        !field("pad_left", l.padLeft, 0, l.s - 1) ||
        !field("blocks", l.blocks, 1, 65535) ||
        !field("block_rows", l.blockRows, 1, 255) ||
        !field("multiplier", l.multiplier, 1 << 14, (1 << 15) - 1) ||
        !field("shift", l.shift, 1, 62) || !field("relu", l.relu, 0, 1))
      return false;
    if (l.layerKind() == LayerKind::FullyConnected &&
        (l.h != 1 || l.w != 1 || l.r != 1 || l.s != 1 || l.oh != 1 ||
         l.ow != 1 || l.strideH != 1 || l.strideW != 1))
      return fail(where + ": a fully connected layer has h = w = r = s = "
                          "oh = ow = 1 and unit strides");
    if ((l.oh - 1) * l.strideH - l.padTop > l.h - 1 ||
        (l.oh - 1) * l.strideH + l.r - l.h - l.padTop > l.r - 1)
      return fail(where + ": output height " + std::to_string(l.oh) +
                  " does not fit input height " + std::to_string(l.h) +
                  " with r = " + std::to_string(l.r) + ", stride " +
                  std::to_string(l.strideH) + ", pad_top " +
                  std::to_string(l.padTop));
    if ((l.ow - 1) * l.strideW - l.padLeft > l.w - 1 ||
        (l.ow - 1) * l.strideW + l.s - l.w - l.padLeft > l.s - 1)
      return fail(where + ": output width " + std::to_string(l.ow) +
                  " does not fit input width " + std::to_string(l.w) +
                  " with s = " + std::to_string(l.s) + ", stride " +
                  std::to_string(l.strideW) + ", pad_left " +
                  std::to_string(l.padLeft));
    const TensorDecl &in = program.tensors[l.input];
    const TensorDecl &out = program.tensors[l.output];
    if (in.numBytes() != l.n * l.c * l.h * l.w || in.shape[0] != l.n)
      return fail(where + ": input tensor '" + in.name +
                  "' does not hold n x c x h x w = " + std::to_string(l.n) +
                  " x " + std::to_string(l.c) + " x " + std::to_string(l.h) +
                  " x " + std::to_string(l.w) + " values");
    if (out.numBytes() != l.n * l.k * l.oh * l.ow || out.shape[0] != l.n)
      return fail(where + ": output tensor '" + out.name +
                  "' does not hold n x k x oh x ow = " + std::to_string(l.n) +
                  " x " + std::to_string(l.k) + " x " + std::to_string(l.oh) +
                  " x " + std::to_string(l.ow) + " values");
    if (out.role == TensorRole::Input)
      return fail(where + " writes network input '" + out.name + "'");
    if (l.weightFormat() == WeightFormat::PermDiag) {
      std::string pdError = checkPermDiagLayer(l, config);
      if (!pdError.empty())
        return fail(where + ": " + pdError);
      return checkSegments(index);
    }
    compression::BlockLayout layout;
    layout.shape = {l.k, l.c, l.r, l.s};
    layout.numBlocks = l.blocks;
    layout.blockRows = l.blockRows;
    std::string layoutError = layout.verify();
    if (!layoutError.empty())
      return fail(where + ": " + layoutError);
    int64_t perLine = (l.blockRows + config.dimC - 1) / config.dimC;
    if (perLine > config.weightRfRows)
      return fail(where + ": block_rows = " + std::to_string(l.blockRows) +
                  " needs " + std::to_string(perLine) +
                  " weight register file rows per PE line, the hardware has " +
                  std::to_string(config.weightRfRows));
    if (l.weightFormat() == WeightFormat::SmartExchange) {
      if (!field("code_bits", l.codeBits, 2, config.ceBits) ||
          !field("min_exp", l.minExp, -128, l.maxExp) ||
          !field("max_exp", l.maxExp, l.minExp, 127))
        return false;
      int64_t levels = l.maxExp - l.minExp + 1;
      if (levels > (int64_t(1) << (l.codeBits - 1)) - 1)
        return fail(where + ": exponent range [" + std::to_string(l.minExp) +
                    ", " + std::to_string(l.maxExp) + "] needs more than " +
                    std::to_string(l.codeBits) + "-bit codes");
      if (levels > config.maxExponentLevels())
        return fail(where + ": exponent range [" + std::to_string(l.minExp) +
                    ", " + std::to_string(l.maxExp) + "] has " +
                    std::to_string(levels) +
                    " levels; rebuilt weights overflow the " +
                    std::to_string(config.rebuiltWeightBits) +
                    "-bit weight registers beyond " +
                    std::to_string(config.maxExponentLevels()));
    }
    return checkSegments(index);
  }

  bool checkSegments(int64_t index) {
    const LayerDecl &l = program.layers[index];
    std::string where = "layer '" + l.name + "'";
    bool se = l.weightFormat() == WeightFormat::SmartExchange;
    int counts[8] = {};
    for (const DataSegment &s : program.segments)
      if (s.layer == index)
        ++counts[unsigned(s.kind)];
    for (unsigned kind = 1; kind < kNumDmaKinds; ++kind) {
      DmaKind k = DmaKind(kind);
      bool wanted = k == DmaKind::Bias ||
                    (se ? k != DmaKind::Weights : k == DmaKind::Weights);
      if (counts[kind] != (wanted ? 1 : 0))
        return fail(where + " has " + std::to_string(counts[kind]) + " " +
                    dmaKindName(k) + " segments, expected " +
                    (wanted ? "1" : "0"));
    }
    auto sized = [&](DmaKind kind, int64_t bytes) {
      const DataSegment *s = program.findSegment(index, kind);
      if (int64_t(s->bytes.size()) == bytes)
        return true;
      return fail(where + ": " + dmaKindName(kind) + " segment has " +
                  std::to_string(s->bytes.size()) + " bytes, expected " +
                  std::to_string(bytes));
    };
    if (!sized(DmaKind::Bias, l.k * 8))
      return false;
    if (l.weightFormat() == WeightFormat::PermDiag) {
      std::string pdError = checkPermDiagRecords(
          l, program.findSegment(index, DmaKind::Weights)->bytes);
      return pdError.empty() || fail(where + ": " + pdError);
    }
    if (!se)
      return sized(DmaKind::Weights, l.k * l.rowLength());
    int64_t idxBytes = l.indexBytesPerBlock();
    if (!sized(DmaKind::Index, l.k * l.blocks * idxBytes) ||
        !sized(DmaKind::Basis, l.k * l.blocks * 9))
      return false;
    const uint8_t *bitmap =
        program.findSegment(index, DmaKind::Index)->bytes.data();
    const DataSegment *codes = program.findSegment(index, DmaKind::Codes);
    int64_t levels = l.maxExp - l.minExp + 1;
    int64_t offset = 0;
    std::vector<int8_t> unpacked;
    for (int64_t o = 0; o < l.k; ++o)
      for (int64_t b = 0; b < l.blocks; ++b) {
        const uint8_t *bits = bitmap + (o * l.blocks + b) * idxBytes;
        // Rows past the block, and rows holding only padding, stay clear.
        int64_t firstPad = std::max<int64_t>(
            0, std::min(l.blockRows, l.usedRows() - b * l.blockRows));
        for (int64_t r = firstPad; r < idxBytes * 8; ++r)
          if ((bits[r / 8] >> (r % 8)) & 1)
            return fail(where + ": index marks row " + std::to_string(r) +
                        " of channel " + std::to_string(o) + ", block " +
                        std::to_string(b) + ", which holds only padding");
        int64_t rows = popcount(bits, idxBytes);
        int64_t bytes = codeSegmentBytes(rows, l.codeBits);
        if (offset + bytes > int64_t(codes->bytes.size()))
          return fail(where + ": codes segment has " +
                      std::to_string(codes->bytes.size()) +
                      " bytes, the index needs more");
        unpacked.resize(size_t(rows * 3));
        unpackCodes(codes->bytes.data() + offset, rows * 3, l.codeBits,
                    unpacked.data());
        for (int8_t code : unpacked)
          if (code < -levels || code > levels)
            return fail(where + ": Ce code " + std::to_string(code) +
                        " of channel " + std::to_string(o) + ", block " +
                        std::to_string(b) + " is outside the " +
                        std::to_string(levels) + " exponent levels");
        offset += bytes;
      }
    if (offset != int64_t(codes->bytes.size()))
      return fail(where + ": codes segment has " +
                  std::to_string(codes->bytes.size()) +
                  " bytes, the index implies " + std::to_string(offset));
    return true;
  }

  /// Index of the region holding DRAM [begin, end), or -1.
  const Region *regionOf(uint64_t begin, uint64_t end) const {
    auto it = std::upper_bound(
        regions.begin(), regions.end(), begin,
        [](uint64_t addr, const Region &r) { return addr < r.begin; });
    if (it == regions.begin())
      return nullptr;
    --it;
    return end <= it->end ? &*it : nullptr;
  }

  bool checkInstructions();

  const Program &program;
  const HardwareConfig &config;
  std::vector<Region> regions;
  std::string message;
};

/// The configuration in force while walking a layer's instructions.
struct WalkState {
  int64_t layer = -1;
  bool input = false, output = false, kernel = false, weight = false,
       quant = false, band = false, tile = false, add = false, dw = false;
  int64_t bandAddr = 0, n0 = 0, samples = 0, h0 = 0, rows = 0;
  int64_t channels = 0, block0 = 0, blocks = 0;
  PermDiagTile pdTile;
};
} // namespace

bool ProgramVerifier::checkInstructions() {
  WalkState st;
  const auto &instrs = program.instructions;
  for (size_t i = 0; i < instrs.size(); ++i) {
    const Instruction &inst = instrs[i];
    std::string where = "instruction " + std::to_string(i) + " (" +
                        inst.desc().mnemonic + "): ";
    std::string err = verifyInstruction(inst, config);
    if (!err.empty())
      return fail("instruction " + std::to_string(i) + ": " + err);
    if (inst.opcode == Opcode::Sync)
      continue;
    if (inst.opcode == Opcode::Layer) {
      int64_t id = inst[field::Layer::Layer];
      if (id >= int64_t(program.layers.size()))
        return fail(where + "layer " + std::to_string(id) +
                    " is not in the layer table (" +
                    std::to_string(program.layers.size()) + " layers)");
      st = WalkState();
      st.layer = id;
      continue;
    }
    if (st.layer < 0)
      return fail(where + "comes before the first layer instruction");
    const LayerDecl &l = program.layers[st.layer];
    bool se = l.weightFormat() == WeightFormat::SmartExchange;
    auto match = [&](const char *name, int64_t got, int64_t want) {
      if (got == want)
        return true;
      return fail(where + name + " = " + std::to_string(got) + " but layer '" +
                  l.name + "' has " + std::to_string(want));
    };
    auto need = [&](bool have, const char *what) {
      if (have)
        return true;
      return fail(where + "needs a " + what + " earlier in layer '" + l.name +
                  "'");
    };
    // Pooling and depthwise instructions work on a window of channels and
    // output positions, which must lie inside the layer and read only input
    // rows the band holds.
    auto window = [&](int64_t ch0, int64_t channels, int64_t pos0,
                      int64_t npos) {
      if (ch0 + channels > l.c)
        return fail(where + "channels [" + std::to_string(ch0) + ", " +
                    std::to_string(ch0 + channels) + ") exceed the layer's " +
                    std::to_string(l.c));
      if (pos0 + npos > l.numPositions())
        return fail(where + "positions [" + std::to_string(pos0) + ", " +
                    std::to_string(pos0 + npos) + ") exceed the layer's " +
                    std::to_string(l.numPositions()));
      std::string cover =
          checkBandCovers(l, st.n0, st.samples, st.h0, st.rows, pos0, npos);
      return cover.empty() || fail(where + cover);
    };
    // Permdiag layers run on the pd_* instructions only, and those only
    // there.
    bool pdLayer = l.weightFormat() == WeightFormat::PermDiag;
    bool pdInst = isPermDiagInstruction(inst.opcode);
    if (pdInst != pdLayer &&
        (pdInst || inst.opcode == Opcode::CfgTile ||
         inst.opcode == Opcode::Mac || inst.opcode == Opcode::Requant))
      return fail(where + "is not valid for the " +
                  weightFormatName(l.weightFormat()) + " layer '" + l.name +
                  "'");
    switch (inst.opcode) {
    case Opcode::CfgInput: {
      using namespace field::CfgInput;
      if (!match("n", inst[N], l.n) || !match("c", inst[C], l.c) ||
          !match("h", inst[H], l.h) || !match("w", inst[W], l.w))
        return false;
      st.input = true;
      break;
    }
    case Opcode::CfgOutput: {
      using namespace field::CfgOutput;
      if (!match("k", inst[K], l.k) || !match("oh", inst[OH], l.oh) ||
          !match("ow", inst[OW], l.ow))
        return false;
      st.output = true;
      break;
    }
    case Opcode::CfgKernel: {
      using namespace field::CfgKernel;
      if (!match("r", inst[R], l.r) || !match("s", inst[S], l.s) ||
          !match("stride_h", inst[StrideH], l.strideH) ||
          !match("stride_w", inst[StrideW], l.strideW) ||
          !match("pad_top", inst[PadTop], l.padTop) ||
          !match("pad_left", inst[PadLeft], l.padLeft))
        return false;
      st.kernel = true;
      break;
    }
    case Opcode::CfgWeight: {
      using namespace field::CfgWeight;
      if (!match("format", inst[Format], l.format) ||
          !match("blocks", inst[Blocks], l.blocks) ||
          !match("block_rows", inst[BlockRows], l.blockRows))
        return false;
      if (se && (!match("code_bits", inst[CodeBits], l.codeBits) ||
                 !match("min_exp", inst[MinExp], l.minExp) ||
                 !match("max_exp", inst[MaxExp], l.maxExp)))
        return false;
      st.weight = true;
      break;
    }
    case Opcode::CfgAdd: {
      using namespace field::CfgAdd;
      if (l.layerKind() != LayerKind::Add)
        return fail(where + "layer '" + l.name + "' is not an add");
      if (!match("multiplier_a", inst[MultiplierA], l.multiplier) ||
          !match("multiplier_b", inst[MultiplierB], l.multiplier2) ||
          !match("shift", inst[Shift], l.shift) ||
          !match("relu", inst[Relu], l.relu))
        return false;
      st.add = true;
      break;
    }
    case Opcode::Add: {
      if (l.layerKind() != LayerKind::Add)
        return fail(where + "layer '" + l.name + "' is not an add");
      if (!need(st.add, "cfg_add"))
        return false;
      break;
    }
    case Opcode::Pool: {
      using namespace field::Pool;
      bool avg = inst[Avg] != 0;
      LayerKind want = avg ? LayerKind::AvgPool : LayerKind::MaxPool;
      if (l.layerKind() != want)
        return fail(where + "layer '" + l.name + "' is not " +
                    (avg ? "an average" : "a max") + " pooling layer");
      if (!need(st.input, "cfg_input") || !need(st.output, "cfg_output") ||
          !need(st.kernel, "cfg_kernel") || !need(st.band, "cfg_band") ||
          (avg && !need(st.quant, "cfg_quant")))
        return false;
      if (!window(inst[Ch0], inst[Channels], inst[Pos0], inst[Npos]))
        return false;
      break;
    }
    case Opcode::CfgDw: {
      using namespace field::CfgDw;
      if (l.layerKind() != LayerKind::Depthwise)
        return fail(where + "layer '" + l.name + "' is not depthwise");
      if (inst[WAddr] + l.c * l.r * l.s > config.weight.bytes ||
          inst[BiasAddr] + 8 * l.c > config.weight.bytes)
        return fail(where + "the layer's weights or biases overflow the "
                            "weight buffer");
      st.dw = true;
      break;
    }
    case Opcode::DwConv: {
      using namespace field::DwConv;
      if (l.layerKind() != LayerKind::Depthwise)
        return fail(where + "layer '" + l.name + "' is not depthwise");
      if (!need(st.input, "cfg_input") || !need(st.output, "cfg_output") ||
          !need(st.kernel, "cfg_kernel") || !need(st.band, "cfg_band") ||
          !need(st.quant, "cfg_quant") || !need(st.dw, "cfg_dw"))
        return false;
      if (!window(inst[Ch0], inst[Channels], inst[Pos0], inst[Npos]))
        return false;
      break;
    }
    case Opcode::CfgQuant: {
      using namespace field::CfgQuant;
      if (!match("multiplier", inst[Multiplier], l.multiplier) ||
          !match("shift", inst[Shift], l.shift) ||
          !match("relu", inst[Relu], l.relu))
        return false;
      st.quant = true;
      break;
    }
    case Opcode::CfgBand: {
      using namespace field::CfgBand;
      if (!need(st.input, "cfg_input"))
        return false;
      if (inst[N0] + inst[Samples] > l.n)
        return fail(where + "samples [" + std::to_string(inst[N0]) + ", " +
                    std::to_string(inst[N0] + inst[Samples]) +
                    ") exceed the batch of " + std::to_string(l.n));
      if (inst[H0] + inst[Rows] > l.h)
        return fail(where + "rows [" + std::to_string(inst[H0]) + ", " +
                    std::to_string(inst[H0] + inst[Rows]) +
                    ") exceed the input height " + std::to_string(l.h));
      int64_t bytes = inst[Samples] * l.c * inst[Rows] * l.w;
      if (inst[BufAddr] + bytes > config.input.bytes)
        return fail(where + "band [" + std::to_string(inst[BufAddr]) + ", " +
                    std::to_string(inst[BufAddr] + bytes) +
                    ") overflows the input buffer of " +
                    std::to_string(config.input.bytes) + " bytes");
      st.band = true;
      st.bandAddr = inst[BufAddr];
      st.n0 = inst[N0];
      st.samples = inst[Samples];
      st.h0 = inst[H0];
      st.rows = inst[Rows];
      break;
    }
    case Opcode::CfgTile: {
      using namespace field::CfgTile;
      if (!need(st.weight, "cfg_weight"))
        return false;
      if (inst[Block0] + inst[Blocks] > l.blocks)
        return fail(where + "blocks [" + std::to_string(inst[Block0]) + ", " +
                    std::to_string(inst[Block0] + inst[Blocks]) +
                    ") exceed the layer's " + std::to_string(l.blocks));
      st.tile = true;
      st.channels = inst[Channels];
      st.block0 = inst[Block0];
      st.blocks = inst[Blocks];
      break;
    }
    case Opcode::DmaLoad: {
      using namespace field::DmaLoad;
      uint64_t begin = uint64_t(inst[DramAddr]);
      uint64_t end =
          begin + uint64_t((inst[Count] - 1) * inst[DramStride] + inst[Length]);
      DmaKind kind = DmaKind(inst[Kind]);
      const Region *r = regionOf(begin, end);
      bool ok = r && (kind == DmaKind::Act
                          ? r->tensor >= 0
                          : r->segment >= 0 &&
                                program.segments[r->segment].kind == kind);
      if (!ok)
        return fail(where + "DRAM [" + hex(begin) + ", " + hex(end) +
                    ") is not inside one " +
                    (kind == DmaKind::Act
                         ? std::string("tensor")
                         : std::string(dmaKindName(kind)) + " segment"));
      break;
    }
    case Opcode::DmaStore: {
      using namespace field::DmaStore;
      uint64_t begin = uint64_t(inst[DramAddr]);
      uint64_t end =
          begin + uint64_t((inst[Count] - 1) * inst[DramStride] + inst[Length]);
      const Region *r = regionOf(begin, end);
      if (!r || r->tensor < 0)
        return fail(where + "DRAM [" + hex(begin) + ", " + hex(end) +
                    ") is not inside one tensor");
      if (program.tensors[r->tensor].role == TensorRole::Input)
        return fail(where + "writes network input '" +
                    program.tensors[r->tensor].name + "'");
      break;
    }
    case Opcode::LoadB:
    case Opcode::Rebuild:
    case Opcode::LoadW: {
      // The three share their field layout: bank, block.
      int64_t block = inst[1];
      if (!need(st.weight, "cfg_weight") || !need(st.tile, "cfg_tile"))
        return false;
      bool wantSe = inst.opcode != Opcode::LoadW;
      if (l.weightFormat() !=
          (wantSe ? WeightFormat::SmartExchange : WeightFormat::Dense))
        return fail(where + "is not valid for the " +
                    weightFormatName(l.weightFormat()) + " layer '" + l.name +
                    "'");
      if (block < st.block0 || block >= st.block0 + st.blocks)
        return fail(where + "block " + std::to_string(block) +
                    " is outside the tile's blocks [" +
                    std::to_string(st.block0) + ", " +
                    std::to_string(st.block0 + st.blocks) + ")");
      break;
    }
    case Opcode::Mac: {
      using namespace field::Mac;
      if (!need(st.input, "cfg_input") || !need(st.output, "cfg_output") ||
          !need(st.kernel, "cfg_kernel") || !need(st.weight, "cfg_weight") ||
          !need(st.band, "cfg_band") || !need(st.tile, "cfg_tile"))
        return false;
      if (inst[Pos0] + inst[Npos] > l.numPositions())
        return fail(where + "positions [" + std::to_string(inst[Pos0]) + ", " +
                    std::to_string(inst[Pos0] + inst[Npos]) +
                    ") exceed the layer's " + std::to_string(l.numPositions()));
      std::string cover = checkBandCovers(l, st.n0, st.samples, st.h0, st.rows,
                                          inst[Pos0], inst[Npos]);
      if (!cover.empty())
        return fail(where + cover);
      break;
    }
    case Opcode::Requant: {
      using namespace field::Requant;
      if (!need(st.quant, "cfg_quant") || !need(st.tile, "cfg_tile"))
        return false;
      int64_t last = inst[BufAddr] + (st.channels - 1) * inst[ChStride] +
                     (inst[Npos] - 1) * inst[PosStride];
      if (last >= config.output.bytes)
        return fail(where + "writes output-buffer byte " +
                    std::to_string(last) + ", beyond its " +
                    std::to_string(config.output.bytes) + " bytes");
      if (inst[BiasAddr] + 8 * st.channels > config.weight.bytes)
        return fail(where + "biases [" + std::to_string(inst[BiasAddr]) + ", " +
                    std::to_string(inst[BiasAddr] + 8 * st.channels) +
                    ") overflow the weight buffer");
      break;
    }
    case Opcode::PdTile:
    case Opcode::PdMac:
    case Opcode::PdRequant: {
      PermDiagWalk walk;
      walk.weight = st.weight;
      walk.quant = st.quant;
      walk.band = st.band;
      walk.n0 = st.n0;
      walk.samples = st.samples;
      walk.tile = st.pdTile;
      std::string pdError = checkPermDiagInstruction(inst, l, config, walk);
      if (!pdError.empty())
        return fail(where + pdError);
      st.pdTile = walk.tile;
      break;
    }
    default:
      break;
    }
  }
  return true;
}

std::string checkBandCovers(const LayerDecl &l, int64_t n0, int64_t samples,
                            int64_t h0, int64_t rows, int64_t pos0,
                            int64_t npos) {
  int64_t plane = l.oh * l.ow;
  int64_t nFirst = pos0 / plane, nLast = (pos0 + npos - 1) / plane;
  if (nFirst < n0 || nLast >= n0 + samples)
    return "positions [" + std::to_string(pos0) + ", " +
           std::to_string(pos0 + npos) + ") need samples " +
           std::to_string(nFirst) + ".." + std::to_string(nLast) +
           ", the input band holds [" + std::to_string(n0) + ", " +
           std::to_string(n0 + samples) + ")";
  int64_t ohFirst = 0, ohLast = l.oh - 1;
  if (nFirst == nLast) {
    ohFirst = (pos0 % plane) / l.ow;
    ohLast = ((pos0 + npos - 1) % plane) / l.ow;
  }
  int64_t lo = std::max<int64_t>(0, ohFirst * l.strideH - l.padTop);
  int64_t hi =
      std::min<int64_t>(l.h - 1, ohLast * l.strideH - l.padTop + l.r - 1);
  if (lo <= hi && (lo < h0 || hi >= h0 + rows))
    return "positions [" + std::to_string(pos0) + ", " +
           std::to_string(pos0 + npos) + ") read input rows " +
           std::to_string(lo) + ".." + std::to_string(hi) +
           ", the input band holds [" + std::to_string(h0) + ", " +
           std::to_string(h0 + rows) + ")";
  return {};
}

std::vector<int64_t> compulsoryDramBytes(const Program &program) {
  const size_t n = program.layers.size();
  std::vector<bool> cascades(n, false);
  int64_t current = -1;
  for (const Instruction &inst : program.instructions) {
    if (inst.opcode == Opcode::Layer)
      current = inst[field::Layer::Layer];
    else if (inst.opcode == Opcode::Move && current >= 0 &&
             current < int64_t(n))
      cascades[size_t(current)] = true;
  }
  std::vector<int64_t> bytes(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const LayerDecl &l = program.layers[i];
    auto tensorBytes = [&](int64_t t) {
      return program.tensors[size_t(t)].numBytes();
    };
    bool inputOnChip = i > 0 && cascades[i - 1] &&
                       program.layers[i - 1].output == l.input;
    if (!inputOnChip)
      bytes[i] += tensorBytes(l.input);
    if (l.layerKind() == LayerKind::Add)
      bytes[i] += tensorBytes(l.input2);
    if (!cascades[i])
      bytes[i] += tensorBytes(l.output);
  }
  for (const DataSegment &s : program.segments)
    if (s.layer >= 0 && s.layer < int64_t(n))
      bytes[size_t(s.layer)] += int64_t(s.bytes.size());
  return bytes;
}

std::string verifyProgram(const Program &program,
                          const HardwareConfig &config) {
  return ProgramVerifier(program, config).run();
}

} // namespace sd::sdacc
