//===- ProgramFile.cpp - Program files, binary and text -------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/ProgramFile.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sd::sdacc {

namespace {
enum SectionType : uint32_t {
#define SDACC_SECTION(Name, name, id, meaning) Section##Name = id,
#include "SD/Accel/ProgramFile.def"
};
enum HeaderOffset : size_t {
#define SDACC_HEADER_FIELD(Name, name, offset, bytes, meaning)                 \
  Header##Name = offset,
#include "SD/Accel/ProgramFile.def"
};
constexpr size_t kHeaderBytes = 48;
constexpr size_t kSectionEntryBytes = 24;
constexpr size_t kChecksumBytes = 4;
} // namespace

/// Data segments use the section type of their DMA kind.
static uint32_t segmentSection(DmaKind kind) {
  switch (kind) {
  case DmaKind::Codes:
    return SectionCodes;
  case DmaKind::Index:
    return SectionIndex;
  case DmaKind::Basis:
    return SectionBasis;
  case DmaKind::Bias:
    return SectionBias;
  case DmaKind::Weights:
    return SectionWeights;
  case DmaKind::Act:
    break;
  }
  return 0;
}

static bool sectionSegment(uint32_t type, DmaKind &kind) {
  switch (type) {
  case SectionCodes:
    kind = DmaKind::Codes;
    return true;
  case SectionIndex:
    kind = DmaKind::Index;
    return true;
  case SectionBasis:
    kind = DmaKind::Basis;
    return true;
  case SectionBias:
    kind = DmaKind::Bias;
    return true;
  case SectionWeights:
    kind = DmaKind::Weights;
    return true;
  default:
    return false;
  }
}

uint32_t crc32(const uint8_t *data, size_t size) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

//===----------------------------------------------------------------------===//
// Binary writer
//===----------------------------------------------------------------------===//

namespace {
class ByteWriter {
public:
  explicit ByteWriter(std::vector<uint8_t> &out) : out(out) {}
  void u8(uint8_t v) { out.push_back(v); }
  void u16(uint16_t v) { le(v, 2); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void i64(int64_t v) { le(uint64_t(v), 8); }
  void bytes(const void *p, size_t n) {
    const uint8_t *b = static_cast<const uint8_t *>(p);
    out.insert(out.end(), b, b + n);
  }
  void patch64(size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i)
      out[at + i] = uint8_t(v >> (8 * i));
  }
  size_t size() const { return out.size(); }

private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      out.push_back(uint8_t(v >> (8 * i)));
  }
  std::vector<uint8_t> &out;
};
} // namespace

bool writeProgramBinary(const Program &program, std::vector<uint8_t> &out,
                        std::string &error) {
  // Sections first, into their own buffers, so the table can be written
  // with final offsets.
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> sections;
  {
    std::vector<uint8_t> s;
    ByteWriter w(s);
    w.u32(uint32_t(program.tensors.size()));
    w.u32(0);
    for (const TensorDecl &t : program.tensors) {
      w.u8(uint8_t(t.role));
      w.u8(uint8_t(t.shape.size()));
      w.u16(uint16_t(t.name.size()));
      w.u32(0);
      w.u64(t.dramAddr);
      for (int64_t d : t.shape)
        w.i64(d);
      w.bytes(t.name.data(), t.name.size());
    }
    sections.emplace_back(SectionTensors, std::move(s));
  }
  {
    std::vector<uint8_t> s;
    ByteWriter w(s);
    w.u32(uint32_t(program.layers.size()));
    w.u32(uint32_t(layerFieldTable().size()));
    for (const LayerDecl &l : program.layers) {
      w.u16(uint16_t(l.name.size()));
      w.u16(0);
      for (const LayerFieldDesc &f : layerFieldTable())
        w.i64(l.*f.member);
      w.bytes(l.name.data(), l.name.size());
    }
    sections.emplace_back(SectionLayers, std::move(s));
  }
  {
    std::vector<uint8_t> s;
    ByteWriter w(s);
    w.u32(uint32_t(program.instructions.size()));
    w.u32(0);
    for (size_t i = 0; i < program.instructions.size(); ++i) {
      uint8_t bytes[kInstructionBytes];
      if (!encode(program.instructions[i], bytes, error)) {
        error = "instruction " + std::to_string(i) + ": " + error;
        return false;
      }
      w.bytes(bytes, kInstructionBytes);
    }
    sections.emplace_back(SectionInstructions, std::move(s));
  }
  for (const DataSegment &seg : program.segments) {
    std::vector<uint8_t> s;
    ByteWriter w(s);
    w.u32(uint32_t(seg.layer));
    w.u32(0);
    w.u64(seg.dramAddr);
    w.bytes(seg.bytes.data(), seg.bytes.size());
    sections.emplace_back(segmentSection(seg.kind), std::move(s));
  }

  out.clear();
  ByteWriter w(out);
  w.bytes(kProgramMagic, 8);
  w.u32(kProgramVersion);
  w.u32(uint32_t(kHeaderBytes));
  size_t fileBytesAt = w.size();
  w.u64(0); // patched below
  w.u64(program.fingerprint);
  w.u32(uint32_t(program.layers.size()));
  w.u32(uint32_t(sections.size()));
  w.u64(0);
  uint64_t offset = kHeaderBytes + kSectionEntryBytes * sections.size();
  for (const auto &s : sections) {
    w.u32(s.first);
    w.u32(0);
    w.u64(offset);
    w.u64(s.second.size());
    offset += s.second.size();
  }
  for (const auto &s : sections)
    w.bytes(s.second.data(), s.second.size());
  w.patch64(fileBytesAt, out.size() + kChecksumBytes);
  w.u32(crc32(out.data(), out.size()));
  return true;
}

