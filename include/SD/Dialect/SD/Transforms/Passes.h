//===- Passes.h - sd dialect passes -----------------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_TRANSFORMS_PASSES_H
#define SD_DIALECT_SD_TRANSFORMS_PASSES_H

#include "SD/Dialect/SD/IR/SDDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace mlir::sd {

#define GEN_PASS_DECL
#include "SD/Dialect/SD/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "SD/Dialect/SD/Transforms/Passes.h.inc"

/// The report file `sd-decompose` writes when its own `report` option is
/// empty; sd-opt sets it from `--sd-report=FILE`.
void setDefaultDecomposeReport(const std::string &path);

} // namespace mlir::sd

#endif // SD_DIALECT_SD_TRANSFORMS_PASSES_H
