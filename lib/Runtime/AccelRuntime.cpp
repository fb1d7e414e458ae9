//===- AccelRuntime.cpp - Runs offloaded segments on the simulator --------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// libSDAccelRuntime: the implementation of SD/Runtime/AccelRuntime.h. One
// process-wide state, because compiled host code calls plain C functions;
// the calls of one segment are sequential (set inputs, run, get outputs).
//
//===----------------------------------------------------------------------===//

#include "SD/Runtime/AccelRuntime.h"

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/ProgramBuilder.h"
#include "SD/Accel/ProgramFile.h"
#include "SD/Simulator/Simulator.h"

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace sd::sdacc;

namespace {

/// One program and what its runs cost.
struct Segment {
  std::string name;
  Program program, dense;
  std::vector<std::string> outputs; ///< Output tensors, in result order.
  int64_t runs = 0;
  SimStats stats, denseStats;
  double seconds = 0;
  JsonValue firstReport; ///< Per-layer report of the first run.
};

struct Runtime {
  std::string dir;
  HardwareConfig config = HardwareConfig::defaults();
  bool compareDense = false;
  std::string error;
  std::map<std::string, std::unique_ptr<Segment>> segments;
  std::vector<Segment *> order; ///< First-run order, for the report.
  /// Inputs of the coming run, by argument index; outputs of the last one.
  std::vector<std::pair<std::vector<int8_t>, std::vector<int64_t>>> inputs;
  std::vector<std::vector<int8_t>> outputs;
  std::string report;
};

Runtime &state() {
  static Runtime rt;
  return rt;
}

bool failed() { return !state().error.empty(); }

void setError(const std::string &message) {
  if (state().error.empty())
    state().error = message;
}

/// The ranked descriptor behind an unranked memref of int8.
struct View {
  int8_t *base = nullptr;
  std::vector<int64_t> sizes, strides;
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t s : sizes)
      n *= s;
    return n;
  }
  /// Element `linear` of the row-major order.
  int8_t &at(int64_t linear) const {
    int64_t offset = 0;
    for (size_t d = sizes.size(); d-- > 0;) {
      offset += (linear % sizes[d]) * strides[d];
      linear /= sizes[d];
    }
    return base[offset];
  }
};

View view(int64_t rank, void *descriptor) {
  struct Head {
    void *allocated;
    int8_t *aligned;
    int64_t offset;
  };
  auto *head = static_cast<Head *>(descriptor);
  auto *dims = reinterpret_cast<int64_t *>(head + 1);
  View v;
  v.base = head->aligned + head->offset;
  v.sizes.assign(dims, dims + rank);
  v.strides.assign(dims + rank, dims + 2 * rank);
  return v;
}

/// Reads, verifies and prepares `<dir>/<name>.sdacc` on first use.
Segment *segment(const std::string &name) {
  Runtime &rt = state();
  auto it = rt.segments.find(name);
  if (it != rt.segments.end())
    return it->second.get();
  auto seg = std::make_unique<Segment>();
  seg->name = name;
  std::string path = rt.dir + "/" + name + ".sdacc", error;
  if (!readProgramFile(path, seg->program, error)) {
    setError(error);
    return nullptr;
  }
  error = verifyProgram(seg->program, rt.config);
  if (!error.empty()) {
    setError(path + ": " + error);
    return nullptr;
  }
  if (rt.compareDense &&
      !buildDenseBaseline(seg->program, rt.config, seg->dense, error)) {
    setError(path + ": dense baseline: " + error);
    return nullptr;
  }
  for (const TensorDecl &t : seg->program.tensors)
    if (t.role == TensorRole::Output)
      seg->outputs.push_back(t.name);
  Segment *raw = seg.get();
  rt.order.push_back(raw);
  rt.segments.emplace(name, std::move(seg));
  return raw;
}

/// Runs `program` on the pending inputs; `outputs` gets the output tensors
/// when not null.
bool simulate(const Segment &seg, const Program &program, SimStats &stats,
              JsonValue *report, std::vector<std::vector<int8_t>> *outputs) {
  Runtime &rt = state();
  Simulator sim(rt.config);
  std::string error;
  if (!sim.load(program, error, /*verify=*/false)) {
    setError(seg.name + ": " + error);
    return false;
  }
  for (size_t k = 0; k < rt.inputs.size(); ++k)
    if (!sim.setInput("arg" + std::to_string(k), rt.inputs[k].first,
                      rt.inputs[k].second, error)) {
      setError(seg.name + ": " + error);
      return false;
    }
  if (!sim.run(error)) {
    setError(seg.name + ": while running: " + error);
    return false;
  }
  stats.add(sim.total());
  if (report)
    *report = sim.report("smartexchange");
  if (outputs) {
    outputs->assign(seg.outputs.size(), {});
    for (size_t k = 0; k < seg.outputs.size(); ++k)
      sim.tensor(seg.outputs[k], (*outputs)[k]);
  }
  return true;
}

