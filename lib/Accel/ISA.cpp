//===- ISA.cpp - SmartDeal accelerator instructions -----------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Everything here is driven by the tables built from Instructions.def, so a
// field added there is encoded, decoded, verified, printed and parsed without
// touching this file (unless it brings an instruction-specific rule).
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/ISA.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace sd::sdacc {

//===----------------------------------------------------------------------===//
// Tables
//===----------------------------------------------------------------------===//

int64_t FieldDesc::minValue() const {
  if (type == FieldType::Signed)
    return -(int64_t(1) << (bits - 1));
  return 0;
}

int64_t FieldDesc::maxValue() const {
  if (type == FieldType::Signed)
    return (int64_t(1) << (bits - 1)) - 1;
  if (type == FieldType::DmaKind)
    return int64_t(kNumDmaKinds) - 1;
  if (type == FieldType::WeightFormat)
    return int64_t(kNumWeightFormats) - 1;
  return bits >= 63 ? INT64_MAX : (int64_t(1) << bits) - 1;
}

unsigned InstrDesc::usedBits() const {
  return fields.empty() ? kOpcodeBits
                        : fields.back().offset + fields.back().bits;
}

static std::vector<InstrDesc> buildTable() {
  std::vector<InstrDesc> table;
#define SDACC_INSTR_BEGIN(Name, mnemonic, opcode, UnitName, summary)           \
  table.push_back(                                                             \
      InstrDesc{Opcode::Name, mnemonic, Unit::UnitName, summary, {}});
#define SDACC_FIELD(Instr, Name, name, bits, Type, Check, meaning)             \
  table.back().fields.push_back(                                               \
      FieldDesc{name, bits, 0, FieldType::Type, FieldCheck::Check, meaning});
#include "SD/Accel/Instructions.def"
  // Fields are packed in order right after the opcode.
  for (InstrDesc &instr : table) {
    unsigned offset = kOpcodeBits;
    for (FieldDesc &f : instr.fields) {
      f.offset = offset;
      offset += f.bits;
    }
  }
  return table;
}

const std::vector<InstrDesc> &instructionTable() {
  static const std::vector<InstrDesc> table = buildTable();
  return table;
}

const InstrDesc *findInstruction(unsigned opcode) {
  for (const InstrDesc &d : instructionTable())
    if (unsigned(d.opcode) == opcode)
      return &d;
  return nullptr;
}

const InstrDesc *findInstruction(const std::string &mnemonic) {
  for (const InstrDesc &d : instructionTable())
    if (mnemonic == d.mnemonic)
      return &d;
  return nullptr;
}

const char *unitName(Unit unit) {
  switch (unit) {
#define SDACC_UNIT(Name, name, meaning)                                        \
  case Unit::Name:                                                             \
    return name;
#include "SD/Accel/Instructions.def"
  }
  return "?";
}

const char *unitMeaning(Unit unit) {
  switch (unit) {
#define SDACC_UNIT(Name, name, meaning)                                        \
  case Unit::Name:                                                             \
    return meaning;
#include "SD/Accel/Instructions.def"
  }
  return "?";
}

const char *bufferName(Buffer buffer) {
  switch (buffer) {
#define SDACC_BUFFER(Name, name, meaning)                                      \
  case Buffer::Name:                                                           \
    return name;
#include "SD/Accel/Instructions.def"
  }
  return "?";
}

const char *bufferMeaning(Buffer buffer) {
  switch (buffer) {
#define SDACC_BUFFER(Name, name, meaning)                                      \
  case Buffer::Name:                                                           \
    return meaning;
#include "SD/Accel/Instructions.def"
  }
  return "?";
}

const char *dmaKindName(DmaKind kind) {
  switch (kind) {
#define SDACC_DMA_KIND(Name, name, Buf, meaning)                               \
  case DmaKind::Name:                                                          \
    return name;
#include "SD/Accel/Instructions.def"
  }
  return "?";
}

const char *dmaKindMeaning(DmaKind kind) {
  switch (kind) {
#define SDACC_DMA_KIND(Name, name, Buf, meaning)                               \
  case DmaKind::Name:                                                          \
    return meaning;
#include "SD/Accel/Instructions.def"
  }
  return "?";
}

Buffer dmaKindBuffer(DmaKind kind) {
  switch (kind) {
#define SDACC_DMA_KIND(Name, name, Buf, meaning)                               \
  case DmaKind::Name:                                                          \
    return Buffer::Buf;
#include "SD/Accel/Instructions.def"
  }
  return Buffer::Input;
}

const char *weightFormatName(WeightFormat format) {
  switch (format) {
#define SDACC_WEIGHT_FORMAT(Name, name, meaning)                               \
  case WeightFormat::Name:                                                     \
    return name;
#include "SD/Accel/Instructions.def"
  }
  return "?";
}

const char *weightFormatMeaning(WeightFormat format) {
  switch (format) {
#define SDACC_WEIGHT_FORMAT(Name, name, meaning)                               \
  case WeightFormat::Name:                                                     \
    return meaning;
#include "SD/Accel/Instructions.def"
  }
  return "?";
}

const char *fieldTypeName(FieldType type) {
  switch (type) {
  case FieldType::Unsigned:
    return "unsigned";
  case FieldType::Signed:
    return "signed";
  case FieldType::Bool:
    return "bool";
  case FieldType::DmaKind:
    return "dma kind";
  case FieldType::WeightFormat:
    return "weight format";
  }
  return "?";
}

const char *fieldCheckRule(FieldCheck check) {
  switch (check) {
  case FieldCheck::Any:
    return "";
  case FieldCheck::Positive:
    return ">= 1";
  case FieldCheck::Bank:
    return "< engines_per_line";
  case FieldCheck::Channels:
    return "1 .. dim_m";
  case FieldCheck::InputAddr:
    return "< input buffer bytes";
  case FieldCheck::OutputAddr:
    return "< output buffer bytes";
  case FieldCheck::WeightAddr:
    return "< weight buffer bytes";
  case FieldCheck::IndexAddr:
    return "< index buffer bytes";
  case FieldCheck::AccAddr:
    return "< accumulator entries";
  case FieldCheck::CodeBits:
    return "2 .. ce_bits";
  case FieldCheck::Shift:
    return "1 .. 62";
  case FieldCheck::Multiplier:
    return "2^14 .. 2^15 - 1";
  }
  return "";
}

int64_t bufferBytes(const HardwareConfig &config, Buffer buffer) {
  switch (buffer) {
  case Buffer::Input:
    return config.input.bytes;
  case Buffer::Output:
    return config.output.bytes;
  case Buffer::Weight:
    return config.weight.bytes;
  case Buffer::Index:
    return config.index.bytes;
  }
  return 0;
}

//===----------------------------------------------------------------------===//
// Instruction
//===----------------------------------------------------------------------===//

Instruction::Instruction(Opcode opcode, std::initializer_list<int64_t> values)
    : opcode(opcode) {
  unsigned i = 0;
  for (int64_t v : values)
    if (i < kMaxFields)
      fields[i++] = v;
}

const InstrDesc &Instruction::desc() const {
  const InstrDesc *d = findInstruction(unsigned(opcode));
  // Every Opcode enumerator comes from the table, so this always succeeds.
  return d ? *d : instructionTable().front();
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

static void putBits(uint8_t *bytes, unsigned offset, unsigned bits,
                    uint64_t value) {
  for (unsigned i = 0; i < bits; ++i) {
    unsigned bit = offset + i;
    if ((value >> i) & 1)
      bytes[bit / 8] |= uint8_t(1u << (bit % 8));
  }
}

static uint64_t getBits(const uint8_t *bytes, unsigned offset, unsigned bits) {
  uint64_t value = 0;
  for (unsigned i = 0; i < bits; ++i) {
    unsigned bit = offset + i;
    if ((bytes[bit / 8] >> (bit % 8)) & 1)
      value |= uint64_t(1) << i;
  }
  return value;
}

static std::string fieldName(const InstrDesc &d, const FieldDesc &f) {
  return std::string(d.mnemonic) + "." + f.name;
}

bool encode(const Instruction &inst, uint8_t out[kInstructionBytes],
            std::string &error) {
  const InstrDesc *d = findInstruction(unsigned(inst.opcode));
  if (!d) {
    error = "unknown opcode " + std::to_string(unsigned(inst.opcode));
    return false;
  }
  std::memset(out, 0, kInstructionBytes);
  putBits(out, 0, kOpcodeBits, uint64_t(inst.opcode));
  for (size_t i = 0; i < d->fields.size(); ++i) {
    const FieldDesc &f = d->fields[i];
    int64_t v = inst.fields[i];
    if (v < f.minValue() || v > f.maxValue()) {
      error = fieldName(*d, f) + " = " + std::to_string(v) +
              " does not fit its " + std::to_string(f.bits) + "-bit field [" +
              std::to_string(f.minValue()) + ", " +
              std::to_string(f.maxValue()) + "]";
      return false;
    }
    putBits(out, f.offset, f.bits, uint64_t(v));
  }
  return true;
}

bool decode(const uint8_t in[kInstructionBytes], Instruction &inst,
            std::string &error) {
  unsigned opcode = unsigned(getBits(in, 0, kOpcodeBits));
  const InstrDesc *d = findInstruction(opcode);
  if (!d) {
    error = "unknown opcode 0x" + [&] {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "%02x", opcode);
      return std::string(buf);
    }();
    return false;
  }
  Instruction result;
  result.opcode = d->opcode;
  for (size_t i = 0; i < d->fields.size(); ++i) {
    const FieldDesc &f = d->fields[i];
    uint64_t raw = getBits(in, f.offset, f.bits);
    int64_t v = int64_t(raw);
    if (f.type == FieldType::Signed && (raw >> (f.bits - 1)) & 1)
      v = int64_t(raw) - (int64_t(1) << f.bits);
    if (v > f.maxValue()) {
      error = fieldName(*d, f) + " = " + std::to_string(v) +
              " is not a valid " + fieldTypeName(f.type);
      return false;
    }
    result.fields[i] = v;
  }
  unsigned used = d->usedBits();
  bool reservedSet = false;
  for (unsigned bit = used; bit < 8 * kInstructionBytes; ++bit)
    reservedSet = reservedSet || ((in[bit / 8] >> (bit % 8)) & 1);
  if (reservedSet) {
    error = std::string(d->mnemonic) + ": reserved bits " +
            std::to_string(used) + "..127 are not zero";
    return false;
  }
  inst = result;
  return true;
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

namespace {
/// Collects the first violated rule of one instruction.
class Checker {
public:
  Checker(const Instruction &inst, const HardwareConfig &config)
      : inst(inst), d(inst.desc()), config(config) {}

  int64_t get(unsigned i) const { return inst.fields[i]; }
  bool ok() const { return message.empty(); }

  void fail(const std::string &text) {
    if (message.empty())
      message = std::string(d.mnemonic) + ": " + text;
  }

  void checkFields() {
    for (size_t i = 0; i < d.fields.size() && ok(); ++i) {
      const FieldDesc &f = d.fields[i];
      int64_t v = inst.fields[i];
      if (v < f.minValue() || v > f.maxValue()) {
        fail(std::string(f.name) + " = " + std::to_string(v) +
             " does not fit its " + std::to_string(f.bits) + "-bit field");
        return;
      }
      int64_t lo = INT64_MIN, hi = INT64_MAX;
      switch (f.check) {
      case FieldCheck::Any:
        break;
      case FieldCheck::Positive:
        lo = 1;
        break;
      case FieldCheck::Bank:
        hi = config.enginesPerLine - 1;
        break;
      case FieldCheck::Channels:
        lo = 1;
        hi = config.dimM;
        break;
      case FieldCheck::InputAddr:
        hi = config.input.bytes - 1;
        break;
      case FieldCheck::OutputAddr:
        hi = config.output.bytes - 1;
        break;
      case FieldCheck::WeightAddr:
        hi = config.weight.bytes - 1;
        break;
      case FieldCheck::IndexAddr:
        hi = config.index.bytes - 1;
        break;
      case FieldCheck::AccAddr:
        hi = config.accEntries - 1;
        break;
      case FieldCheck::CodeBits:
        lo = 2;
        hi = config.ceBits;
        break;
      case FieldCheck::Shift:
        lo = 1;
        hi = 62;
        break;
      case FieldCheck::Multiplier:
        lo = int64_t(1) << 14;
        hi = (int64_t(1) << 15) - 1;
        break;
      }
      if (v < lo || v > hi) {
        std::ostringstream os;
        os << f.name << " = " << v << " is out of range: must be "
           << fieldCheckRule(f.check);
        if (f.check != FieldCheck::Positive && f.check != FieldCheck::Shift &&
            f.check != FieldCheck::Multiplier)
          os << " (" << (v < lo ? lo : hi) << (v < lo ? " minimum" : " maximum")
             << " in this configuration)";
        fail(os.str());
      }
    }
  }

  /// A packed extent of `bytes` from `addr` must fit buffer `buffer`.
  void checkExtent(Buffer buffer, const char *what, int64_t addr,
                   int64_t bytes) {
    int64_t size = bufferBytes(config, buffer);
    if (ok() && addr + bytes > size) {
      std::ostringstream os;
      os << what << " [" << addr << ", " << addr + bytes << ") overflows the "
         << bufferName(buffer) << " buffer of " << size << " bytes";
      fail(os.str());
    }
  }

  void checkDram(int64_t addr, int64_t length, int64_t count, int64_t stride) {
    int64_t end = addr + (count - 1) * stride + length;
    if (ok() && end > (int64_t(1) << 32))
      fail("DRAM rows end at " + std::to_string(end) +
           ", beyond the 32-bit address space");
  }

  std::string run() {
    checkFields();
    if (!ok())
      return message;
    switch (inst.opcode) {
    case Opcode::CfgKernel: {
      using namespace field::CfgKernel;
      if (get(PadTop) >= get(R))
        fail("pad_top = " + std::to_string(get(PadTop)) +
             " must be smaller than r = " + std::to_string(get(R)));
      if (get(PadLeft) >= get(S))
        fail("pad_left = " + std::to_string(get(PadLeft)) +
             " must be smaller than s = " + std::to_string(get(S)));
      break;
    }
    case Opcode::CfgWeight: {
      using namespace field::CfgWeight;
      int64_t perLine = (get(BlockRows) + config.dimC - 1) / config.dimC;
      if (perLine > config.weightRfRows)
        fail("block_rows = " + std::to_string(get(BlockRows)) + " puts " +
             std::to_string(perLine) + " rows on each of the " +
             std::to_string(config.dimC) +
             " PE lines, more than the weight register file's " +
             std::to_string(config.weightRfRows));
      if (get(Format) == int64_t(WeightFormat::PermDiag) &&
          get(BlockRows) > config.pdMaxBlockSize)
        fail("block_rows = p = " + std::to_string(get(BlockRows)) +
             " exceeds the PermDNN engine's max_block_size " +
             std::to_string(config.pdMaxBlockSize));
      if (get(Format) == int64_t(WeightFormat::SmartExchange)) {
        if (get(MinExp) > get(MaxExp))
          fail("min_exp = " + std::to_string(get(MinExp)) +
               " is above max_exp = " + std::to_string(get(MaxExp)));
        int64_t levels = get(MaxExp) - get(MinExp) + 1;
        int64_t capacity = (int64_t(1) << (get(CodeBits) - 1)) - 1;
        if (ok() && levels > capacity)
          fail("exponent range [" + std::to_string(get(MinExp)) + ", " +
               std::to_string(get(MaxExp)) + "] has " + std::to_string(levels) +
               " levels, more than the " + std::to_string(capacity) + " a " +
               std::to_string(get(CodeBits)) + "-bit code holds");
        if (ok() && levels > config.maxExponentLevels())
          fail("exponent range [" + std::to_string(get(MinExp)) + ", " +
               std::to_string(get(MaxExp)) + "] has " + std::to_string(levels) +
               " levels; rebuilt weights of more "
               "than " +
               std::to_string(config.maxExponentLevels()) + " overflow the " +
               std::to_string(config.rebuiltWeightBits) +
               "-bit weight registers");
      }
      break;
    }
    case Opcode::DmaLoad: {
      using namespace field::DmaLoad;
      Buffer buffer = dmaKindBuffer(DmaKind(get(Kind)));
      checkExtent(buffer, "destination", get(BufAddr),
                  get(Count) * get(Length));
      checkDram(get(DramAddr), get(Length), get(Count), get(DramStride));
      break;
    }
    case Opcode::DmaStore: {
      using namespace field::DmaStore;
      checkExtent(Buffer::Output, "source", get(BufAddr),
                  get(Count) * get(Length));
      checkDram(get(DramAddr), get(Length), get(Count), get(DramStride));
      break;
    }
    case Opcode::Move: {
      using namespace field::Move;
      checkExtent(Buffer::Output, "source", get(SrcAddr),
                  (get(Count) - 1) * get(SrcStride) + get(Length));
      checkExtent(Buffer::Input, "destination", get(DstAddr),
                  (get(Count) - 1) * get(DstStride) + get(Length));
      break;
    }
    case Opcode::Mac: {
      using namespace field::Mac;
      if (get(AccAddr) + get(Npos) > config.accEntries)
        fail("accumulator entries [" + std::to_string(get(AccAddr)) + ", " +
             std::to_string(get(AccAddr) + get(Npos)) + ") exceed the " +
             std::to_string(config.accEntries) + " per slice");
      break;
    }
    case Opcode::PdMac:
    case Opcode::PdRequant: {
      // At least one pool entry per position; the tile's rows per position
      // are verifyProgram's (they depend on the pd_tile in force).
      int64_t accAddr = inst.opcode == Opcode::PdMac
                            ? get(field::PdMac::AccAddr)
                            : get(field::PdRequant::AccAddr);
      int64_t npos = inst.opcode == Opcode::PdMac ? get(field::PdMac::Npos)
                                                  : get(field::PdRequant::Npos);
      if (accAddr + npos > config.pdPoolEntries())
        fail("accumulator pool entries [" + std::to_string(accAddr) + ", " +
             std::to_string(accAddr + npos) + ") exceed the " +
             std::to_string(config.pdPoolEntries()) +
             " of dim_m x entries_per_slice");
      break;
    }
    case Opcode::Add: {
      using namespace field::Add;
      checkExtent(Buffer::Input, "operand a", get(AAddr), get(Length));
      checkExtent(Buffer::Input, "operand b", get(BAddr), get(Length));
      checkExtent(Buffer::Output, "result", get(OutAddr), get(Length));
      break;
    }
    case Opcode::Pool: {
      using namespace field::Pool;
      checkExtent(Buffer::Output, "result", get(OutAddr),
                  get(Channels) * get(Npos));
      break;
    }
    case Opcode::DwConv: {
      using namespace field::DwConv;
      checkExtent(Buffer::Output, "result", get(OutAddr),
                  get(Channels) * get(Npos));
      break;
    }
    case Opcode::Requant: {
      using namespace field::Requant;
      if (get(AccAddr) + get(Npos) > config.accEntries)
        fail("accumulator entries [" + std::to_string(get(AccAddr)) + ", " +
             std::to_string(get(AccAddr) + get(Npos)) + ") exceed the " +
             std::to_string(config.accEntries) + " per slice");
      checkExtent(Buffer::Output, "positions",
                  get(BufAddr) + (get(Npos) - 1) * get(PosStride), 1);
      break;
    }
    default:
      break;
    }
    return message;
  }

private:
  const Instruction &inst;
  const InstrDesc &d;
  const HardwareConfig &config;
  std::string message;
};
} // namespace

std::string verifyInstruction(const Instruction &inst,
                              const HardwareConfig &config) {
  if (!findInstruction(unsigned(inst.opcode)))
    return "unknown opcode " + std::to_string(unsigned(inst.opcode));
  return Checker(inst, config).run();
}

//===----------------------------------------------------------------------===//
// Text form
//===----------------------------------------------------------------------===//

static bool isAddressField(const FieldDesc &f) {
  size_t n = std::strlen(f.name);
  return n >= 5 && std::strcmp(f.name + n - 5, "_addr") == 0;
}

std::string printInstruction(const Instruction &inst) {
  const InstrDesc &d = inst.desc();
  std::string out = d.mnemonic;
  for (size_t i = 0; i < d.fields.size(); ++i) {
    const FieldDesc &f = d.fields[i];
    int64_t v = inst.fields[i];
    out += ' ';
    out += f.name;
    out += '=';
    if (f.type == FieldType::DmaKind && v >= 0 && v < int64_t(kNumDmaKinds)) {
      out += dmaKindName(DmaKind(v));
    } else if (f.type == FieldType::WeightFormat && v >= 0 &&
               v < int64_t(kNumWeightFormats)) {
      out += weightFormatName(WeightFormat(v));
    } else if (isAddressField(f) && v >= 0) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
      out += buf;
    } else {
      out += std::to_string(v);
    }
  }
  return out;
}

/// Parses a whole decimal or 0x-hexadecimal integer.
static bool parseInteger(const std::string &text, int64_t &value) {
  if (text.empty())
    return false;
  const char *begin = text.c_str();
  char *end = nullptr;
  errno = 0;
  bool negative = text[0] == '-';
  if (negative) {
    long long v = std::strtoll(begin, &end, 0);
    value = v;
  } else {
    unsigned long long v = std::strtoull(begin, &end, 0);
    if (v > uint64_t(INT64_MAX))
      return false;
    value = int64_t(v);
  }
  return errno == 0 && end && *end == '\0' && end != begin;
}

bool parseInstruction(const std::string &text, Instruction &inst,
                      std::string &error) {
  std::istringstream in(text);
  std::string mnemonic;
  in >> mnemonic;
  const InstrDesc *d = findInstruction(mnemonic);
  if (!d) {
    error = "unknown instruction '" + mnemonic + "'";
    return false;
  }
  Instruction result;
  result.opcode = d->opcode;
  std::vector<bool> seen(d->fields.size(), false);
  std::string token;
  while (in >> token) {
    size_t eq = token.find('=');
    if (eq == std::string::npos) {
      error = mnemonic + ": expected field=value, got '" + token + "'";
      return false;
    }
    std::string name = token.substr(0, eq), valueText = token.substr(eq + 1);
    size_t index = d->fields.size();
    for (size_t i = 0; i < d->fields.size(); ++i)
      if (name == d->fields[i].name)
        index = i;
    if (index == d->fields.size()) {
      error = mnemonic + ": unknown field '" + name + "'";
      return false;
    }
    if (seen[index]) {
      error = mnemonic + ": field '" + name + "' given twice";
      return false;
    }
    seen[index] = true;
    const FieldDesc &f = d->fields[index];
    int64_t value = 0;
    bool parsed = false;
    if (f.type == FieldType::DmaKind) {
      for (unsigned k = 0; k < kNumDmaKinds; ++k)
        if (valueText == dmaKindName(DmaKind(k))) {
          value = k;
          parsed = true;
        }
    } else if (f.type == FieldType::WeightFormat) {
      for (unsigned k = 0; k < kNumWeightFormats; ++k)
        if (valueText == weightFormatName(WeightFormat(k))) {
          value = k;
          parsed = true;
        }
    } else {
      parsed = parseInteger(valueText, value);
    }
    if (!parsed) {
      error = mnemonic + ": bad value '" + valueText + "' for field '" + name +
              "' (" + fieldTypeName(f.type) + ")";
      return false;
    }
    if (value < f.minValue() || value > f.maxValue()) {
      error = mnemonic + "." + name + " = " + valueText + " does not fit its " +
              std::to_string(f.bits) + "-bit field";
      return false;
    }
    result.fields[index] = value;
  }
  for (size_t i = 0; i < d->fields.size(); ++i)
    if (!seen[i]) {
      error = mnemonic + ": missing field '" + d->fields[i].name + "'";
      return false;
    }
  inst = result;
  return true;
}

} // namespace sd::sdacc
