//===- HardwareConfig.cpp - The accelerator's configuration file ----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/Json.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace sd::sdacc {

// Generated at build time from lib/Accel/configs/smartdeal-default.json.
extern const char *const kEmbeddedDefaultConfig;

const char *HardwareConfig::defaultJson() { return kEmbeddedDefaultConfig; }

const HardwareConfig &HardwareConfig::defaults() {
  static const HardwareConfig config = [] {
    HardwareConfig c;
    std::string error;
    if (!parse(kEmbeddedDefaultConfig, c, error)) {
      // The embedded file is checked by the unit tests; reaching this is a
      // build defect, so fail loudly rather than run with zeros.
      std::fprintf(stderr, "embedded hardware configuration: %s\n",
                   error.c_str());
      std::abort();
    }
    return c;
  }();
  return config;
}

namespace {
/// Reads members of one JSON object, remembering which keys were used so
/// that unknown keys can be reported.
class ObjectReader {
public:
  ObjectReader(const JsonValue *object, std::string path, std::string &error)
      : object(object), path(std::move(path)), error(error) {
    if (error.empty() && (!object || !object->isObject()))
      error = "'" + this->path + "' must be an object";
  }

  const JsonValue *member(const std::string &key) {
    if (!error.empty())
      return nullptr;
    used.push_back(key);
    const JsonValue *value = object->find(key);
    if (!value)
      error = "missing '" + qualified(key) + "'";
    return value;
  }

  void integer(const std::string &key, int64_t &out) {
    const JsonValue *value = member(key);
    if (value && !value->asInteger(out))
      error = "'" + qualified(key) + "' must be an integer";
  }

  void number(const std::string &key, double &out) {
    const JsonValue *value = member(key);
    if (!value)
      return;
    if (!value->isNumber())
      error = "'" + qualified(key) + "' must be a number";
    else
      out = value->asNumber();
  }

  void string(const std::string &key, std::string &out) {
    const JsonValue *value = member(key);
    if (!value)
      return;
    if (!value->isString())
      error = "'" + qualified(key) + "' must be a string";
    else
      out = value->asString();
  }

  ObjectReader child(const std::string &key) {
    return ObjectReader(member(key), qualified(key), error);
  }

  /// Reports the first member that was never asked for.
  void finish() {
    if (!error.empty())
      return;
    for (const auto &m : object->members()) {
      bool known = false;
      for (const std::string &key : used)
        known = known || key == m.first;
      if (!known) {
        error = "unknown key '" + qualified(m.first) + "'";
        return;
      }
    }
  }

private:
  std::string qualified(const std::string &key) const {
    return path.empty() ? key : path + "." + key;
  }

  const JsonValue *object;
  std::string path;
  std::string &error;
  std::vector<std::string> used;
};
} // namespace

static void readBuffer(ObjectReader &buffers, const std::string &key,
                       BufferConfig &buffer) {
  ObjectReader r = buffers.child(key);
  r.integer("bytes", buffer.bytes);
  r.number("read_pj_per_byte", buffer.readPjPerByte);
  r.number("write_pj_per_byte", buffer.writePjPerByte);
  r.string("source", buffer.source);
  r.finish();
}

static void readRf(ObjectReader &rfs, const std::string &key,
                   RegisterFileConfig &rf) {
  ObjectReader r = rfs.child(key);
  r.number("pj_per_byte", rf.pjPerByte);
  r.string("source", rf.source);
  r.finish();
}

static void readOp(ObjectReader &ops, const std::string &key,
                   OperationEnergy &op) {
  ObjectReader r = ops.child(key);
  r.number("pj", op.pj);
  r.string("source", op.source);
  r.finish();
}