//===----------------------------------------------------------------------===//
// Binary reader
//===----------------------------------------------------------------------===//

namespace {
/// Bounds-checked little-endian reads inside [begin, end) of a buffer.
class ByteReader {
public:
  ByteReader(const uint8_t *data, size_t begin, size_t end)
      : data(data), pos(begin), end(end) {}
  bool has(size_t n) const { return n <= end - pos; }
  bool u8(uint8_t &v) { return le(v, 1); }
  bool u16(uint16_t &v) { return le(v, 2); }
  bool u32(uint32_t &v) { return le(v, 4); }
  bool u64(uint64_t &v) { return le(v, 8); }
  bool i64(int64_t &v) {
    uint64_t u;
    if (!le(u, 8))
      return false;
    v = int64_t(u);
    return true;
  }
  bool bytes(void *out, size_t n) {
    if (!has(n))
      return false;
    std::memcpy(out, data + pos, n);
    pos += n;
    return true;
  }
  const uint8_t *here() const { return data + pos; }
  bool skip(size_t n) {
    if (!has(n))
      return false;
    pos += n;
    return true;
  }
  size_t remaining() const { return end - pos; }

private:
  template <typename T> bool le(T &v, int n) {
    if (!has(size_t(n)))
      return false;
    uint64_t x = 0;
    for (int i = 0; i < n; ++i)
      x |= uint64_t(data[pos + i]) << (8 * i);
    pos += size_t(n);
    v = T(x);
    return true;
  }
  const uint8_t *data;
  size_t pos, end;
};
} // namespace

static uint64_t readLe(const uint8_t *p, int n) {
  uint64_t x = 0;
  for (int i = 0; i < n; ++i)
    x |= uint64_t(p[i]) << (8 * i);
  return x;
}

static std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
  return buf;
}

