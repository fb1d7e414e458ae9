//===- SDAccIR.cpp - Program files to and from the sdacc dialect ----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// `--import-sdacc` reads a program file (binary or text) into an
// sdacc.program (tensors, layer table, data segments and instructions as
// ops, for the configuration `--sdacc-config` names); `--export-sdacc` and
// `--export-sdacc-text` write one back. Both directions go through the
// plain C++ reader and writer and the dialect's one Program <-> ops mapping,
// so a file survives file -> IR -> file byte for byte.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SDAcc/IR/SDAccOps.h"
#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/ISA.h"
#include "SD/Accel/ProgramFile.h"
#include "SD/Target/SDAccExport/SDAccExport.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
namespace isa = ::sd::sdacc;

static OwningOpRef<Operation *> importProgram(llvm::SourceMgr &sourceMgr,
                                              MLIRContext *ctx) {
  ctx->loadDialect<sdacc::SDAccDialect>();
  const llvm::MemoryBuffer *buffer =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  llvm::StringRef input = buffer->getBuffer();
  // Errors name the file (the text reader's also name the line).
  Location loc = FileLineColLoc::get(ctx, buffer->getBufferIdentifier(), 0, 0);
  std::string error;
  isa::Program program;
  bool ok =
      input.starts_with(isa::kProgramTextMagic)
          ? isa::readProgramText(input.str(), program, error)
          : isa::readProgramBinary(
                std::vector<uint8_t>(input.bytes_begin(), input.bytes_end()),
                program, error);
  if (!ok) {
    emitError(loc) << "cannot read the program: " << error;
    return {};
  }
  FailureOr<isa::HardwareConfig> config =
      mlir::sd::loadSDAccConfig(mlir::sd::sdaccConfigOption(), loc);
  if (failed(config))
    return {};
  OpBuilder b(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  if (failed(sdacc::buildProgramOp(b, loc, program, *config)))
    return {};
  return OwningOpRef<Operation *>(module.release());
}

static LogicalResult exportProgram(ModuleOp module, raw_ostream &os,
                                   bool asText) {
  auto progs = module.getOps<sdacc::ProgramOp>();
  if (std::distance(progs.begin(), progs.end()) != 1)
    return module.emitError("expected exactly one sdacc.program");
  sdacc::ProgramOp prog = *progs.begin();
  // The module has been verified: the configuration reads and the program
  // passes verifyProgram, so every field fits its width.
  isa::HardwareConfig config;
  if (failed(sdacc::readConfig(prog, config)))
    return failure();
  isa::Program program = sdacc::readProgram(prog, config);
  if (asText) {
    os << isa::writeProgramText(program);
    return success();
  }
  std::vector<uint8_t> bytes;
  std::string error;
  if (!isa::writeProgramBinary(program, bytes, error))
    return prog.emitError("cannot encode the program: ") << error;
  os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  return success();
}

void mlir::sd::registerSDAccIRTranslations() {
  // The configuration a program was built for: its fingerprint must match.
  (void)mlir::sd::sdaccConfigOption();
  static TranslateToMLIRRegistration import(
      "import-sdacc",
      "Read an accelerator program file (binary or text) into sdacc ops",
      [](llvm::SourceMgr &sourceMgr, MLIRContext *ctx) {
        return importProgram(sourceMgr, ctx);
      });
  auto dialects = [](DialectRegistry &registry) {
    registry.insert<sdacc::SDAccDialect>();
  };
  static TranslateFromMLIRRegistration binary(
      "export-sdacc", "Write sdacc ops as a binary program file",
      [](Operation *op, raw_ostream &os) {
        return exportProgram(cast<ModuleOp>(op), os, /*asText=*/false);
      },
      dialects);
  static TranslateFromMLIRRegistration text(
      "export-sdacc-text", "Write sdacc ops as a text program file",
      [](Operation *op, raw_ostream &os) {
        return exportProgram(cast<ModuleOp>(op), os, /*asText=*/true);
      },
      dialects);
}
