//===- Passes.h - sd conversion passes --------------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_CONVERSION_PASSES_H
#define SD_CONVERSION_PASSES_H

#include "SD/Conversion/MemRefCopyToLinalg/MemRefCopyToLinalg.h"
#include "SD/Conversion/SDToCPU/SDToCPU.h"
#include "SD/Conversion/SDToLinalg/SDToLinalg.h"

namespace mlir::sd {

#define GEN_PASS_REGISTRATION
#include "SD/Conversion/Passes.h.inc"

} // namespace mlir::sd

#endif // SD_CONVERSION_PASSES_H
