//===- ConvertSDToSDAcc.cpp - Quantized sd functions to sdacc.program -----===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The in-MLIR form of `sd-translate --sd-to-sdacc`: the same exporter feeds
// the plain C++ program builder, and the program becomes an sdacc.program
// through the same code the importer uses, so there is one lowering and one
// program-to-ops path.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/StagedOutputs.h"
#include "SD/Target/SDAccExport/Passes.h"
#include "SD/Target/SDAccExport/SDAccExport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::sd {
#define GEN_PASS_DEF_CONVERTSDTOSDACCPASS
#include "SD/Target/SDAccExport/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
namespace isa = ::sd::sdacc;

namespace {
struct ConvertSDToSDAccPass
    : mlir::sd::impl::ConvertSDToSDAccPassBase<ConvertSDToSDAccPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(function);
    if (!func || func.isExternal()) {
      module.emitError("no function @") << function << " to lower";
      return signalPassFailure();
    }
    FailureOr<isa::HardwareConfig> config =
        mlir::sd::loadSDAccConfig(configPath, module.getLoc());
    if (failed(config))
      return signalPassFailure();
    isa::Program program;
    std::vector<isa::LayerSchedule> schedules;
    if (failed(mlir::sd::buildSDAccProgram(func, *config, program, &schedules)))
      return signalPassFailure();
    if (!reportPath.empty() && failed(writeReport(schedules)))
      return signalPassFailure();
    OpBuilder b(func);
    if (failed(sdacc::buildProgramOp(b, func.getLoc(), program, *config)))
      return signalPassFailure();
    func.erase();
  }

  LogicalResult writeReport(const std::vector<isa::LayerSchedule> &schedules) {
    std::string text = isa::scheduleReportJson(schedules).write() + "\n";
    if (reportPath == "-") {
      llvm::outs() << text;
      return success();
    }
    std::string error;
    if (failed(mlir::sd::writeStagedOutput(reportPath, text, error)))
      return getOperation().emitError("cannot write the schedule report: ")
             << error;
    return success();
  }
};
} // namespace
