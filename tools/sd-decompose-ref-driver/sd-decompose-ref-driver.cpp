//===- sd-decompose-ref-driver.cpp - Decomposition library on .npy files --===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Test driver for the NumPy differential test: runs the C++ decomposition on
// arrays in .npy files and writes the results back as .npy plus a JSON
// summary, so python/tests/test_decompose_diff.py can compare them with the
// NumPy reference.
//
//   sd-decompose-ref-driver block  --input A.npy [--frozen F.npy] --out DIR
//       A: [n, m, 3] float; F: [n, m] uint8. Writes DIR/ce.npy [n, m, 3] f8,
//       DIR/basis.npy [n, 3, 3] f8, DIR/info.npy [n, 3] i8 (iterations,
//       converged, restarts), DIR/threshold.npy [n] f8 and, with --trace,
//       DIR/trace.npy [n, iterations] f8 (NaN after the block stopped).
//   sd-decompose-ref-driver quantize --input V.npy --out DIR
//       V: any float array. Writes DIR/q.npy (Q of every value, f8) and
//       DIR/codes.npy (their codes, i1), for the tie and range rules.
//   sd-decompose-ref-driver weight --input W.npy --out DIR
//       W: [O, ...] float. Writes DIR/codes.npy i1, DIR/basis.npy f4,
//       DIR/iterations.npy i4, DIR/pruned.npy u1 (if pruning), DIR/stats.json.
//
// Options: --threshold --iterations --tol --rcond --min-exp --max-exp
// --row-threshold --row-factor --scale --decay --max-restarts
// --max-block-rows --fraction --group --threads --trace --basis-bits
// --repeat N (weight mode: time N runs, report the fastest).
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Decompose.h"
#include "SD/Compression/Npy.h"
#include "SD/Compression/Storage.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

using namespace sd::compression;

namespace {

struct Args {
  std::string mode, input, frozen, out;
  int repeat = 1;
  int basisBits = 8;
  DecomposeOptions options;
};

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "sd-decompose-ref-driver: %s\n", message.c_str());
  std::exit(1);
}

Args parse(int argc, char **argv) {
  Args args;
  if (argc < 2)
    fail("usage: sd-decompose-ref-driver block|weight|quantize --input F --out "
         "DIR "
         "[options]");
  args.mode = argv[1];
  DecomposeOptions &o = args.options;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        fail("missing value after " + flag);
      return argv[++i];
    };
    if (flag == "--input")
      args.input = value();
    else if (flag == "--frozen")
      args.frozen = value();
    else if (flag == "--out")
      args.out = value();
    else if (flag == "--threshold")
      o.threshold = std::stod(value());
    else if (flag == "--iterations")
      o.iterations = std::stoi(value());
    else if (flag == "--tol")
      o.tolerance = std::stod(value());
    else if (flag == "--rcond")
      o.rcond = std::stod(value());
    else if (flag == "--min-exp")
      o.range.minExp = std::stoi(value());
    else if (flag == "--max-exp")
      o.range.maxExp = std::stoi(value());
    else if (flag == "--row-threshold")
      o.rowThreshold = true;
    else if (flag == "--row-factor")
      o.rowThresholdFactor = std::stod(value());
    else if (flag == "--scale")
      o.columnScale = true;
    else if (flag == "--decay")
      o.thresholdDecay = std::stod(value());
    else if (flag == "--max-restarts")
      o.maxRestarts = std::stoi(value());
    else if (flag == "--max-block-rows")
      o.maxBlockRows = std::stoll(value());
    else if (flag == "--fraction")
      o.structuredFraction = std::stod(value());
    else if (flag == "--group")
      o.structuredGroupSize = std::stoll(value());
    else if (flag == "--threads")
      o.numThreads = unsigned(std::stoul(value()));
    else if (flag == "--trace")
      o.recordTrace = true;
    else if (flag == "--basis-bits")
      args.basisBits = std::stoi(value());
    else if (flag == "--repeat")
      args.repeat = std::max(1, std::stoi(value()));
    else
      fail("unknown option " + flag);
  }
  if (args.input.empty() || args.out.empty())
    fail("--input and --out are required");
  if (std::string why = o.verify(); !why.empty())
    fail(why);
  return args;
}

NpyArray load(const std::string &path) {
  NpyArray array;
  std::string error;
  if (!readNpy(path, array, error))
    fail(error);
  return array;
}

void save(const std::string &path, const std::string &dtype,
          const std::vector<int64_t> &shape, const void *data) {
  if (!writeNpy(path, dtype, shape, data))
    fail("cannot write " + path);
}

