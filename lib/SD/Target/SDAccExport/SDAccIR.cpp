//===- SDAccIR.cpp - Program files to and from the sdacc dialect ----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// `--import-sdacc` reads a program file (binary or text) into an
// sdacc.program whose ops are its instructions; `--export-sdacc` and
// `--export-sdacc-text` write one back. Both directions go through the
// plain C++ reader and writer, so the dialect and the files share one format.
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
#include "llvm/Support/Format.h"

using namespace mlir;
namespace isa = ::sd::sdacc;

static constexpr llvm::StringLiteral kInstructionsRecord =
    "instructions count=";

sdacc::ProgramOp mlir::sd::buildSDAccProgramOp(OpBuilder &b, Location loc,
                                               const isa::Program &program) {
  b.getContext()->loadDialect<sdacc::SDAccDialect>();
  // Everything but the instructions stays in its text form.
  isa::Program data = program;
  data.instructions.clear();
  std::string text = isa::writeProgramText(data);
  text = text.substr(0, text.find(kInstructionsRecord.str()));
  OpBuilder::InsertionGuard guard(b);
  std::string fingerprint;
  llvm::raw_string_ostream(fingerprint)
      << llvm::format_hex(program.fingerprint, 18);
  auto prog = sdacc::ProgramOp::create(b, loc, fingerprint, text);
  Block *body = b.createBlock(&prog.getBody());
  b.setInsertionPointToEnd(body);
  for (const isa::Instruction &inst : program.instructions) {
    const isa::InstrDesc *desc = isa::findInstruction(unsigned(inst.opcode));
    OperationState state(loc, (llvm::Twine("sdacc.") + desc->mnemonic).str());
    for (auto [i, field] : llvm::enumerate(desc->fields))
      state.addAttribute(field.name, b.getI64IntegerAttr(inst.fields[i]));
    b.create(state);
  }
  return prog;
}

static OwningOpRef<Operation *> importProgram(llvm::StringRef input,
                                              MLIRContext *ctx) {
  ctx->loadDialect<sdacc::SDAccDialect>();
  Location loc = FileLineColLoc::get(ctx, "<program>", 0, 0);
  std::string error;
  isa::Program program;
  bool ok =
      input.starts_with("sdacc-program")
          ? isa::readProgramText(input.str(), program, error)
          : isa::readProgramBinary(
                std::vector<uint8_t>(input.bytes_begin(), input.bytes_end()),
                program, error);
  if (!ok) {
    emitError(loc) << "cannot read the program: " << error;
    return {};
  }
  OpBuilder b(ctx);
  auto module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module.getBody());
  mlir::sd::buildSDAccProgramOp(b, loc, program);
  return OwningOpRef<Operation *>(module);
}

static LogicalResult exportProgram(ModuleOp module, raw_ostream &os,
                                   bool asText) {
  auto progs = module.getOps<sdacc::ProgramOp>();
  if (std::distance(progs.begin(), progs.end()) != 1)
    return module.emitError("expected exactly one sdacc.program");
  sdacc::ProgramOp prog = *progs.begin();
  std::string text = prog.getData().str();
  size_t count = 0;
  std::string lines;
  for (Operation &op : prog.getBody().front()) {
    const isa::InstrDesc *desc =
        isa::findInstruction(op.getName().stripDialect().str());
    if (!desc)
      return op.emitError("is not an accelerator instruction");
    isa::Instruction inst;
    inst.opcode = desc->opcode;
    for (auto [i, field] : llvm::enumerate(desc->fields))
      inst.fields[i] =
          op.getAttrOfType<IntegerAttr>(field.name).getValue().getSExtValue();
    lines += "  " + isa::printInstruction(inst) + "\n";
    ++count;
  }
  text += kInstructionsRecord.str() + std::to_string(count) + "\n" + lines +
          "end\n";
  std::string error;
  isa::Program program;
  if (!isa::readProgramText(text, program, error))
    return prog.emitError("the program is not well formed: ") << error;
  if (asText) {
    os << isa::writeProgramText(program);
    return success();
  }
  std::vector<uint8_t> bytes;
  if (!isa::writeProgramBinary(program, bytes, error))
    return prog.emitError("cannot encode the program: ") << error;
  os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  return success();
}

void mlir::sd::registerSDAccIRTranslations() {
  static TranslateToMLIRRegistration import(
      "import-sdacc",
      "Read an accelerator program file (binary or text) into sdacc ops",
      [](llvm::StringRef input, MLIRContext *ctx) {
        return importProgram(input, ctx);
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
