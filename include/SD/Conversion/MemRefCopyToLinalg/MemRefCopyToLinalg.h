//===- MemRefCopyToLinalg.h - memref.copy as linalg.copy --------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_CONVERSION_MEMREFCOPYTOLINALG_MEMREFCOPYTOLINALG_H
#define SD_CONVERSION_MEMREFCOPYTOLINALG_MEMREFCOPYTOLINALG_H

#include "mlir/Pass/Pass.h"

namespace mlir::sd {

#define GEN_PASS_DECL_CONVERTMEMREFCOPYTOLINALGPASS
#include "SD/Conversion/Passes.h.inc"

} // namespace mlir::sd

#endif // SD_CONVERSION_MEMREFCOPYTOLINALG_MEMREFCOPYTOLINALG_H
