//===- LayerReport.h - Per-layer compression report -------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// What the compression passes record per layer, written as JSON (for tools)
// and as a Markdown table (for people).
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_TRANSFORMS_LAYERREPORT_H
#define SD_DIALECT_SD_TRANSFORMS_LAYERREPORT_H

#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mlir::sd {

/// One candidate layer, compressed or left dense.
struct LayerRecord {
  int64_t index = 0;
  std::string name;
  std::string op;   ///< The linalg op it came from.
  std::string form; ///< "se", "permdiag" or "dense".
  std::vector<int64_t> shape;
  std::string reason; ///< Why it stayed dense (form == "dense").

  // SmartExchange results.
  int64_t numBlocks = 0, blockRows = 0;
  int64_t nnz = 0, numCodes = 0;
  std::map<int, int64_t> exponentHistogram;
  int64_t denseBits = 0, bits = 0;
  int64_t valueBits = 0, indexBits = 0, basisBits = 0;
  double compressionRatio = 1.0;
  double relativeError = 0.0;
  double meanIterations = 0.0;
  double timeMs = 0.0;

  // PermDNN results (form == "permdiag").
  int64_t blockSize = 0;            ///< p.
  double keptEnergy = 0.0;          ///< ||projection||^2 / ||W||^2.
  std::vector<int64_t> paddedShape; ///< [M, N] rounded up to multiples of p.
  /// The settings used (after per-layer overrides), as key/value text.
  std::vector<std::pair<std::string, std::string>> settings;
};

/// Writes `records` to `path` as JSON and a Markdown table to `path` with
/// its extension replaced by `.md`, as staged outputs (StagedOutputs.h): a
/// failure, here or in a later pass of the same run, leaves no report.
LogicalResult writeLayerReport(StringRef path, ArrayRef<LayerRecord> records,
                               std::string &error);

/// The Markdown table alone.
std::string formatLayerTable(ArrayRef<LayerRecord> records);

} // namespace mlir::sd

#endif // SD_DIALECT_SD_TRANSFORMS_LAYERREPORT_H