bool readProgramBinary(const std::vector<uint8_t> &bytes, Program &program,
                       std::string &error) {
  const uint8_t *data = bytes.data();
  size_t size = bytes.size();
  const size_t minimum = kHeaderBytes + kChecksumBytes;
  if (size >= 8 && std::memcmp(data, kProgramMagic, 8) != 0) {
    error = "not a SmartDeal accelerator program (bad magic)";
    return false;
  }
  if (size < 12) {
    error = "truncated: " + std::to_string(size) + " bytes, shorter than the " +
            std::to_string(minimum) + "-byte minimum";
    return false;
  }
  uint32_t version = uint32_t(readLe(data + HeaderVersion, 4));
  if (version != kProgramVersion) {
    error = "unsupported program file version " + std::to_string(version) +
            " (this reader knows version " + std::to_string(kProgramVersion) +
            ")";
    return false;
  }
  if (size < minimum) {
    error = "truncated: " + std::to_string(size) + " bytes, shorter than the " +
            std::to_string(minimum) + "-byte minimum";
    return false;
  }
  if (readLe(data + HeaderHeaderBytes, 4) != kHeaderBytes) {
    error = "header_bytes is " +
            std::to_string(readLe(data + HeaderHeaderBytes, 4)) +
            ", version 1 has 48";
    return false;
  }
  uint64_t fileBytes = readLe(data + HeaderFileBytes, 8);
  if (fileBytes > size) {
    error = "truncated: the header declares " + std::to_string(fileBytes) +
            " bytes, the file has " + std::to_string(size);
    return false;
  }
  if (fileBytes < size || fileBytes < minimum) {
    error = "the file has " + std::to_string(size) +
            " bytes but the header declares " + std::to_string(fileBytes);
    return false;
  }
  uint32_t stored = uint32_t(readLe(data + size - kChecksumBytes, 4));
  uint32_t computed = crc32(data, size - kChecksumBytes);
  if (stored != computed) {
    error = "checksum mismatch (stored " + hex(stored) + ", computed " +
            hex(computed) + "): the file is corrupted";
    return false;
  }
  if (readLe(data + HeaderFlags, 8) != 0) {
    error =
        "header flags " + hex(readLe(data + HeaderFlags, 8)) + " are not zero";
    return false;
  }

  Program result;
  result.fingerprint = readLe(data + HeaderFingerprint, 8);
  uint64_t layerCount = readLe(data + HeaderLayerCount, 4);
  uint64_t sectionCount = readLe(data + HeaderSectionCount, 4);
  size_t payloadEnd = size - kChecksumBytes;
  if (sectionCount > (payloadEnd - kHeaderBytes) / kSectionEntryBytes) {
    error = "section table of " + std::to_string(sectionCount) +
            " entries does not fit in the file";
    return false;
  }
  size_t payloadBegin = kHeaderBytes + kSectionEntryBytes * sectionCount;
  int seen[3] = {0, 0, 0};
  struct Entry {
    uint32_t type;
    size_t offset, size;
  };
  std::vector<Entry> entries;
  for (uint64_t i = 0; i < sectionCount; ++i) {
    const uint8_t *e = data + kHeaderBytes + kSectionEntryBytes * i;
    Entry entry{uint32_t(readLe(e, 4)), 0, 0};
    uint64_t offset = readLe(e + 8, 8), bytesInSection = readLe(e + 16, 8);
    std::string where = "section " + std::to_string(i);
    if (readLe(e + 4, 4) != 0) {
      error = where + ": reserved field is not zero";
      return false;
    }
    if (offset < payloadBegin || offset > payloadEnd ||
        bytesInSection > payloadEnd - offset) {
      error = where + ": [" + std::to_string(offset) + ", +" +
              std::to_string(bytesInSection) +
              ") lies outside the file's payload";
      return false;
    }
    DmaKind kind;
    if (entry.type >= SectionTensors && entry.type <= SectionInstructions) {
      if (seen[entry.type - 1]++) {
        error =
            where + ": a second section of type " + std::to_string(entry.type);
        return false;
      }
    } else if (!sectionSegment(entry.type, kind)) {
      error = where + ": unknown section type " + std::to_string(entry.type);
      return false;
    }
    entry.offset = size_t(offset);
    entry.size = size_t(bytesInSection);
    entries.push_back(entry);
  }
  for (int t = 0; t < 3; ++t)
    if (!seen[t]) {
      static const char *names[] = {"tensors", "layers", "instructions"};
      error = std::string("missing the ") + names[t] + " section";
      return false;
    }

  for (const Entry &entry : entries) {
    ByteReader r(data, entry.offset, entry.offset + entry.size);
    std::string where = "section at " + std::to_string(entry.offset) + ": ";
    auto truncated = [&](const char *what) {
      error = where + "truncated " + what;
      return false;
    };
    if (entry.type == SectionTensors) {
      uint32_t count, zero;
      if (!r.u32(count) || !r.u32(zero))
        return truncated("tensor count");
      if (count > r.remaining() / 16)
        return truncated("tensor table");
      for (uint32_t i = 0; i < count; ++i) {
        TensorDecl t;
        uint8_t role, rank;
        uint16_t nameBytes;
        uint32_t reserved;
        if (!r.u8(role) || !r.u8(rank) || !r.u16(nameBytes) ||
            !r.u32(reserved) || !r.u64(t.dramAddr))
          return truncated("tensor record");
        if (role > uint8_t(TensorRole::Internal) || rank < 1 || rank > 4) {
          error = where + "tensor " + std::to_string(i) + " has role " +
                  std::to_string(role) + " and rank " + std::to_string(rank) +
                  " (roles 0-2, ranks 1-4)";
          return false;
        }
        t.role = TensorRole(role);
        t.shape.resize(rank);
        for (int64_t &d : t.shape)
          if (!r.i64(d))
            return truncated("tensor shape");
        std::string problem = checkTensorShape(t.shape);
        if (!problem.empty()) {
          error = where + "tensor " + std::to_string(i) + ": " + problem;
          return false;
        }
        t.name.resize(nameBytes);
        if (!r.bytes(t.name.data(), nameBytes))
          return truncated("tensor name");
        result.tensors.push_back(std::move(t));
      }
    } else if (entry.type == SectionLayers) {
      uint32_t count, fields;
      if (!r.u32(count) || !r.u32(fields))
        return truncated("layer count");
      if (fields != layerFieldTable().size()) {
        error = where + "layer entries have " + std::to_string(fields) +
                " fields, version 1 has " +
                std::to_string(layerFieldTable().size());
        return false;
      }
      if (count > r.remaining() / (4 + 8 * fields))
        return truncated("layer table");
      for (uint32_t i = 0; i < count; ++i) {
        LayerDecl l;
        uint16_t nameBytes, reserved;
        if (!r.u16(nameBytes) || !r.u16(reserved))
          return truncated("layer record");
        for (const LayerFieldDesc &f : layerFieldTable())
          if (!r.i64(l.*f.member))
            return truncated("layer record");
        l.name.resize(nameBytes);
        if (!r.bytes(l.name.data(), nameBytes))
          return truncated("layer name");
        result.layers.push_back(std::move(l));
      }
    } else if (entry.type == SectionInstructions) {
      uint32_t count, zero;
      if (!r.u32(count) || !r.u32(zero))
        return truncated("instruction count");
      if (count > r.remaining() / kInstructionBytes)
        return truncated("instruction stream");
      result.instructions.resize(count);
      for (uint32_t i = 0; i < count; ++i) {
        if (!decode(r.here(), result.instructions[i], error)) {
          error = "instruction " + std::to_string(i) + ": " + error;
          return false;
        }
        r.skip(kInstructionBytes);
      }
    } else {
      DataSegment seg;
      sectionSegment(entry.type, seg.kind);
      uint32_t layer, zero;
      if (!r.u32(layer) || !r.u32(zero) || !r.u64(seg.dramAddr))
        return truncated("segment header");
      seg.layer = layer;
      seg.bytes.assign(r.here(), r.here() + r.remaining());
      r.skip(r.remaining());
      result.segments.push_back(std::move(seg));
    }
    if (r.remaining() != 0) {
      error = where + std::to_string(r.remaining()) +
              " unexpected bytes at the end of the section";
      return false;
    }
  }
  if (layerCount != result.layers.size()) {
    error = "the header declares " + std::to_string(layerCount) +
            " layers, the layer table has " +
            std::to_string(result.layers.size());
    return false;
  }
  program = std::move(result);
  return true;
}