bool HardwareConfig::parse(const std::string &json, HardwareConfig &config,
                           std::string &error) {
  JsonValue root;
  if (!parseJson(json, root, error))
    return false;
  HardwareConfig c;
  error.clear();
  ObjectReader r(&root, "", error);
  r.string("name", c.name);
  r.string("description", c.description);
  r.number("clock_mhz", c.clockMhz);
  r.integer("queue_depth", c.queueDepth);
  {
    ObjectReader a = r.child("pe_array");
    a.integer("dim_m", c.dimM);
    a.integer("dim_c", c.dimC);
    a.integer("dim_f", c.dimF);
    a.finish();
  }
  {
    ObjectReader e = r.child("rebuild_engine");
    e.integer("engines_per_line", c.enginesPerLine);
    e.integer("basis_rf_bytes", c.basisRfBytes);
    e.integer("weight_rf_rows", c.weightRfRows);
    e.finish();
  }
  {
    ObjectReader a = r.child("accumulator");
    a.integer("entries_per_slice", c.accEntries);
    a.finish();
  }
  {
    ObjectReader pd = r.child("permdiag_engine");
    pd.integer("pes", c.pdPes);
    pd.integer("multipliers_per_pe", c.pdMultipliersPerPe);
    pd.integer("max_block_size", c.pdMaxBlockSize);
    pd.finish();
  }
  {
    ObjectReader p = r.child("precision");
    p.integer("activation_bits", c.activationBits);
    p.integer("basis_bits", c.basisBits);
    p.integer("ce_bits", c.ceBits);
    p.integer("dense_weight_bits", c.denseWeightBits);
    p.integer("rebuilt_weight_bits", c.rebuiltWeightBits);
    p.integer("accumulator_bits", c.accumulatorBits);
    p.finish();
  }
  {
    ObjectReader b = r.child("buffers");
    readBuffer(b, "input", c.input);
    readBuffer(b, "output", c.output);
    readBuffer(b, "weight", c.weight);
    readBuffer(b, "index", c.index);
    b.finish();
  }
  {
    ObjectReader d = r.child("dram");
    d.integer("bytes_per_cycle", c.dramBytesPerCycle);
    d.integer("latency_cycles", c.dramLatencyCycles);
    d.number("read_pj_per_byte", c.dramReadPjPerByte);
    d.number("write_pj_per_byte", c.dramWritePjPerByte);
    d.string("source", c.dramSource);
    d.finish();
  }
  {
    ObjectReader rf = r.child("register_files");
    readRf(rf, "basis", c.basisRf);
    readRf(rf, "weight", c.weightRf);
    readRf(rf, "accumulator", c.accRf);
    rf.finish();
  }
  {
    ObjectReader o = r.child("operations");
    readOp(o, "mac", c.mac);
    readOp(o, "shift", c.shift);
    readOp(o, "add", c.add);
    readOp(o, "requant", c.requant);
    o.finish();
  }
  r.finish();
  if (!error.empty())
    return false;
  error = c.verify();
  if (!error.empty())
    return false;
  config = std::move(c);
  return true;
}

