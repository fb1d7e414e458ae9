//===- PlanFuzzer.cpp - libFuzzer target: the plan-file parser ------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Any bytes as a plan file (include/SD/Compression/Plan.h), the one format
// sd-decompose and sd-permdiag read: the parser must accept or reject with
// an error, never crash, and an accepted plan must apply its settings to
// the decomposition options and answer per-layer look-ups without faults.
// The decomposition options the plan sets are then verified the way the
// passes verify them, so a plan can never hand the library an unchecked
// value.
//
//===----------------------------------------------------------------------===//

#include "SD/Compression/Plan.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace comp = sd::compression;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  comp::Plan plan;
  std::string error;
  if (!comp::parsePlan(text, "fuzz.json", plan, error)) {
    // A rejected plan always says why.
    if (error.empty())
      __builtin_trap();
    return 0;
  }
  comp::DecomposeOptions opts;
  plan.defaults.applyTo(opts);
  (void)opts.verify();
  std::vector<bool> used(plan.layers.size(), false);
  for (int64_t index = 0; index < 4; ++index)
    (void)plan.settingsFor("fc" + std::to_string(index), index, used);
  return 0;
}