//===----------------------------------------------------------------------===//
// Text form
//===----------------------------------------------------------------------===//

static std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

std::string writeProgramText(const Program &program) {
  std::ostringstream os;
  os << kProgramTextMagic << " version=" << kProgramVersion << "\n";
  os << "# SmartDeal accelerator program; docs/Accelerator-ISA.md describes "
        "every record.\n";
  os << "fingerprint value=" << hex(program.fingerprint) << "\n";
  for (const TensorDecl &t : program.tensors)
    os << "tensor name=" << t.name << " role=" << tensorRoleName(t.role)
       << " shape=" << shapeText(t.shape) << " dram_addr=" << hex(t.dramAddr)
       << "\n";
  for (const LayerDecl &l : program.layers) {
    os << "layerdef name=" << l.name;
    for (const LayerFieldDesc &f : layerFieldTable()) {
      int64_t v = l.*f.member;
      os << " " << f.name << "=";
      if (f.member == &LayerDecl::kind && layerKindName(v))
        os << layerKindName(v);
      else if (f.member == &LayerDecl::format && v >= 0 &&
               v < int64_t(kNumWeightFormats))
        os << weightFormatName(WeightFormat(v));
      else
        os << v;
    }
    os << "\n";
  }
  static const char digits[] = "0123456789abcdef";
  for (const DataSegment &s : program.segments) {
    os << "segment kind=" << dmaKindName(s.kind) << " layer=" << s.layer
       << " dram_addr=" << hex(s.dramAddr) << " bytes=" << s.bytes.size()
       << "\n";
    for (size_t i = 0; i < s.bytes.size(); i += 32) {
      std::string line = "  ";
      for (size_t j = i; j < std::min(s.bytes.size(), i + 32); ++j) {
        line += digits[s.bytes[j] >> 4];
        line += digits[s.bytes[j] & 15];
      }
      os << line << "\n";
    }
  }
  os << "instructions count=" << program.instructions.size() << "\n";
  for (const Instruction &inst : program.instructions)
    os << "  " << printInstruction(inst) << "\n";
  os << "end\n";
  return os.str();
}

