//===- SDAccDialect.cpp - The sdacc dialect -------------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SDAcc/IR/SDAccOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sdacc;

#include "SD/Dialect/SDAcc/IR/SDAccDialect.cpp.inc"
#include "SD/Dialect/SDAcc/IR/SDAccEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "SD/Dialect/SDAcc/IR/SDAccAttributes.cpp.inc"

#define GET_OP_CLASSES
#include "SD/Dialect/SDAcc/IR/SDAcc.cpp.inc"

void SDAccDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "SD/Dialect/SDAcc/IR/SDAccAttributes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "SD/Dialect/SDAcc/IR/SDAcc.cpp.inc"
      >();
}
