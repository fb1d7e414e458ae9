//===- SDOps.h - sd dialect operations --------------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDOPS_H
#define SD_DIALECT_SD_IR_SDOPS_H

#include "SD/Dialect/SD/IR/SDAttributes.h"
#include "SD/Dialect/SD/IR/SDDialect.h"
#include "SD/Dialect/SD/IR/SDTypes.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "SD/Dialect/SD/IR/SD.h.inc"

#endif // SD_DIALECT_SD_IR_SDOPS_H
