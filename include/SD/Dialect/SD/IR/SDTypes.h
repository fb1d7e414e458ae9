//===- SDTypes.h - sd dialect types -----------------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDTYPES_H
#define SD_DIALECT_SD_IR_SDTYPES_H

#include "SD/Compression/Codes.h"
#include "SD/Compression/Layout.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "SD/Dialect/SD/IR/SDTypes.h.inc"

#endif // SD_DIALECT_SD_IR_SDTYPES_H
