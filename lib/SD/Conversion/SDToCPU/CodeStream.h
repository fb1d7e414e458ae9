//===- CodeStream.h - Ce codes stored as an entry bitmap plus values ------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_CONVERSION_SDTOCPU_CODESTREAM_H
#define SD_CONVERSION_SDTOCPU_CODESTREAM_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::sd {

/// The layout of a SmartExchange weight's code planes: `groups` planes of
/// `rows` entries, padded to `paddedRows`; with `nibbles`, byte (r/16)*8 +
/// r%8 of a plane holds row r in its low (r%16 < 8) or high nibble, else byte
/// r holds row r.
struct CodePlaneLayout {
  int64_t groups;
  int64_t rows;
  int64_t paddedRows;
  bool nibbles;
};

/// The code planes `planes` (of `type`, laid out as `layout`) as a value:
/// stored as an entry bitmap plus ceil(log2 D)-bit indices of the non-zero
/// codes into a table of the D distinct ones (the storage rule the
/// decomposition report counts) and decoded by the first call into a
/// buffer of `module` that later calls read, when `module` is given and
/// the stream is smaller than the planes; otherwise the planes as a
/// constant.
Value materializeCodePlanes(ImplicitLocOpBuilder &b, RankedTensorType type,
                            ArrayRef<int8_t> planes,
                            const CodePlaneLayout &layout, StringRef name,
                            ModuleOp module);

} // namespace mlir::sd

#endif // SD_CONVERSION_SDTOCPU_CODESTREAM_H
