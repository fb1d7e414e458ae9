//===- LayerReport.cpp - Per-layer compression report ---------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/LayerReport.h"
#include "SD/Dialect/SD/Transforms/StagedOutputs.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::sd;

static llvm::json::Value toJson(const LayerRecord &r) {
  llvm::json::Object o;
  o["index"] = r.index;
  o["name"] = r.name;
  o["op"] = r.op;
  o["form"] = r.form;
  o["shape"] = llvm::json::Array(r.shape);
  int64_t weights = 1;
  for (int64_t d : r.shape)
    weights *= d;
  o["weights"] = weights;
  if (r.form == "dense") {
    o["reason"] = r.reason;
    return o;
  }
  llvm::json::Object settings;
  for (auto &[k, v] : r.settings)
    settings[k] = v;
  o["settings"] = std::move(settings);
  o["blocks"] = r.numBlocks;
  o["block_rows"] = r.blockRows;
  o["nnz"] = r.nnz;
  o["codes"] = r.numCodes;
  o["density"] = r.numCodes ? double(r.nnz) / double(r.numCodes) : 0.0;
  llvm::json::Object hist;
  for (auto &[exp, count] : r.exponentHistogram)
    hist[std::to_string(exp)] = count;
  o["exponent_histogram"] = std::move(hist);
  o["dense_bits"] = r.denseBits;
  o["bits"] = r.bits;
  o["bits_breakdown"] = llvm::json::Object{
      {"values", r.valueBits}, {"index", r.indexBits}, {"basis", r.basisBits}};
  o["compression_ratio"] = r.compressionRatio;
  o["relative_error"] = r.relativeError;
  o["mean_iterations"] = r.meanIterations;
  o["time_ms"] = r.timeMs;
  if (r.form == "permdiag") {
    o["p"] = r.blockSize;
    o["kept_energy"] = r.keptEnergy;
    o["padded_shape"] = llvm::json::Array(r.paddedShape);
  }
  return o;
}

namespace {
struct Totals {
  int64_t layers = 0, compressed = 0, denseBits = 0, bits = 0;
  int64_t compressedDenseBits = 0, compressedBits = 0;
  double timeMs = 0;
};
} // namespace

static Totals totalsOf(ArrayRef<LayerRecord> records) {
  Totals t;
  for (const LayerRecord &r : records) {
    ++t.layers;
    int64_t dense = 32;
    for (int64_t d : r.shape)
      dense *= d;
    t.denseBits += dense;
    t.timeMs += r.timeMs;
    if (r.form == "dense") {
      t.bits += dense;
      continue;
    }
    ++t.compressed;
    t.bits += r.bits;
    t.compressedDenseBits += r.denseBits;
    t.compressedBits += r.bits;
  }
  return t;
}

std::string mlir::sd::formatLayerTable(ArrayRef<LayerRecord> records) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "| # | layer | op | shape | form | blocks | density | ratio | "
        "rel. error | ms | note |\n";
  os << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const LayerRecord &r : records) {
    std::string shape;
    llvm::raw_string_ostream ss(shape);
    llvm::interleave(r.shape, ss, "x");
    os << "| " << r.index << " | " << r.name << " | " << r.op << " | " << shape
       << " | " << r.form << " | ";
    if (r.form == "dense") {
      os << "- | - | 1.00 | - | - | " << r.reason << " |\n";
      continue;
    }
    os << r.numBlocks << "x" << r.blockRows << " | "
       << llvm::formatv("{0:F3}", r.numCodes ? double(r.nnz) / r.numCodes : 0.0)
       << " | " << llvm::formatv("{0:F2}", r.compressionRatio) << " | "
       << llvm::formatv("{0:F4}", r.relativeError) << " | "
       << llvm::formatv("{0:F1}", r.timeMs) << " | ";
    if (r.form == "permdiag") {
      os << "p = " << r.blockSize << ", kept energy "
         << llvm::formatv("{0:F3}", r.keptEnergy);
      if (r.paddedShape.size() == 2 &&
          (r.paddedShape[0] != r.shape[0] || r.paddedShape[1] != r.shape[1]))
        os << ", padded to " << r.paddedShape[0] << "x" << r.paddedShape[1];
    }
    os << " |\n";
  }
  Totals t = totalsOf(records);
  os << "\n"
     << t.compressed << " of " << t.layers << " candidate layers compressed; ";
  os << llvm::formatv("{0:F2}", t.compressedBits
                                    ? double(t.compressedDenseBits) /
                                          double(t.compressedBits)
                                    : 1.0)
     << "x on the compressed layers, "
     << llvm::formatv("{0:F2}",
                      t.bits ? double(t.denseBits) / double(t.bits) : 1.0)
     << "x over all candidate layers (" << llvm::formatv("{0:F1}", t.timeMs)
     << " ms).\n";
  return s;
}

LogicalResult mlir::sd::writeLayerReport(StringRef path,
                                         ArrayRef<LayerRecord> records,
                                         std::string &error) {
  llvm::json::Array layers;
  for (const LayerRecord &r : records)
    layers.push_back(toJson(r));
  Totals t = totalsOf(records);
  llvm::json::Object root;
  root["layers"] = std::move(layers);
  root["totals"] = llvm::json::Object{
      {"candidate_layers", t.layers},
      {"compressed_layers", t.compressed},
      {"dense_bits", t.denseBits},
      {"bits", t.bits},
      {"compression_ratio",
       t.bits ? double(t.denseBits) / double(t.bits) : 1.0},
      {"compressed_layers_ratio",
       t.compressedBits ? double(t.compressedDenseBits) / t.compressedBits
                        : 1.0},
      {"time_ms", t.timeMs}};
  std::string json;
  llvm::raw_string_ostream os(json);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";

  SmallString<256> table(path);
  llvm::sys::path::replace_extension(table, ".md");
  if (table == path)
    table += ".md";
  if (failed(writeStagedOutput(path, json, error)))
    return failure();
  return writeStagedOutput(table, formatLayerTable(records), error);
}
