//===- SDDialect.cpp - The sd dialect -------------------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/IR/SDDialect.h"
#include "SD/Dialect/SD/IR/SDAttributes.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/IR/SDTypes.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sd;

#include "SD/Dialect/SD/IR/SDDialect.cpp.inc"
#include "SD/Dialect/SD/IR/SDEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "SD/Dialect/SD/IR/SDAttributes.cpp.inc"

void SDDialect::initialize() {
  registerTypes();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "SD/Dialect/SD/IR/SDAttributes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "SD/Dialect/SD/IR/SD.cpp.inc"
      >();
}
