//===- Plan.h - Per-layer compression plans ---------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The one plan format and its one parser. A plan file is JSON
// (docs/Driver.md):
//
//   {"defaults": {"threshold": 1e-3, "min-size": 1024},
//    "layers": {"fc1": {"form": "permdiag", "p": 8},
//               "conv1": {"form": "se", "min-exp": -5, "max-exp": 2},
//               "0": {"skip": true}}}
//
// `layers` maps a layer name (or its index among the candidate layers) to its
// settings; `defaults` applies to every layer. `--sd-decompose` and
// `--sd-permdiag` read it through their `plan=FILE` option; the Python driver
// writes it. Every key, type and range is checked here, once.
//
//===----------------------------------------------------------------------===//

#ifndef SD_COMPRESSION_PLAN_H
#define SD_COMPRESSION_PLAN_H

#include "SD/Compression/Decompose.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd::compression {

/// One layer's settings (or the defaults); unset fields keep what the pass
/// would use without a plan.
struct PlanSettings {
  /// se (sd-decompose), permdiag (sd-permdiag), int (quantized by the
  /// driver before the import) or dense.
  std::optional<std::string> form;
  std::optional<bool> skip;
  // SmartExchange, sd-decompose's options of the same names.
  std::optional<double> threshold;
  std::optional<int64_t> iterations;
  std::optional<int64_t> minExp;
  std::optional<int64_t> maxExp;
  std::optional<int64_t> blockRows;
  std::optional<double> structuredFraction;
  std::optional<bool> rowThreshold;
  std::optional<bool> columnScale;
  /// Layers with fewer values stay dense (defaults only).
  std::optional<int64_t> minSize;
  /// Permuted-diagonal block size.
  std::optional<int64_t> p;
  /// int-k: bits and rounding ("nearest" or "data").
  std::optional<int64_t> bits;
  std::optional<std::string> rounding;

  /// These settings over `base` (set fields win).
  PlanSettings over(const PlanSettings &base) const;
  /// `options` with the SmartExchange settings that are set.
  void applyTo(DecomposeOptions &options) const;
};

/// One `layers` entry.
struct PlanEntry {
  /// A layer name, or the decimal index of a candidate layer.
  std::string selector;
  PlanSettings settings;
};

struct Plan {
  PlanSettings defaults;
  /// Entries by index first, then by name, each group in key order: a
  /// layer's name entry is applied after its index entry.
  std::vector<PlanEntry> layers;

  /// The settings of candidate layer `index` named `name`: the defaults,
  /// then every matching entry; sets used[i] for each entry i that matches.
  PlanSettings settingsFor(std::string_view name, int64_t index,
                           std::vector<bool> &used) const;
};

/// Parses the plan in `text`. On failure returns false and sets `error` to
/// `file: where: what` (where is a line:column for malformed JSON, else the
/// JSON path of the offending value, e.g. layers.fc1.threshold).
bool parsePlan(std::string_view text, std::string_view file, Plan &plan,
               std::string &error);

/// Reads and parses the plan file at `path`.
bool readPlan(const std::string &path, Plan &plan, std::string &error);

} // namespace sd::compression

#endif // SD_COMPRESSION_PLAN_H
