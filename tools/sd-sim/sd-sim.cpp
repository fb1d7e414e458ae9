//===- sd-sim.cpp - Runs SmartDeal accelerator programs -------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
//   sd-sim PROGRAM [--input NAME=FILE.npy]... [--output-dir DIR]
//          [--report FILE] [--baseline dense | --compare dense]
//          [--config FILE] [--emit-program FILE [--text]]
//          [--trace FILE] [--print-config]
//
// Reads a program file (binary or text), checks it against the hardware
// configuration (the embedded default unless --config), runs it on the int8
// .npy inputs and writes every network output as DIR/NAME.npy and the JSON
// report. --baseline dense runs the same network with raw 8-bit weights on
// the same array instead; --compare dense runs both and adds the
// SmartExchange-over-dense ratios to the report (outputs are the program's).
// Any error (damaged file, unknown version, failed verification, bad input,
// a fault while running) is one line on stderr, exit status 1, and no file
// written: outputs go to temporary names and are renamed at the end.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Npy.h"
#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/ProgramBuilder.h"
#include "SD/Accel/ProgramFile.h"
#include "SD/Simulator/Simulator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

using namespace sd::sdacc;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::string program;
  std::vector<std::pair<std::string, std::string>> inputs;
  std::string outputDir, report, config, baseline, compare, emitProgram;
  std::string trace;
  bool emitText = false;
  bool printConfig = false;
};

/// Files and folders this run created so far, in creation order; a failure
/// removes them again (files first, then the folders, emptied by then).
std::vector<fs::path> &createdPaths() {
  static std::vector<fs::path> paths;
  return paths;
}

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "sd-sim: error: %s\n", message.c_str());
  for (auto it = createdPaths().rbegin(); it != createdPaths().rend(); ++it) {
    std::error_code ec;
    fs::remove(*it, ec);
  }
  std::exit(1);
}

/// Creates `dir` and its missing parents, recording each for fail().
void createFolder(const std::string &dir) {
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path p = fs::absolute(dir, ec); !ec && !p.empty() && !fs::exists(p);
       p = p.parent_path())
    missing.push_back(p);
  fs::create_directories(dir, ec);
  createdPaths().insert(createdPaths().end(), missing.rbegin(), missing.rend());
  if (ec)
    fail("cannot create '" + dir + "': " + ec.message());
}

void usage() {
  std::printf(
      "usage: sd-sim PROGRAM [--input NAME=FILE.npy]... [--output-dir DIR]\n"
      "              [--report FILE] [--baseline dense | --compare dense]\n"
      "              [--config FILE] [--emit-program FILE [--text]]\n"
      "              [--trace FILE]\n"
      "       sd-sim --print-config [--config FILE]\n"
      "\n"
      "Runs a SmartDeal accelerator program (binary or text form) on int8\n"
      ".npy inputs; writes DIR/NAME.npy per network output and a JSON\n"
      "report (cycles, utilization, traffic and energy per level and per\n"
      "operation, per layer). The hardware configuration is the built-in\n"
      "smartdeal-default unless --config names another.\n"
      "\n"
      "  --baseline dense  run the dense (raw int8 weights) baseline instead\n"
      "  --compare dense   run both; the report adds SmartExchange/dense "
      "ratios\n"
      "  --emit-program F  also write the program that was run (e.g. the\n"
      "                    dense baseline), binary or with --text as text\n"
      "  --trace F         write 'index mnemonic unit start end' per timed\n"
      "                    instruction (a debugging aid; like every output,\n"
      "                    kept only when the run succeeds)\n");
}

