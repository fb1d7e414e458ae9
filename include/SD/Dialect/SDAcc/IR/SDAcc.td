//===- SDAcc.td - The sdacc dialect: one op per instruction -*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SDACC_IR_SDACC_TD
#define SD_DIALECT_SDACC_IR_SDACC_TD

include "mlir/IR/OpBase.td"

def SDAcc_Dialect : Dialect {
  let name = "sdacc";
  let cppNamespace = "::mlir::sdacc";
  let summary = "Instructions of the modeled SmartDeal accelerator";
  let description = [{
    One op per instruction of the accelerator's ISA, inside an
    `sdacc.program`. The ops and their fields are generated from
    `include/SD/Accel/Instructions.def`, the description the encoder,
    decoder, simulator and `sd-isa-doc` also read, and every op is verified
    by the same C++ range checks against the hardware configuration.
    `sd-translate --import-sdacc` reads program files (binary or text) into
    this dialect and `--export-sdacc` / `--export-sdacc-text` write them back.
  }];
}

class SDAcc_Op<string mnemonic, list<Trait> traits = []>
    : Op<SDAcc_Dialect, mnemonic, traits>;

/// An instruction: integer fields as attributes, checked by the ISA's own
/// verifier (verifyInstruction) in the op verifier.
class SDAcc_InstructionOp<string mnemonic>
    : SDAcc_Op<mnemonic, [HasParent<"ProgramOp">]> {
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::verify() {
      return ::mlir::sdacc::verifyInstructionOp(getOperation());
    }
  }];
}

def SDAcc_ProgramOp : SDAcc_Op<"program", [NoTerminator, SingleBlock,
                                           IsolatedFromAbove]> {
  let summary = "An accelerator program: its data and its instructions";
  let description = [{
    Holds the instruction stream as ops in its region. `fingerprint` is the
    hardware configuration's fingerprint (hex); `data` keeps the program's
    tensor declarations, layer tables and data segments in their text form
    (docs/Accelerator-ISA.md), which the file writers read back.

    ```mlir
    sdacc.program {fingerprint = "0x45e3a8989483b600", data = "tensor ..."} {
      sdacc.layer {layer = 0 : i64}
      sdacc.sync {...}
    }
    ```
  }];
  let arguments = (ins StrAttr:$fingerprint, StrAttr:$data);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
}

include "SD/Dialect/SDAcc/IR/SDAccInstructions.td"

#endif // SD_DIALECT_SDACC_IR_SDACC_TD