JsonValue costs(const SimStats &s, const HardwareConfig &config) {
  JsonValue v = JsonValue::object();
  v.set("cycles", JsonValue::integer(int64_t(s.cycles)));
  v.set("macs", JsonValue::integer(int64_t(s.macs)));
  v.set("dense_macs", JsonValue::integer(int64_t(s.denseMacs)));
  v.set("energy_pj", JsonValue::number(computeEnergy(s, config).total()));
  const Traffic &dram = s.at(Level::Dram);
  v.set("dram_read_bytes", JsonValue::integer(int64_t(dram.readBytes)));
  v.set("dram_write_bytes", JsonValue::integer(int64_t(dram.writeBytes)));
  return v;
}

} // namespace

extern "C" int sdaccRuntimeInit(const char *programDir, const char *configPath,
                                int compareDense) {
  Runtime &rt = state();
  rt = Runtime();
  rt.dir = programDir ? programDir : ".";
  rt.compareDense = compareDense != 0;
  if (configPath && *configPath) {
    std::string error;
    if (!HardwareConfig::load(configPath, rt.config, error)) {
      rt.error = error;
      return 1;
    }
  }
  return 0;
}

extern "C" const char *sdaccRuntimeError(void) { return state().error.c_str(); }

extern "C" const char *sdaccRuntimeReport(void) {
  Runtime &rt = state();
  JsonValue v = JsonValue::object();
  v.set("format", JsonValue::string("sd-hybrid-run"));
  v.set("config", JsonValue::string(rt.config.name));
  SimStats total, denseTotal;
  double seconds = 0;
  JsonValue &list = v.set("segments", JsonValue::array());
  for (const Segment *seg : rt.order) {
    JsonValue s = JsonValue::object();
    s.set("name", JsonValue::string(seg->name));
    s.set("runs", JsonValue::integer(seg->runs));
    JsonValue c = costs(seg->stats, rt.config);
    for (const auto &member : c.members())
      s.set(member.first, member.second);
    s.set("seconds", JsonValue::number(seg->seconds));
    if (rt.compareDense)
      s.set("dense", costs(seg->denseStats, rt.config));
    s.set("first_run", seg->firstReport);
    list.push(std::move(s));
    total.add(seg->stats);
    denseTotal.add(seg->denseStats);
    seconds += seg->seconds;
  }
  JsonValue t = costs(total, rt.config);
  t.set("seconds", JsonValue::number(seconds));
  t.set("simulated_macs_per_second",
        JsonValue::number(seconds > 0 ? double(total.macs) / seconds : 0.0));
  if (rt.compareDense)
    t.set("dense", costs(denseTotal, rt.config));
  v.set("total", std::move(t));
  rt.report = v.write();
  return rt.report.c_str();
}

extern "C" void sdaccSetInput(int64_t index, int64_t rank, void *descriptor) {
  if (failed())
    return;
  Runtime &rt = state();
  View v = view(rank, descriptor);
  if (size_t(index) >= rt.inputs.size())
    rt.inputs.resize(size_t(index) + 1);
  auto &[values, shape] = rt.inputs[size_t(index)];
  values.resize(size_t(v.numElements()));
  for (int64_t i = 0; i < v.numElements(); ++i)
    values[size_t(i)] = v.at(i);
  shape = v.sizes;
}

extern "C" void sdaccRun(int64_t nameRank, void *nameDescriptor) {
  if (failed())
    return;
  Runtime &rt = state();
  View v = view(nameRank, nameDescriptor);
  std::string name(size_t(v.numElements()), '\0');
  for (int64_t i = 0; i < v.numElements(); ++i)
    name[size_t(i)] = char(v.at(i));
  Segment *seg = segment(name);
  if (!seg)
    return;
  auto start = std::chrono::steady_clock::now();
  bool first = seg->runs == 0;
  if (!simulate(*seg, seg->program, seg->stats,
                first ? &seg->firstReport : nullptr, &rt.outputs))
    return;
  seg->seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (rt.compareDense &&
      !simulate(*seg, seg->dense, seg->denseStats, nullptr, nullptr))
    return;
  ++seg->runs;
  rt.inputs.clear();
}

extern "C" void sdaccGetOutput(int64_t index, int64_t rank, void *descriptor) {
  if (failed())
    return;
  Runtime &rt = state();
  View v = view(rank, descriptor);
  if (size_t(index) >= rt.outputs.size() ||
      int64_t(rt.outputs[size_t(index)].size()) != v.numElements()) {
    setError("segment output " + std::to_string(index) +
             " does not match the program's outputs (" +
             std::to_string(rt.outputs.size()) + " outputs)");
    return;
  }
  const std::vector<int8_t> &values = rt.outputs[size_t(index)];
  for (int64_t i = 0; i < v.numElements(); ++i)
    v.at(i) = values[size_t(i)];
}
