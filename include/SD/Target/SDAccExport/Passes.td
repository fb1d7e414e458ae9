//===- Passes.td - Lowering sd to the accelerator ----------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_TARGET_SDACCEXPORT_PASSES_TD
#define SD_TARGET_SDACCEXPORT_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSDToSDAccPass : Pass<"convert-sd-to-sdacc", "ModuleOp"> {
  let summary = "Lower a quantized sd function to an sdacc.program";
  let description = [{
    Replaces function `function` (a network of sd.quantized_conv2d,
    sd.quantized_matmul, sd.quantized_add, sd.quantized_max_pool2d and
    sd.quantized_avg_pool2d ops on int8 tensors, with zero tensor.pad and
    tensor.collapse_shape) by one `sdacc.program` op: the plain C++ program
    builder tiles every layer for the hardware configuration and the ops
    are created by the code `sd-translate --import-sdacc` uses, so
    `--export-sdacc` writes the same file `--sd-to-sdacc` does. With
    `schedule-report`, the per-layer schedule (loop order, tiles, bands,
    chunks, instructions, DRAM bytes against the compulsory minimum) is
    written there as JSON (`-` prints it to standard output).
  }];
  let options = [
    Option<"function", "function", "std::string", "\"main\"",
           "The function to lower">,
    Option<"configPath", "config", "std::string", "\"\"",
           "Hardware configuration JSON (default: smartdeal-default)">,
    Option<"reportPath", "schedule-report", "std::string", "\"\"",
           "Write the per-layer schedule report (JSON) to this file; - for "
           "standard output">
  ];
  let dependentDialects = ["mlir::sdacc::SDAccDialect"];
}

#endif // SD_TARGET_SDACCEXPORT_PASSES_TD