namespace {
/// key=value fields of one text record.
struct Record {
  std::string keyword;
  std::vector<std::pair<std::string, std::string>> fields;

  const std::string *get(const std::string &key) const {
    for (const auto &f : fields)
      if (f.first == key)
        return &f.second;
    return nullptr;
  }
};

bool parseRecord(const std::string &line, Record &record, std::string &error) {
  std::istringstream in(line);
  in >> record.keyword;
  std::string token;
  while (in >> token) {
    size_t eq = token.find('=');
    if (eq == std::string::npos || eq == 0) {
      error = "expected key=value, got '" + token + "'";
      return false;
    }
    std::string key = token.substr(0, eq);
    if (record.get(key)) {
      error = "key '" + key + "' given twice";
      return false;
    }
    record.fields.emplace_back(key, token.substr(eq + 1));
  }
  return true;
}

bool parseInt(const std::string &text, int64_t &value) {
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  if (text[0] == '-') {
    value = std::strtoll(text.c_str(), &end, 0);
  } else {
    unsigned long long v = std::strtoull(text.c_str(), &end, 0);
    if (v > uint64_t(INT64_MAX))
      return false;
    value = int64_t(v);
  }
  return errno == 0 && end && *end == '\0';
}

bool parseU64(const std::string &text, uint64_t &value) {
  if (text.empty() || text[0] == '-')
    return false;
  char *end = nullptr;
  errno = 0;
  value = std::strtoull(text.c_str(), &end, 0);
  return errno == 0 && end && *end == '\0';
}

int hexDigit(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}
} // namespace