int runBlocks(const Args &args) {
  NpyArray input = load(args.input);
  if (input.shape.size() != 3 || input.shape[2] != 3)
    fail("block mode wants an [n, m, 3] array");
  const int64_t n = input.shape[0], m = input.shape[1];
  std::vector<double> a = input.toDouble();
  std::vector<double> frozen;
  if (!args.frozen.empty()) {
    NpyArray f = load(args.frozen);
    if (f.numElements() != n * m)
      fail("--frozen must have n * m entries");
    frozen = f.toDouble();
  }
  const int traceLength = args.options.iterations;
  std::vector<double> ce(static_cast<size_t>(n * m * 3)),
      basis(static_cast<size_t>(n * 9)), thresholds(static_cast<size_t>(n)),
      trace(size_t(n * traceLength), std::numeric_limits<double>::quiet_NaN());
  std::vector<int64_t> info(static_cast<size_t>(n * 3));
  std::vector<uint8_t> frozenRows(static_cast<size_t>(m));
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t i = 0; i < m; ++i)
      frozenRows[i] = frozen.empty() ? 0 : frozen[b * m + i] != 0.0;
    BlockDecomposition r =
        decomposeBlock(&a[b * m * 3], m, args.options, frozenRows.data());
    std::copy(r.ce.begin(), r.ce.end(), ce.begin() + b * m * 3);
    std::copy(r.basis.begin(), r.basis.end(), basis.begin() + b * 9);
    info[b * 3 + 0] = r.iterations;
    info[b * 3 + 1] = r.converged;
    info[b * 3 + 2] = r.restarts;
    thresholds[b] = r.threshold;
    for (size_t t = 0; t < r.trace.size() && int(t) < traceLength; ++t)
      trace[b * traceLength + t] = r.trace[t];
  }
  save(args.out + "/ce.npy", "f8", {n, m, 3}, ce.data());
  save(args.out + "/basis.npy", "f8", {n, 3, 3}, basis.data());
  save(args.out + "/info.npy", "i8", {n, 3}, info.data());
  save(args.out + "/threshold.npy", "f8", {n}, thresholds.data());
  if (args.options.recordTrace)
    save(args.out + "/trace.npy", "f8", {n, int64_t(traceLength)},
         trace.data());
  return 0;
}

int runQuantize(const Args &args) {
  NpyArray input = load(args.input);
  std::vector<double> values = input.toDouble();
  std::vector<double> q(values.size());
  std::vector<int8_t> codes(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    q[i] = quantizeCoefficient(values[i], args.options.range);
    codes[i] = int8_t(coefficientCode(q[i], args.options.range));
  }
  save(args.out + "/q.npy", "f8", input.shape, q.data());
  save(args.out + "/codes.npy", "i1", input.shape, codes.data());
  return 0;
}

void writeStorage(std::ofstream &json, const char *name,
                  const StorageReport &r) {
  json << "  \"" << name
       << "\": {\"value_bits_per_entry\": " << r.valueBitsPerEntry
       << ", \"value_bits\": " << r.valueBits
       << ", \"index_bits\": " << r.indexBits
       << ", \"basis_bits\": " << r.basisBits
       << ", \"total_bits\": " << r.totalBits
       << ", \"compression_ratio\": " << r.compressionRatio
       << ", \"codes_fit\": " << (r.codesFit ? "true" : "false") << "},\n";
}

int runWeight(const Args &args) {
  NpyArray input = load(args.input);
  std::vector<float> weight = input.toFloat();
  DecomposedWeight result;
  double best = 1e300;
  for (int rep = 0; rep < args.repeat; ++rep) {
    auto start = std::chrono::steady_clock::now();
    result = decomposeWeight(weight.data(), input.shape, args.options);
    std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count());
    if (!result.error.empty())
      fail(result.error);
  }
  const BlockLayout &layout = result.layout;
  save(args.out + "/codes.npy", "i1", layout.codesShape(), result.codes.data());
  save(args.out + "/basis.npy", "f4", layout.basisShape(), result.basis.data());
  save(args.out + "/iterations.npy", "i4",
       {layout.numOutputs(), layout.numBlocks}, result.stats.iterations.data());
  if (!result.prunedRows.empty())
    save(args.out + "/pruned.npy", "u1",
         {result.stats.pruningGroups, layout.usedRows()},
         result.prunedRows.data());

  const DecomposeStats &s = result.stats;
  std::ofstream json(args.out + "/stats.json");
  json.precision(17);
  json << "{\n  \"seconds\": " << best
       << ",\n  \"num_blocks\": " << layout.numBlocks
       << ",\n  \"block_rows\": " << layout.blockRows
       << ",\n  \"nnz\": " << s.nnz << ",\n  \"num_codes\": " << s.numCodes
       << ",\n  \"converged_blocks\": " << s.convergedBlocks
       << ",\n  \"relative_error\": " << s.relativeError
       << ",\n  \"relative_error_to_pruned\": " << s.relativeErrorToPruned
       << ",\n  \"pruned_rows_per_group\": " << s.prunedRowsPerGroup
       << ",\n  \"exponent_histogram\": [";
  for (size_t i = 0; i < s.exponentHistogram.size(); ++i)
    json << (i ? ", " : "") << s.exponentHistogram[i];
  json << "],\n  \"trace\": [";
  for (size_t i = 0; i < s.trace.size(); ++i)
    json << (i ? ", " : "") << s.trace[i];
  json << "],\n";
  StorageOptions entry;
  entry.basisBits = args.basisBits;
  writeStorage(json, "storage_entry_bitmap",
               computeStorage(layout, result.codes.data(), entry));
  StorageOptions row = entry;
  row.index = CeIndexKind::RowBitmap;
  writeStorage(json, "storage_row_bitmap",
               computeStorage(layout, result.codes.data(), row));
  StorageOptions fixed4 = row;
  fixed4.codeBits = 4;
  writeStorage(json, "storage_row_bitmap_4bit",
               computeStorage(layout, result.codes.data(), fixed4));
  json << "  \"threads\": " << args.options.numThreads << "\n}\n";
  return json ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  Args args = parse(argc, argv);
  if (args.mode == "block")
    return runBlocks(args);
  if (args.mode == "weight")
    return runWeight(args);
  if (args.mode == "quantize")
    return runQuantize(args);
  fail("unknown mode " + args.mode);
}
