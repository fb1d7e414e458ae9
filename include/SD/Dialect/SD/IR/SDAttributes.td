//===- SDAttributes.td - sd dialect attributes -------------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDATTRIBUTES_TD
#define SD_DIALECT_SD_IR_SDATTRIBUTES_TD

include "SD/Dialect/SD/IR/SDDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def SD_ConvLayout : I32EnumAttr<"ConvLayout",
    "activation layout of a 2-D convolution", [
      I32EnumAttrCase<"nchw", 0>,
      I32EnumAttrCase<"nhwc", 1>
    ]> {
  let cppNamespace = "::mlir::sd";
  let genSpecializedAttr = 0;
}

def SD_ConvLayoutAttr : EnumAttr<SD_Dialect, SD_ConvLayout, "conv_layout"> {
  let summary = "Activation layout of sd.shift_add_conv2d";
  let description = [{
    `nchw` reads input N x C x H x W and writes N x F x Ho x Wo (as
    `linalg.conv_2d_nchw_fchw`); `nhwc` reads N x H x W x C and writes
    N x Ho x Wo x F (as `linalg.conv_2d_nhwc_fhwc`). The weight is always
    the canonical F x C x R x S tensor of the decomposed weight.
  }];
}

#endif // SD_DIALECT_SD_IR_SDATTRIBUTES_TD
