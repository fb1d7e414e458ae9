//===- SDAttributes.h - sd dialect attributes -------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDATTRIBUTES_H
#define SD_DIALECT_SD_IR_SDATTRIBUTES_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "SD/Dialect/SD/IR/SDEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "SD/Dialect/SD/IR/SDAttributes.h.inc"

#endif // SD_DIALECT_SD_IR_SDATTRIBUTES_H
