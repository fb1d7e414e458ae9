//===- DecomposeBench.cpp - Time the decomposition of whole models --------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Decomposes every layer listed in a manifest (one "name path.npy" per line)
// and prints one JSON object: per-layer best time and statistics, and the best
// wall time of the whole model (all layers back to back), over --repeat runs.
// Loading is not timed; decomposeWeight is, statistics included, in wall
// time and in process CPU time (all threads).
//
//   sd-decompose-bench MANIFEST [--threads N] [--repeat N] [--threshold T]
//                      [--fraction F] [--row-threshold] [--scale]
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Decompose.h"
#include "SD/Compression/Npy.h"
#include "SD/Compression/Storage.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

using namespace sd::compression;

namespace {

struct Layer {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> weight;
  double best = 1e300, bestCpu = 1e300;
  DecomposedWeight result;
};

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "sd-decompose-bench: %s\n", message.c_str());
  std::exit(1);
}

/// Process CPU time, all threads: unlike wall time it hardly moves when other
/// work shares the machine.
double cpuSeconds() { return double(std::clock()) / CLOCKS_PER_SEC; }

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2)
    fail("usage: sd-decompose-bench MANIFEST [--threads N] [--repeat N] ...");
  DecomposeOptions options;
  int repeat = 3;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        fail("missing value after " + flag);
      return argv[++i];
    };
    if (flag == "--threads")
      options.numThreads = unsigned(std::stoul(value()));
    else if (flag == "--repeat")
      repeat = std::max(1, std::stoi(value()));
    else if (flag == "--threshold")
      options.threshold = std::stod(value());
    else if (flag == "--fraction")
      options.structuredFraction = std::stod(value());
    else if (flag == "--row-threshold")
      options.rowThreshold = true;
    else if (flag == "--scale")
      options.columnScale = true;
    else
      fail("unknown option " + flag);
  }

  std::vector<Layer> layers;
  std::ifstream manifest(argv[1]);
  if (!manifest)
    fail(std::string("cannot read ") + argv[1]);
  for (std::string line; std::getline(manifest, line);) {
    std::istringstream fields(line);
    Layer layer;
    std::string path;
    if (!(fields >> layer.name >> path))
      continue;
    NpyArray array;
    std::string error;
    if (!readNpy(path, array, error))
      fail(error);
    layer.shape = array.shape;
    layer.weight = array.toFloat();
    layers.push_back(std::move(layer));
  }

  double bestModel = 1e300, bestModelCpu = 1e300;
  for (int rep = 0; rep < repeat; ++rep) {
    auto modelStart = std::chrono::steady_clock::now();
    double modelCpu = cpuSeconds();
    for (Layer &layer : layers) {
      auto start = std::chrono::steady_clock::now();
      double cpu = cpuSeconds();
      layer.result = decomposeWeight(layer.weight.data(), layer.shape, options);
      layer.best = std::min(layer.best, seconds(start));
      layer.bestCpu = std::min(layer.bestCpu, cpuSeconds() - cpu);
      if (!layer.result.error.empty())
        fail(layer.name + ": " + layer.result.error);
    }
    bestModel = std::min(bestModel, seconds(modelStart));
    bestModelCpu = std::min(bestModelCpu, cpuSeconds() - modelCpu);
  }

  std::printf("{\"model_seconds\": %.6f, \"model_cpu_seconds\": %.6f, "
              "\"threads\": %u, \"layers\": [\n",
              bestModel, bestModelCpu, options.numThreads);
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer &l = layers[i];
    const DecomposeStats &s = l.result.stats;
    double iterations = 0;
    for (int32_t it : s.iterations)
      iterations += it;
    iterations /= double(std::max<size_t>(s.iterations.size(), 1));
    StorageReport storage =
        computeStorage(l.result.layout, l.result.codes.data());
    std::printf(
        "  {\"name\": \"%s\", \"weights\": %lld, \"blocks\": %lld, "
        "\"block_rows\": %lld, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
        "\"mean_iterations\": %.3f, \"converged_blocks\": %lld, "
        "\"relative_error\": %.6f, \"density\": %.6f, "
        "\"compression_ratio\": %.4f, \"total_bits\": %lld}%s\n",
        l.name.c_str(), (long long)l.result.layout.numWeights(),
        (long long)s.iterations.size(), (long long)l.result.layout.blockRows,
        l.best, l.bestCpu, iterations, (long long)s.convergedBlocks,
        s.relativeError, double(s.nnz) / double(s.numCodes),
        storage.compressionRatio, (long long)storage.totalBits,
        i + 1 < layers.size() ? "," : "");
  }
  std::printf("]}\n");
  return 0;
}
