//===- SDToCPU.h - Lower sd ops to vectorized CPU kernels -------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_CONVERSION_SDTOCPU_SDTOCPU_H
#define SD_CONVERSION_SDTOCPU_SDTOCPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace sd {

#define GEN_PASS_DECL_CONVERTSDTOCPUPASS
#include "SD/Conversion/Passes.h.inc"

/// Adds the patterns that lower sd compute ops to tiled, vectorized kernels
/// that keep the weights compressed (Ce codes and B) and rebuild only one
/// tile of `tileRows` weight rows at a time, and the permuted-diagonal
/// kernel, which reads each block's values once per `permdiagRows` input rows.
void populateSDToCPUPatterns(RewritePatternSet &patterns, int64_t tileRows,
                             int64_t permdiagRows = 8, bool codeStream = true);

} // namespace sd
} // namespace mlir

#endif // SD_CONVERSION_SDTOCPU_SDTOCPU_H
