//===- Passes.h - Dialect-independent sd passes -----------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_TRANSFORMS_PASSES_H
#define SD_TRANSFORMS_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::sd {

#define GEN_PASS_DECL
#include "SD/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "SD/Transforms/Passes.h.inc"

} // namespace mlir::sd

#endif // SD_TRANSFORMS_PASSES_H