Options parse(int argc, char **argv) {
  Options o;
  auto value = [&](int &i) -> std::string {
    if (i + 1 >= argc)
      fail(std::string("missing value after ") + argv[i]);
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage();
      std::exit(0);
    } else if (a == "--input") {
      std::string v = value(i);
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0)
        fail("--input expects NAME=FILE.npy, got '" + v + "'");
      o.inputs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (a == "--output-dir") {
      o.outputDir = value(i);
    } else if (a == "--report") {
      o.report = value(i);
    } else if (a == "--config") {
      o.config = value(i);
    } else if (a == "--baseline") {
      o.baseline = value(i);
      if (o.baseline != "dense")
        fail("--baseline supports 'dense', not '" + o.baseline + "'");
    } else if (a == "--compare") {
      o.compare = value(i);
      if (o.compare != "dense")
        fail("--compare supports 'dense', not '" + o.compare + "'");
    } else if (a == "--emit-program") {
      o.emitProgram = value(i);
    } else if (a == "--trace") {
      o.trace = value(i);
    } else if (a == "--text") {
      o.emitText = true;
    } else if (a == "--print-config") {
      o.printConfig = true;
    } else if (!a.empty() && a[0] == '-') {
      fail("unknown option '" + a + "' (see --help)");
    } else if (o.program.empty()) {
      o.program = a;
    } else {
      fail("more than one program file given");
    }
  }
  if (!o.baseline.empty() && !o.compare.empty())
    fail("--baseline and --compare exclude each other");
  if (o.program.empty() && !o.printConfig)
    fail("no program file given (see --help)");
  return o;
}

/// A file to publish once everything succeeded.
struct PendingFile {
  std::string temp, path;
};

std::string fileNameFor(const std::string &tensor) {
  std::string name = tensor;
  for (char &ch : name)
    if (ch == '/' || ch == ':')
      ch = '_';
  return name + ".npy";
}

/// Loads, runs and returns the simulator of `program`.
void runProgram(
    const Program &program, const HardwareConfig &config,
    const std::vector<std::pair<std::string, sd::compression::NpyArray>> &in,
    Simulator &sim) {
  std::string error;
  // Both the program read from the file and the baselines built from it
  // have been verified already.
  if (!sim.load(program, error, /*verify=*/false))
    fail(error);
  for (const auto &[name, array] : in) {
    std::vector<int8_t> values(array.data.size());
    std::memcpy(values.data(), array.data.data(), values.size());
    if (!sim.setInput(name, values, array.shape, error))
      fail(error);
  }
  if (!sim.run(error))
    fail("while running: " + error);
  (void)config;
}

JsonValue ratio(double a, double b) {
  return JsonValue::number(b > 0 ? a / b : 0.0);
}

} // namespace

