//===- SDToLinalg.h - Reference lowering of sd to linalg --------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_CONVERSION_SDTOLINALG_SDTOLINALG_H
#define SD_CONVERSION_SDTOLINALG_SDTOLINALG_H

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace sd {

#define GEN_PASS_DECL_CONVERTSDTOLINALGPASS
#include "SD/Conversion/Passes.h.inc"

/// Adds the patterns that rewrite sd compute ops and `sd.rebuild` into
/// linalg on densely rebuilt weights.
void populateSDToLinalgPatterns(RewritePatternSet &patterns);

/// Builds the dense tensor a compressed weight stands for, from the
/// constant op that defines it. Fails (with a diagnostic) when the weight is
/// not defined by a constant op.
FailureOr<Value> buildDenseWeight(OpBuilder &builder, Location loc,
                                  Value weight);

/// Adds `bias` (1-D) along dimension `channelDim` of `value`.
Value addChannelBias(OpBuilder &builder, Location loc, Value value, Value bias,
                     unsigned channelDim);

} // namespace sd
} // namespace mlir

#endif // SD_CONVERSION_SDTOLINALG_SDTOLINALG_H
