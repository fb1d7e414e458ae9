//===- sd-acc-build-driver.cpp - Program builder on .npy files ------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Test driver for the differential and corruption tests
// (python/tests/sdacc_reference.py, test/Simulator/): builds a program file
// with the plain C++ ProgramBuilder from a JSON network description whose
// weights live in .npy files, and converts program files between the binary
// and text forms.
//
//   sd-acc-build-driver build SPEC.json -o PROGRAM [--text]
//                       [--schedule FILE.json] [--config CFG.json]
//                       [--loop-order auto|bands|groups]
//   sd-acc-build-driver convert IN -o OUT [--text] [--config CFG.json]
//
// SPEC.json (paths relative to the spec's folder):
//   {"inputs":  [{"name": "x", "shape": [N, C, H, W]}],
//    "layers":  [{"name": "conv1", "kind": "conv" | "fc",
//                 "format": "se" | "dense", "input": "x", "output": "y",
//                 "out_channels": K, "kernel": [R, S], "stride": [sh, sw],
//                 "pad": [top, left, bottom, right],
//                 "blocks": nb, "block_rows": rows,  (se: default from
//                                                     codes; dense: canonical)
//                 "min_exp": -6, "max_exp": 0, "code_bits": 4, (se)
//                 "frac_bits_b": 6,
//                 "codes": "codes.npy",   int8 [K, nb, rows, 3]  (se)
//                 "basis": "basis.npy",   int8 [K, nb, 3, 3]     (se)
//                 "weights": "w.npy",     int8 [K, C*R*S]        (dense)
//                 "bias": "bias.npy",     int64 [K]              (optional)
//                 "multiplier": M, "shift": S, "relu": false}],
//    "outputs": ["y"]}
// convert checks the program against the configuration before writing.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Npy.h"
#include "SD/Accel/Json.h"
#include "SD/Accel/ProgramBuilder.h"
#include "SD/Accel/ProgramFile.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

using namespace sd::sdacc;
using sd::compression::NpyArray;

namespace {

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "sd-acc-build-driver: error: %s\n", message.c_str());
  std::exit(1);
}

std::string dirOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

int64_t integer(const JsonValue &object, const std::string &key,
                int64_t fallback, bool required = false) {
  const JsonValue *v = object.find(key);
  if (!v) {
    if (required)
      fail("missing '" + key + "'");
    return fallback;
  }
  int64_t out;
  if (!v->asInteger(out))
    fail("'" + key + "' must be an integer");
  return out;
}

std::string text(const JsonValue &object, const std::string &key,
                 const std::string &fallback = "", bool required = false) {
  const JsonValue *v = object.find(key);
  if (!v) {
    if (required)
      fail("missing '" + key + "'");
    return fallback;
  }
  if (!v->isString())
    fail("'" + key + "' must be a string");
  return v->asString();
}

std::vector<int64_t> integers(const JsonValue &object, const std::string &key,
                              std::vector<int64_t> fallback) {
  const JsonValue *v = object.find(key);
  if (!v)
    return fallback;
  std::vector<int64_t> out;
  for (const JsonValue &e : v->elements()) {
    int64_t x;
    if (!e.asInteger(x))
      fail("'" + key + "' must hold integers");
    out.push_back(x);
  }
  return out;
}

NpyArray loadNpy(const std::string &dir, const std::string &file,
                 const char *dtype) {
  NpyArray a;
  std::string error;
  if (!sd::compression::readNpy(dir + "/" + file, a, error))
    fail(file + ": " + error);
  if (a.dtype != dtype)
    fail(file + ": dtype '" + a.dtype + "', expected '" + dtype + "'");
  return a;
}

template <typename T> std::vector<T> values(const NpyArray &a) {
  std::vector<T> out(size_t(a.numElements()));
  std::memcpy(out.data(), a.data.data(), out.size() * sizeof(T));
  return out;
}

HardwareConfig loadConfig(const std::string &path) {
  if (path.empty())
    return HardwareConfig::defaults();
  HardwareConfig config;
  std::string error;
  if (!HardwareConfig::load(path, config, error))
    fail(error);
  return config;
}