bool HardwareConfig::load(const std::string &path, HardwareConfig &config,
                          std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "'";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (!parse(text.str(), config, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

std::string HardwareConfig::verify() const {
  std::ostringstream os;
  auto range = [&](const char *name, int64_t value, int64_t lo, int64_t hi) {
    if (os.tellp() == 0 && (value < lo || value > hi))
      os << name << " = " << value << " must be in [" << lo << ", " << hi
         << "]";
  };
  auto nonNegative = [&](const char *name, double value) {
    if (os.tellp() == 0 && !(value >= 0.0))
      os << name << " must be a non-negative number";
  };
  // Upper bounds follow from the instruction field widths
  // (Instructions.def): channels is 8 bits, accumulator addresses 16 bits,
  // buffer addresses 24 bits.
  range("pe_array.dim_m", dimM, 1, 255);
  range("pe_array.dim_c", dimC, 1, 1024);
  range("pe_array.dim_f", dimF, 1, 1024);
  range("rebuild_engine.engines_per_line", enginesPerLine, 2, 2);
  range("rebuild_engine.basis_rf_bytes", basisRfBytes, 9, 9);
  range("rebuild_engine.weight_rf_rows", weightRfRows, 1, 1 << 16);
  range("accumulator.entries_per_slice", accEntries, 2, 65535);
  // cfg_weight's block_rows (8 bits) carries p.
  range("permdiag_engine.max_block_size", pdMaxBlockSize, 1, 255);
  range("permdiag_engine.pes", pdPes, 1, 1 << 16);
  range("permdiag_engine.multipliers_per_pe", pdMultipliersPerPe, 1, 1024);
  range("precision.activation_bits", activationBits, 8, 8);
  range("precision.basis_bits", basisBits, 8, 8);
  range("precision.ce_bits", ceBits, 2, 8);
  range("precision.dense_weight_bits", denseWeightBits, 8, 8);
  range("precision.rebuilt_weight_bits", rebuiltWeightBits, 11, 32);
  range("precision.accumulator_bits", accumulatorBits, 48, 64);
  range("buffers.input.bytes", input.bytes, 64, 1 << 24);
  range("buffers.output.bytes", output.bytes, 64, 1 << 24);
  range("buffers.weight.bytes", weight.bytes, 64, 1 << 24);
  range("buffers.index.bytes", index.bytes, 64, 1 << 24);
  range("dram.bytes_per_cycle", dramBytesPerCycle, 1, 1 << 20);
  range("dram.latency_cycles", dramLatencyCycles, 0, 1 << 20);
  range("queue_depth", queueDepth, 1, 4096);
  if (os.tellp() == 0 && !(clockMhz > 0.0))
    os << "clock_mhz must be positive";
  nonNegative("buffers.input energies",
              std::min(input.readPjPerByte, input.writePjPerByte));
  nonNegative("buffers.output energies",
              std::min(output.readPjPerByte, output.writePjPerByte));
  nonNegative("buffers.weight energies",
              std::min(weight.readPjPerByte, weight.writePjPerByte));
  nonNegative("buffers.index energies",
              std::min(index.readPjPerByte, index.writePjPerByte));
  nonNegative("dram energies", std::min(dramReadPjPerByte, dramWritePjPerByte));
  nonNegative("register_files.basis.pj_per_byte", basisRf.pjPerByte);
  nonNegative("register_files.weight.pj_per_byte", weightRf.pjPerByte);
  nonNegative("register_files.accumulator.pj_per_byte", accRf.pjPerByte);
  nonNegative("operations.mac.pj", mac.pj);
  nonNegative("operations.shift.pj", shift.pj);
  nonNegative("operations.add.pj", add.pj);
  nonNegative("operations.requant.pj", requant.pj);
  return os.str();
}

uint64_t HardwareConfig::fingerprint() const {
  std::ostringstream os;
  os << "sdacc-arch-v1;dim_m=" << dimM << ";dim_c=" << dimC << ";dim_f=" << dimF
     << ";engines=" << enginesPerLine << ";basis_rf=" << basisRfBytes
     << ";weight_rf_rows=" << weightRfRows << ";acc_entries=" << accEntries
     << ";act_bits=" << activationBits << ";basis_bits=" << basisBits
     << ";ce_bits=" << ceBits << ";dense_bits=" << denseWeightBits
     << ";rebuilt_bits=" << rebuiltWeightBits << ";acc_bits=" << accumulatorBits
     << ";input=" << input.bytes << ";output=" << output.bytes
     << ";weight=" << weight.bytes << ";index=" << index.bytes
     << ";pd_max_block=" << pdMaxBlockSize;
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char ch : os.str()) {
    hash ^= ch;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

static JsonValue bufferJson(const BufferConfig &b) {
  JsonValue v = JsonValue::object();
  v.set("bytes", JsonValue::integer(b.bytes));
  v.set("read_pj_per_byte", JsonValue::number(b.readPjPerByte));
  v.set("write_pj_per_byte", JsonValue::number(b.writePjPerByte));
  v.set("source", JsonValue::string(b.source));
  return v;
}

static JsonValue rfJson(const RegisterFileConfig &rf) {
  JsonValue v = JsonValue::object();
  v.set("pj_per_byte", JsonValue::number(rf.pjPerByte));
  v.set("source", JsonValue::string(rf.source));
  return v;
}

static JsonValue opJson(const OperationEnergy &op) {
  JsonValue v = JsonValue::object();
  v.set("pj", JsonValue::number(op.pj));
  v.set("source", JsonValue::string(op.source));
  return v;
}

JsonValue HardwareConfig::toJson() const {
  JsonValue v = JsonValue::object();
  v.set("name", JsonValue::string(name));
  v.set("description", JsonValue::string(description));
  v.set("clock_mhz", JsonValue::number(clockMhz));
  v.set("queue_depth", JsonValue::integer(queueDepth));
  JsonValue &array = v.set("pe_array", JsonValue::object());
  array.set("dim_m", JsonValue::integer(dimM));
  array.set("dim_c", JsonValue::integer(dimC));
  array.set("dim_f", JsonValue::integer(dimF));
  JsonValue &engine = v.set("rebuild_engine", JsonValue::object());
  engine.set("engines_per_line", JsonValue::integer(enginesPerLine));
  engine.set("basis_rf_bytes", JsonValue::integer(basisRfBytes));
  engine.set("weight_rf_rows", JsonValue::integer(weightRfRows));
  JsonValue &acc = v.set("accumulator", JsonValue::object());
  acc.set("entries_per_slice", JsonValue::integer(accEntries));
  JsonValue &pd = v.set("permdiag_engine", JsonValue::object());
  pd.set("pes", JsonValue::integer(pdPes));
  pd.set("multipliers_per_pe", JsonValue::integer(pdMultipliersPerPe));
  pd.set("max_block_size", JsonValue::integer(pdMaxBlockSize));
  JsonValue &precision = v.set("precision", JsonValue::object());
  precision.set("activation_bits", JsonValue::integer(activationBits));
  precision.set("basis_bits", JsonValue::integer(basisBits));
  precision.set("ce_bits", JsonValue::integer(ceBits));
  precision.set("dense_weight_bits", JsonValue::integer(denseWeightBits));
  precision.set("rebuilt_weight_bits", JsonValue::integer(rebuiltWeightBits));
  precision.set("accumulator_bits", JsonValue::integer(accumulatorBits));
  JsonValue &buffers = v.set("buffers", JsonValue::object());
  buffers.set("input", bufferJson(input));
  buffers.set("output", bufferJson(output));
  buffers.set("weight", bufferJson(weight));
  buffers.set("index", bufferJson(index));
  JsonValue &dram = v.set("dram", JsonValue::object());
  dram.set("bytes_per_cycle", JsonValue::integer(dramBytesPerCycle));
  dram.set("latency_cycles", JsonValue::integer(dramLatencyCycles));
  dram.set("read_pj_per_byte", JsonValue::number(dramReadPjPerByte));
  dram.set("write_pj_per_byte", JsonValue::number(dramWritePjPerByte));
  dram.set("source", JsonValue::string(dramSource));
  JsonValue &rfs = v.set("register_files", JsonValue::object());
  rfs.set("basis", rfJson(basisRf));
  rfs.set("weight", rfJson(weightRf));
  rfs.set("accumulator", rfJson(accRf));
  JsonValue &ops = v.set("operations", JsonValue::object());
  ops.set("mac", opJson(mac));
  ops.set("shift", opJson(shift));
  ops.set("add", opJson(add));
  ops.set("requant", opJson(requant));
  return v;
}

} // namespace sd::sdacc
