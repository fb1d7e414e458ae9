//===- SDDialect.td - The sd dialect definition ------------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDDIALECT_TD
#define SD_DIALECT_SD_IR_SDDIALECT_TD

include "mlir/IR/OpBase.td"

def SD_Dialect : Dialect {
  let name = "sd";
  let cppNamespace = "::mlir::sd";
  let summary = "Compressed weights (SmartExchange, PermDNN) and the ops that "
                "compute with them";
  let description = [{
    The `sd` dialect represents neural-network weights in compressed form and
    the compute ops that consume them without a dense copy:

    * a SmartExchange weight `W ~ Ce * B` (`!sd.se`, built by
      `sd.se_constant`): a tall coefficient matrix Ce whose entries are zero
      or `+-2^p`, stored as small integer codes, and one dense 3x3 basis B
      per block of at most 192 rows;
    * a PermDNN weight (`!sd.permdiag`, built by `sd.permdiag_constant`):
      p x p blocks that are each a permuted diagonal matrix;
    * destination-style compute ops: `sd.shift_add_matmul`,
      `sd.shift_add_conv2d` and `sd.permdiag_matmul`;
    * `sd.rebuild`, which materializes the dense weight and is the reference
      semantics of every other op: each compute op means exactly the linalg
      op on its rebuilt weight.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
  let extraClassDeclaration = [{
    void registerTypes();
  }];
}

class SD_Op<string mnemonic, list<Trait> traits = []>
    : Op<SD_Dialect, mnemonic, traits>;

#endif // SD_DIALECT_SD_IR_SDDIALECT_TD
