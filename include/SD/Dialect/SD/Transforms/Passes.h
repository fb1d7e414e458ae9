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

namespace mlir::sd {

#define GEN_PASS_DECL
#include "SD/Dialect/SD/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "SD/Dialect/SD/Transforms/Passes.h.inc"

} // namespace mlir::sd

#endif // SD_DIALECT_SD_TRANSFORMS_PASSES_H
