//===- Passes.h - Lowering sd to the accelerator ----------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_TARGET_SDACCEXPORT_PASSES_H
#define SD_TARGET_SDACCEXPORT_PASSES_H

#include "SD/Dialect/SDAcc/IR/SDAccOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::sd {

#define GEN_PASS_DECL
#include "SD/Target/SDAccExport/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "SD/Target/SDAccExport/Passes.h.inc"

} // namespace mlir::sd

#endif // SD_TARGET_SDACCEXPORT_PASSES_H
