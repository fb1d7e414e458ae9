//===- Passes.h - The pipelines' contract check -----------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_PIPELINES_PASSES_H
#define SD_PIPELINES_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::sd {

#define GEN_PASS_DECL
#include "SD/Pipelines/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "SD/Pipelines/Passes.h.inc"

} // namespace mlir::sd

#endif // SD_PIPELINES_PASSES_H