bool readProgramText(const std::string &text, Program &program,
                     std::string &error) {
  Program result;
  std::istringstream in(text);
  std::string line;
  int lineNo = 0;
  auto fail = [&](const std::string &message) {
    error = "line " + std::to_string(lineNo) + ": " + message;
    return false;
  };
  auto next = [&](std::string &out) {
    while (std::getline(in, out)) {
      ++lineNo;
      size_t first = out.find_first_not_of(" \t\r");
      if (first == std::string::npos || out[first] == '#')
        continue;
      size_t last = out.find_last_not_of(" \t\r");
      out = out.substr(first, last - first + 1);
      return true;
    }
    return false;
  };
  if (!next(line))
    return fail("empty program text");
  Record header;
  if (!parseRecord(line, header, error))
    return fail(error);
  if (header.keyword != kProgramTextMagic)
    return fail("expected '" + std::string(kProgramTextMagic) +
                " version=1', not a text program");
  int64_t version = 0;
  if (!header.get("version") || !parseInt(*header.get("version"), version) ||
      version != kProgramVersion)
    return fail("unsupported program text version (this reader knows "
                "version " +
                std::to_string(kProgramVersion) + ")");
  bool haveFingerprint = false, ended = false;
  while (!ended && next(line)) {
    Record rec;
    if (!parseRecord(line, rec, error))
      return fail(error);
    auto require = [&](const char *key, std::string &value) {
      const std::string *v = rec.get(key);
      if (!v) {
        error = rec.keyword + ": missing '" + key + "'";
        return false;
      }
      value = *v;
      return true;
    };
    auto allow = [&](std::initializer_list<const char *> keys) {
      for (const auto &f : rec.fields) {
        bool known = false;
        for (const char *k : keys)
          known = known || f.first == k;
        if (!known) {
          error = rec.keyword + ": unknown key '" + f.first + "'";
          return false;
        }
      }
      return true;
    };
    std::string value;
    if (rec.keyword == "fingerprint") {
      if (!allow({"value"}) || !require("value", value))
        return fail(error);
      if (!parseU64(value, result.fingerprint))
        return fail("bad fingerprint '" + value + "'");
      haveFingerprint = true;
    } else if (rec.keyword == "tensor") {
      TensorDecl t;
      std::string role, shape, addr;
      if (!allow({"name", "role", "shape", "dram_addr"}) ||
          !require("name", t.name) || !require("role", role) ||
          !require("shape", shape) || !require("dram_addr", addr))
        return fail(error);
      if (role == "input")
        t.role = TensorRole::Input;
      else if (role == "output")
        t.role = TensorRole::Output;
      else if (role == "internal")
        t.role = TensorRole::Internal;
      else
        return fail("unknown tensor role '" + role + "'");
      std::istringstream dims(shape);
      std::string dim;
      while (std::getline(dims, dim, 'x')) {
        int64_t d;
        if (!parseInt(dim, d))
          return fail("bad shape '" + shape + "'");
        t.shape.push_back(d);
      }
      std::string problem = checkTensorShape(t.shape);
      if (!problem.empty())
        return fail("tensor '" + t.name + "': " + problem);
      if (!parseU64(addr, t.dramAddr))
        return fail("bad dram_addr '" + addr + "'");
      result.tensors.push_back(std::move(t));
    } else if (rec.keyword == "layerdef") {
      LayerDecl l;
      if (!require("name", l.name))
        return fail(error);
      for (const auto &f : rec.fields) {
        if (f.first == "name")
          continue;
        const LayerFieldDesc *desc = nullptr;
        for (const LayerFieldDesc &d : layerFieldTable())
          if (f.first == d.name)
            desc = &d;
        if (!desc)
          return fail("layerdef: unknown key '" + f.first + "'");
        int64_t v = 0;
        bool named = false;
        if (desc->member == &LayerDecl::kind)
          for (int64_t k = 0; layerKindName(k) && !named; ++k)
            if (f.second == layerKindName(k)) {
              v = k;
              named = true;
            }
        if (desc->member == &LayerDecl::format)
          for (unsigned k = 0; k < kNumWeightFormats && !named; ++k)
            if (f.second == weightFormatName(WeightFormat(k))) {
              v = int64_t(k);
              named = true;
            }
        if (!named && !parseInt(f.second, v))
          return fail("layerdef: bad value '" + f.second + "' for '" + f.first +
                      "'");
        l.*desc->member = v;
      }
      if (rec.fields.size() != layerFieldTable().size() + 1)
        return fail("layerdef: expected name and the " +
                    std::to_string(layerFieldTable().size()) +
                    " fields of the layer table");
      result.layers.push_back(std::move(l));
    } else if (rec.keyword == "segment") {
      DataSegment s;
      std::string kind, layer, addr, bytes;
      if (!allow({"kind", "layer", "dram_addr", "bytes"}) ||
          !require("kind", kind) || !require("layer", layer) ||
          !require("dram_addr", addr) || !require("bytes", bytes))
        return fail(error);
      bool known = false;
      for (unsigned k = 1; k < kNumDmaKinds; ++k)
        if (kind == dmaKindName(DmaKind(k))) {
          s.kind = DmaKind(k);
          known = true;
        }
      if (!known)
        return fail("unknown segment kind '" + kind + "'");
      int64_t count = 0;
      if (!parseInt(layer, s.layer) || s.layer < 0 ||
          s.layer > int64_t(UINT32_MAX))
        return fail("bad layer '" + layer + "'");
      if (!parseU64(addr, s.dramAddr))
        return fail("bad dram_addr '" + addr + "'");
      if (!parseInt(bytes, count) || count < 0 || count > (int64_t(1) << 32))
        return fail("bad bytes '" + bytes + "'");
      // The declared size is not trusted for allocation: two hex digits per
      // byte must follow, so the text bounds what can be reserved.
      s.bytes.reserve(
          size_t(std::min<int64_t>(count, int64_t(text.size() / 2))));
      while (int64_t(s.bytes.size()) < count) {
        if (!next(line))
          return fail("segment data ends after " +
                      std::to_string(s.bytes.size()) + " of " +
                      std::to_string(count) + " bytes");
        std::string digits;
        for (char ch : line)
          if (ch != ' ' && ch != '\t')
            digits += ch;
        if (digits.size() % 2 != 0)
          return fail("odd number of hex digits");
        for (size_t i = 0; i < digits.size(); i += 2) {
          int hi = hexDigit(digits[i]), lo = hexDigit(digits[i + 1]);
          if (hi < 0 || lo < 0)
            return fail("bad hex digit in segment data");
          s.bytes.push_back(uint8_t(hi * 16 + lo));
        }
        if (int64_t(s.bytes.size()) > count)
          return fail("segment data longer than " + std::to_string(count) +
                      " bytes");
      }
      result.segments.push_back(std::move(s));
    } else if (rec.keyword == "instructions") {
      std::string countText;
      int64_t count = 0;
      if (!allow({"count"}) || !require("count", countText))
        return fail(error);
      if (!parseInt(countText, count) || count < 0 || count > UINT32_MAX)
        return fail("bad count '" + countText + "'");
      for (int64_t i = 0; i < count; ++i) {
        if (!next(line))
          return fail("the instruction list ends after " + std::to_string(i) +
                      " of " + std::to_string(count));
        Instruction inst;
        if (!parseInstruction(line, inst, error))
          return fail(error);
        result.instructions.push_back(inst);
      }
    } else if (rec.keyword == "end") {
      ended = true;
    } else {
      return fail("unknown record '" + rec.keyword + "'");
    }
  }
  if (!ended)
    return fail("missing 'end' (the text is truncated)");
  if (next(line))
    return fail("text after 'end'");
  if (!haveFingerprint)
    return fail("missing the fingerprint record");
  program = std::move(result);
  return true;
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

bool readProgramFile(const std::string &path, Program &program,
                     std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "'";
    return false;
  }
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes(size > 0 ? size_t(size) : 0);
  if (size > 0 &&
      !in.read(reinterpret_cast<char *>(bytes.data()), std::streamsize(size))) {
    error = "cannot read '" + path + "'";
    return false;
  }
  std::string magic = kProgramTextMagic;
  bool text = bytes.size() >= magic.size() &&
              std::memcmp(bytes.data(), magic.data(), magic.size()) == 0;
  bool ok = text ? readProgramText(std::string(bytes.begin(), bytes.end()),
                                   program, error)
                 : readProgramBinary(bytes, program, error);
  if (!ok)
    error = path + ": " + error;
  return ok;
}

bool writeProgramFile(const std::string &path, const Program &program,
                      bool text, std::string &error) {
  std::vector<uint8_t> bytes;
  if (text) {
    std::string s = writeProgramText(program);
    bytes.assign(s.begin(), s.end());
  } else if (!writeProgramBinary(program, bytes, error)) {
    return false;
  }
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      error = "cannot write '" + temp + "'";
      return false;
    }
    out.write(reinterpret_cast<const char *>(bytes.data()),
              std::streamsize(bytes.size()));
    if (!out) {
      std::remove(temp.c_str());
      error = "cannot write '" + temp + "'";
      return false;
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    error = "cannot rename '" + temp + "' to '" + path + "'";
    return false;
  }
  return true;
}

} // namespace sd::sdacc
