//===- IRFuzzer.cpp - libFuzzer target: sd IR parser and verifiers --------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Any bytes as MLIR text with every dialect sd-opt knows: the parser and
// the sd type, attribute and op verifiers must reject bad input with a
// diagnostic, never crash, allocate without bound or overflow. Accepted
// modules are printed and parsed back, which must succeed (what the tools
// print, they read).
//
//===----------------------------------------------------------------------===//

#include "SD/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    sd::registerAllDialects(*r);
    return r;
  }();
  // A fresh context per input: uniqued types and attributes do not pile up
  // over millions of runs.
  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  context.allowUnregisteredDialects(false);
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
  if (!module)
    return 0;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os, OpPrintingFlags().printGenericOpForm());
  if (!parseSourceString<ModuleOp>(printed, &context))
    std::abort();
  return 0;
}