int build(const std::string &specPath, const std::string &outPath, bool asText,
          const std::string &schedulePath, const std::string &configPath,
          LoopOrder order) {
  std::ifstream in(specPath);
  if (!in)
    fail("cannot open '" + specPath + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  JsonValue spec;
  std::string error;
  if (!parseJson(buffer.str(), spec, error))
    fail(specPath + ": " + error);
  const std::string dir = dirOf(specPath);
  HardwareConfig config = loadConfig(configPath);
  ProgramBuilder builder(config);
  builder.setLoopOrder(order);
  if (const JsonValue *inputs = spec.find("inputs"))
    for (const JsonValue &i : inputs->elements())
      if (!builder.addInput(text(i, "name", "", true), integers(i, "shape", {}),
                            error))
        fail(error);
  if (const JsonValue *layers = spec.find("layers"))
    for (const JsonValue &l : layers->elements()) {
      LayerSpec s;
      s.name = text(l, "name", "", true);
      std::string kind = text(l, "kind", "conv");
      if (kind != "conv" && kind != "fc")
        fail("layer '" + s.name + "': kind must be conv or fc");
      s.kind = kind == "fc" ? LayerKind::FullyConnected : LayerKind::Conv;
      std::string format = text(l, "format", "se");
      if (format != "se" && format != "dense")
        fail("layer '" + s.name + "': format must be se or dense");
      s.format =
          format == "se" ? WeightFormat::SmartExchange : WeightFormat::Dense;
      s.input = text(l, "input", "", true);
      s.output = text(l, "output", "", true);
      s.outChannels = integer(l, "out_channels", 0, true);
      std::vector<int64_t> kernel = integers(l, "kernel", {1, 1});
      std::vector<int64_t> stride = integers(l, "stride", {1, 1});
      std::vector<int64_t> pad = integers(l, "pad", {0, 0, 0, 0});
      if (kernel.size() != 2 || stride.size() != 2 || pad.size() != 4)
        fail("layer '" + s.name +
             "': kernel and stride take 2 values, pad 4 (t, l, b, r)");
      s.kernelH = kernel[0];
      s.kernelW = kernel[1];
      s.strideH = stride[0];
      s.strideW = stride[1];
      s.padTop = pad[0];
      s.padLeft = pad[1];
      s.padBottom = pad[2];
      s.padRight = pad[3];
      s.multiplier = integer(l, "multiplier", 1 << 14, true);
      s.shift = integer(l, "shift", 1, true);
      const JsonValue *relu = l.find("relu");
      s.relu = relu && relu->isBool() && relu->asBool();
      s.fracBitsB = integer(l, "frac_bits_b", 0);
      std::string biasFile = text(l, "bias");
      if (!biasFile.empty())
        s.bias = values<int64_t>(loadNpy(dir, biasFile, "i8"));
      int64_t blocks = integer(l, "blocks", 0);
      int64_t blockRows = integer(l, "block_rows", 0);
      if (s.format == WeightFormat::SmartExchange) {
        NpyArray codes = loadNpy(dir, text(l, "codes", "", true), "i1");
        NpyArray basis = loadNpy(dir, text(l, "basis", "", true), "i1");
        if (codes.shape.size() != 4 || basis.shape.size() != 4)
          fail("layer '" + s.name + "': codes and basis must be 4-D");
        s.codes = values<int8_t>(codes);
        s.basis = values<int8_t>(basis);
        s.range.minExp = int(integer(l, "min_exp", 0, true));
        s.range.maxExp = int(integer(l, "max_exp", 0, true));
        s.codeBits = integer(l, "code_bits", 0);
        blocks = blocks ? blocks : codes.shape[1];
        blockRows = blockRows ? blockRows : codes.shape[2];
      } else {
        s.weights =
            values<int8_t>(loadNpy(dir, text(l, "weights", "", true), "i1"));
      }
      // The builder completes the layout's shape from the input tensor.
      if (blocks) {
        s.layout.numBlocks = blocks;
        s.layout.blockRows = blockRows;
      }
      if (!builder.addLayer(s, error))
        fail(error);
    }
  if (const JsonValue *outputs = spec.find("outputs"))
    for (const JsonValue &o : outputs->elements())
      if (!o.isString() || !builder.markOutput(o.asString(), error))
        fail(o.isString() ? error : "outputs must be names");
  Program program;
  if (!builder.build(program, error))
    fail(error);
  if (!writeProgramFile(outPath, program, asText, error))
    fail(error);
  if (!schedulePath.empty()) {
    std::ofstream out(schedulePath);
    out << scheduleReportJson(builder.schedules()).write();
    if (!out)
      fail("cannot write '" + schedulePath + "'");
  }
  return 0;
}

int convert(const std::string &inPath, const std::string &outPath, bool asText,
            const std::string &configPath) {
  HardwareConfig config = loadConfig(configPath);
  Program program;
  std::string error;
  if (!readProgramFile(inPath, program, error))
    fail(error);
  error = verifyProgram(program, config);
  if (!error.empty())
    fail(inPath + ": " + error);
  if (!writeProgramFile(outPath, program, asText, error))
    fail(error);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: sd-acc-build-driver build SPEC.json -o PROGRAM "
                 "[--text] [--schedule FILE] [--config CFG]\n"
                 "       sd-acc-build-driver convert IN -o OUT [--text] "
                 "[--config CFG]\n");
    return 1;
  }
  std::string mode = argv[1], input = argv[2], out, schedule, config;
  bool asText = false;
  LoopOrder order = LoopOrder::Auto;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        fail("missing value after " + a);
      return argv[++i];
    };
    if (a == "-o")
      out = value();
    else if (a == "--text")
      asText = true;
    else if (a == "--schedule")
      schedule = value();
    else if (a == "--config")
      config = value();
    else if (a == "--loop-order") {
      std::string v = value();
      if (v == "bands")
        order = LoopOrder::BandsOuter;
      else if (v == "groups")
        order = LoopOrder::GroupsOuter;
      else if (v != "auto")
        fail("--loop-order takes auto, bands or groups");
    } else
      fail("unknown option '" + a + "'");
  }
  if (out.empty())
    fail("missing -o OUTPUT");
  if (mode == "build")
    return build(input, out, asText, schedule, config, order);
  if (mode == "convert")
    return convert(input, out, asText, config);
  fail("unknown mode '" + mode + "'");
}