int main(int argc, char **argv) {
  Options o = parse(argc, argv);
  std::string error;
  HardwareConfig config = HardwareConfig::defaults();
  if (!o.config.empty() && !HardwareConfig::load(o.config, config, error))
    fail(error);
  if (o.printConfig) {
    std::fputs(config.toJson().write().c_str(), stdout);
    if (o.program.empty())
      return 0;
  }

  Program program;
  if (!readProgramFile(o.program, program, error))
    fail(error);
  error = verifyProgram(program, config);
  if (!error.empty())
    fail(o.program + ": " + error);

  // Outputs are materialized in memory before being written; a (crafted)
  // program declaring absurd ones is refused instead of exhausting memory.
  int64_t outputBytes = 0;
  for (const TensorDecl &t : program.tensors)
    if (t.role == TensorRole::Output)
      outputBytes += t.numBytes();
  if (outputBytes > (int64_t(1) << 30))
    fail(o.program + ": the outputs total " + std::to_string(outputBytes) +
         " bytes; sd-sim writes at most 1 GiB");

  // Inputs: every one declared, each given once, int8 of the right shape.
  std::vector<std::pair<std::string, sd::compression::NpyArray>> inputs;
  for (const auto &[name, file] : o.inputs) {
    int64_t t = program.findTensor(name);
    if (t < 0 || program.tensors[size_t(t)].role != TensorRole::Input)
      fail("the program has no input tensor '" + name + "'");
    for (const auto &seen : inputs)
      if (seen.first == name)
        fail("input '" + name + "' given twice");
    sd::compression::NpyArray array;
    if (!sd::compression::readNpy(file, array, error))
      fail(error);
    if (array.dtype != "i1")
      fail(file + ": dtype '" + array.dtype + "' is not int8 ('i1')");
    if (int64_t(array.data.size()) != array.numElements())
      fail(file + ": truncated data");
    inputs.emplace_back(name, std::move(array));
  }
  for (const TensorDecl &t : program.tensors) {
    if (t.role != TensorRole::Input)
      continue;
    bool given = false;
    for (const auto &in : inputs)
      given = given || in.first == t.name;
    if (!given)
      fail("missing --input " + t.name + "=FILE.npy");
  }

  bool dense = !o.baseline.empty();
  Program run = program;
  if (dense && !buildDenseBaseline(program, config, run, error))
    fail("dense baseline: " + error);

  // Outputs go to temporary names next to their targets, renamed once
  // everything succeeded; fail() removes them.
  std::vector<PendingFile> pending;
  auto stage = [&](const std::string &path, const char *suffix) {
    PendingFile f{path + suffix, path};
    createdPaths().push_back(f.temp);
    pending.push_back(f);
    return f.temp;
  };

  Simulator sim(config);
  std::FILE *trace = nullptr;
  if (!o.trace.empty()) {
    std::string temp = stage(o.trace, ".tmp");
    trace = std::fopen(temp.c_str(), "w");
    if (!trace)
      fail("cannot write '" + temp + "'");
    sim.setTrace(trace);
  }
  runProgram(run, config, inputs, sim);
  if (trace && std::fclose(trace) != 0)
    fail("cannot write '" + o.trace + ".tmp'");
  JsonValue report = sim.report(dense ? "dense-baseline" : "smartexchange");

  if (!o.compare.empty()) {
    Program baseline;
    if (!buildDenseBaseline(program, config, baseline, error))
      fail("dense baseline: " + error);
    Simulator base(config);
    runProgram(baseline, config, inputs, base);
    JsonValue b = base.report("dense-baseline");
    const SimStats &se = sim.total(), &dn = base.total();
    double eSe = computeEnergy(se, config).total();
    double eDn = computeEnergy(dn, config).total();
    auto dramBytes = [](const SimStats &s) {
      const Traffic &t = s.at(Level::Dram);
      return double(t.readBytes + t.writeBytes);
    };
    JsonValue &cmp =
        report.set("dense_over_smartexchange", JsonValue::object());
    cmp.set("energy", ratio(eDn, eSe));
    cmp.set("cycles", ratio(double(dn.cycles), double(se.cycles)));
    cmp.set("energy_delay",
            ratio(eDn * double(dn.cycles), eSe * double(se.cycles)));
    cmp.set("dram_bytes", ratio(dramBytes(dn), dramBytes(se)));
    report.set("baseline", std::move(b));
  }

  // Everything succeeded: write the files, then publish them.
  if (!o.outputDir.empty()) {
    createFolder(o.outputDir);
    for (const TensorDecl &t : run.tensors) {
      if (t.role != TensorRole::Output)
        continue;
      std::vector<int8_t> values;
      sim.tensor(t.name, values);
      std::string temp =
          stage((fs::path(o.outputDir) / fileNameFor(t.name)).string(), ".tmp");
      if (!sd::compression::writeNpy(temp, "i1", t.shape, values.data()))
        fail("cannot write '" + temp + "'");
    }
  }
  if (!o.report.empty()) {
    std::string temp = stage(o.report, ".tmp");
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << report.write();
    out.close();
    if (!out)
      fail("cannot write '" + temp + "'");
  }
  if (!o.emitProgram.empty()) {
    std::string temp = stage(o.emitProgram, ".part");
    if (!writeProgramFile(temp, run, o.emitText, error))
      fail(error);
  }
  for (const PendingFile &f : pending)
    if (std::rename(f.temp.c_str(), f.path.c_str()) != 0)
      fail("cannot rename '" + f.temp + "' to '" + f.path + "'");
  if (o.report.empty()) {
    const SimStats &s = sim.total();
    Energy e = computeEnergy(s, config);
    std::printf("cycles %llu, MACs %llu, utilization %.3f, energy %.6g uJ\n",
                (unsigned long long)s.cycles, (unsigned long long)s.macs,
                s.cycles ? double(s.macs) /
                               (double(s.cycles) * double(config.numMacs()))
                         : 0.0,
                e.total() * 1e-6);
  }
  return 0;
}
