//===- sd-isa-tblgen.cpp - ODS for the sdacc dialect from the ISA ---------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Prints the generated part of the sdacc dialect's ODS from the same
// descriptions (Instructions.def, ProgramFile.def) the encoder, decoder,
// verifier, program files and simulator use, so the dialect can never
// disagree with them: one enum attribute per enumeration (DMA kinds, weight
// formats, tensor roles, layer kinds), the layer-table entry op with one
// attribute per layer field, and one op per instruction with one attribute
// per field. The build runs it and feeds the output to mlir-tblgen.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/ISA.h"
#include "SD/Accel/Program.h"

#include <cstdio>
#include <string>
#include <vector>

using namespace sd::sdacc;

static std::string camel(const std::string &mnemonic) {
  std::string out;
  bool upper = true;
  for (char c : mnemonic) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out.push_back(upper ? char(std::toupper(c)) : c);
    upper = false;
  }
  return out;
}

namespace {
struct EnumCase {
  const char *cpp;
  const char *name;
  int value;
  const char *meaning;
};
} // namespace

/// An I32 enumeration and its dialect attribute `#sdacc.<mnemonic><case>`.
static void printEnum(const char *cpp, const char *mnemonic,
                      const char *summary, const std::vector<EnumCase> &cases) {
  std::printf("def SDAcc_%s : I32EnumAttr<\"%s\", \"%s\", [\n", cpp, cpp,
              summary);
  for (size_t i = 0; i < cases.size(); ++i)
    std::printf("    I32EnumAttrCase<\"%s\", %d, \"%s\">%s  // %s\n",
                cases[i].cpp, cases[i].value, cases[i].name,
                i + 1 < cases.size() ? "," : "", cases[i].meaning);
  std::printf("  ]> {\n  let cppNamespace = \"::mlir::sdacc\";\n"
              "  let genSpecializedAttr = 0;\n}\n");
  std::printf(
      "def SDAcc_%sAttr : EnumAttr<SDAcc_Dialect, SDAcc_%s, \"%s\">;\n\n", cpp,
      cpp, mnemonic);
}

static void printEnums() {
  int value = 0;
  printEnum("DmaKind", "dma_kind", "what a DMA load moves",
            {
#define SDACC_DMA_KIND(Name, name, Buffer, meaning)                            \
  {#Name, name, value++, meaning},
#include "SD/Accel/Instructions.def"
            });
  value = 0;
  printEnum("WeightFormat", "weight_format", "a layer's weight format",
            {
#define SDACC_WEIGHT_FORMAT(Name, name, meaning)                               \
  {#Name, name, value++, meaning},
#include "SD/Accel/Instructions.def"
            });
  printEnum("TensorRole", "tensor_role", "how a program uses a tensor",
            {
#define SDACC_TENSOR_ROLE(Name, name, value, meaning)                          \
  {#Name, name, value, meaning},
#include "SD/Accel/ProgramFile.def"
            });
  printEnum("LayerKind", "layer_kind", "the kind of a layer",
            {
#define SDACC_LAYER_KIND(Name, name, value, meaning)                           \
  {#Name, name, value, meaning},
#include "SD/Accel/ProgramFile.def"
            });
}

/// The layer-table entry: tensors by name, kinds and formats by enum.
static void printLayerDecl() {
  std::printf(
      "def SDAcc_LayerDeclOp : SDAcc_Op<\"layer_decl\", "
      "[HasParent<\"ProgramOp\">]> {\n"
      "  let summary = \"An entry of the program's layer table\";\n"
      "  let description = [{\n"
      "    Metadata of one layer (reports, the dense baseline and the checks "
      "of\n    the data segments), in the program's layer table in the order "
      "of\n    these ops. Tensors are named; `input2` is present only when it "
      "names\n    a tensor (the second operand of an add).\n\n");
  for (const LayerFieldDesc &f : layerFieldTable())
    std::printf("    * `%s`: %s\n", f.name, f.meaning);
  std::printf("  }];\n  let arguments = (ins\n    StrAttr:$name");
  for (const LayerFieldDesc &f : layerFieldTable()) {
    const char *type = "I64Attr";
    switch (f.type) {
    case LayerFieldType::Integer:
      break;
    case LayerFieldType::LayerKind:
      type = "SDAcc_LayerKindAttr";
      break;
    case LayerFieldType::WeightFormat:
      type = "SDAcc_WeightFormatAttr";
      break;
    case LayerFieldType::Tensor:
      type = "StrAttr";
      break;
    case LayerFieldType::SecondTensor:
      type = "OptionalAttr<StrAttr>";
      break;
    }
    std::printf(",\n    %s:$%s", type, f.name);
  }
  std::printf("\n  );\n  let assemblyFormat = \"$name attr-dict\";\n}\n\n");
}

static const char *fieldAttr(FieldType type) {
  switch (type) {
  case FieldType::Unsigned:
  case FieldType::Signed:
    return "I64Attr";
  case FieldType::Bool:
    return "BoolAttr";
  case FieldType::DmaKind:
    return "SDAcc_DmaKindAttr";
  case FieldType::WeightFormat:
    return "SDAcc_WeightFormatAttr";
  }
  return "I64Attr";
}

static void printInstructions() {
  for (const InstrDesc &d : instructionTable()) {
    std::string name = camel(d.mnemonic);
    std::printf("def SDAcc_%sOp : SDAcc_InstructionOp<\"%s\"> {\n",
                name.c_str(), d.mnemonic);
    std::printf("  let summary = \"The `%s` instruction (opcode 0x%02x, "
                "unit %s)\";\n",
                d.mnemonic, unsigned(d.opcode), unitName(d.unit));
    std::printf("  let description = [{\n    %s\n\n", d.summary);
    for (const FieldDesc &f : d.fields)
      std::printf("    * `%s` (%u bits, %s): %s\n", f.name, f.bits,
                  fieldTypeName(f.type), f.meaning);
    std::printf("  }];\n  let arguments = (ins");
    for (size_t i = 0; i < d.fields.size(); ++i)
      std::printf("%s\n    %s:$%s", i ? "," : "", fieldAttr(d.fields[i].type),
                  d.fields[i].name);
    std::printf("\n  );\n}\n\n");
  }
}

int main() {
  std::printf("// Generated by sd-isa-tblgen from Instructions.def and "
              "ProgramFile.def: do not edit.\n\n");
  printEnums();
  printLayerDecl();
  printInstructions();
  return 0;
}
