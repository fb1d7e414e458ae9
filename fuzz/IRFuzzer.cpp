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
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <memory>
#include <string>

using namespace mlir;

namespace {
/// Inputs one context serves before it is replaced: creating a context and
/// loading every dialect took most of each execution, while a context kept
/// forever piles up uniqued types, attributes and resource blobs.
constexpr int kInputsPerContext = 1000;
} // namespace

/// Inputs that reach two known MLIR 22 parser crashes (docs/Testing.md,
/// "Upstream MLIR bugs"; XFAIL tests under test/Dialect/SD/IR/upstream-*)
/// are skipped, so the fuzzer looks for faults in our code:
/// - linalg.transpose, linalg.broadcast and linalg.reduce store the null
///   attribute a failed DenseI64ArrayAttr::parse returns, and
///   NamedAttrList::set dereferences it;
/// - `array<index ...>` (or an alias, `array<!t ...>`) asks an index type
///   for its bit width in Parser::parseDenseArrayAttr.
constexpr llvm::StringLiteral kKnownCrashingOps[] = {
    "linalg.transpose", "linalg.broadcast", "linalg.reduce"};

/// Drops what MLIR's lexer skips between tokens: whitespace, NUL bytes
/// and `//` comments.
static llvm::StringRef skipTrivia(llvm::StringRef text) {
  while (true) {
    text = text.ltrim(llvm::StringRef(" \t\n\r\0", 5));
    if (!text.starts_with("//"))
      return text;
    size_t eol = text.find_first_of("\n\r");
    text = eol == llvm::StringRef::npos ? llvm::StringRef() : text.drop_front(eol);
  }
}

static bool reachesKnownMLIRCrash(llvm::StringRef input) {
  for (llvm::StringLiteral op : kKnownCrashingOps)
    if (input.contains(op))
      return true;
  for (size_t at = input.find("array"); at != llvm::StringRef::npos;
       at = input.find("array", at + 1)) {
    llvm::StringRef rest = skipTrivia(input.drop_front(at + 5));
    if (!rest.consume_front("<"))
      continue;
    rest = skipTrivia(rest);
    if (rest.starts_with("index") || rest.starts_with("!"))
      return true;
  }
  return false;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef input(reinterpret_cast<const char *>(data), size);
  if (reachesKnownMLIRCrash(input))
    return 0;
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    sd::registerAllDialects(*r);
    return r;
  }();
  static std::unique_ptr<MLIRContext> context;
  static int served = 0;
  if (!context || ++served == kInputsPerContext) {
    context = std::make_unique<MLIRContext>(*registry,
                                            MLIRContext::Threading::DISABLED);
    context->loadAllAvailableDialects();
    served = 0;
  }
  ScopedDiagnosticHandler quiet(context.get(),
                                [](Diagnostic &) { return success(); });
  // The bytes go to the parser NUL-terminated, as a file would, and
  // followed by one byte that lexes as an error token. MLIR's parser (22,
  // and upstream at the time of writing) consumes the value token of a
  // `dialect_resources` / `external_resources` entry without checking that
  // it is not the end of the file or a lexer error; the lexer then resumes
  // one byte past the terminating NUL and reads on, skipping NULs, until it
  // finds a token or faults (docs/Testing.md, "Upstream MLIR bugs"). The
  // guard byte stops it there; every other path ends at the NUL.
  std::string buffer(input);
  buffer.append("\0\x01", 2);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(
      llvm::StringRef(buffer.data(), size), context.get());
  if (!module)
    return 0;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os, OpPrintingFlags().printGenericOpForm());
  if (!parseSourceString<ModuleOp>(printed, context.get()))
    std::abort();
  return 0;
}
