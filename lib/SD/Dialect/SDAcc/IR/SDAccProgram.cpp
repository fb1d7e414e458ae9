//===- SDAccProgram.cpp - Programs to and from sdacc ops ------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The one mapping between the plain C++ Program (what program files hold)
// and an sdacc.program: tensors, layer-table entries, data segments and
// instructions become ops in file order, enumerations become the enum
// attributes generated from the same tables, and the hardware configuration
// travels as a dictionary in the JSON file's schema. The importer, the
// exporter, the sd-to-sdacc pass and the verifier all go through it, so a
// program survives file -> IR -> file byte for byte.
//
//===----------------------------------------------------------------------===//

#include "SD/Accel/ISA.h"
#include "SD/Accel/Json.h"
#include "SD/Accel/ProgramFile.h"
#include "SD/Dialect/SDAcc/IR/SDAccOps.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::sdacc;
namespace hw = ::sd::sdacc;

//===----------------------------------------------------------------------===//
// The configuration attribute
//===----------------------------------------------------------------------===//

static Attribute jsonToAttr(MLIRContext *ctx, const hw::JsonValue &v) {
  Builder b(ctx);
  int64_t integer = 0;
  switch (v.kind()) {
  case hw::JsonValue::Kind::Null:
    return UnitAttr::get(ctx);
  case hw::JsonValue::Kind::Bool:
    return b.getBoolAttr(v.asBool());
  case hw::JsonValue::Kind::Number:
    if (v.asInteger(integer))
      return b.getI64IntegerAttr(integer);
    return b.getF64FloatAttr(v.asNumber());
  case hw::JsonValue::Kind::String:
    return b.getStringAttr(v.asString());
  case hw::JsonValue::Kind::Array: {
    SmallVector<Attribute> elements;
    for (const hw::JsonValue &e : v.elements())
      elements.push_back(jsonToAttr(ctx, e));
    return b.getArrayAttr(elements);
  }
  case hw::JsonValue::Kind::Object: {
    SmallVector<NamedAttribute> members;
    for (const auto &[key, value] : v.members())
      members.push_back(b.getNamedAttr(key, jsonToAttr(ctx, value)));
    return b.getDictionaryAttr(members);
  }
  }
  return {};
}

/// The JSON value of `attr`, or failure naming the attribute it cannot map.
static FailureOr<hw::JsonValue> attrToJson(Attribute attr, std::string &error) {
  if (isa<UnitAttr>(attr))
    return hw::JsonValue();
  if (auto b = dyn_cast<BoolAttr>(attr))
    return hw::JsonValue::boolean(b.getValue());
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return hw::JsonValue::integer(i.getInt());
  if (auto f = dyn_cast<FloatAttr>(attr))
    return hw::JsonValue::number(f.getValueAsDouble());
  if (auto s = dyn_cast<StringAttr>(attr))
    return hw::JsonValue::string(s.str());
  if (auto a = dyn_cast<ArrayAttr>(attr)) {
    hw::JsonValue out = hw::JsonValue::array();
    for (Attribute e : a) {
      FailureOr<hw::JsonValue> v = attrToJson(e, error);
      if (failed(v))
        return failure();
      out.push(*v);
    }
    return out;
  }
  if (auto d = dyn_cast<DictionaryAttr>(attr)) {
    hw::JsonValue out = hw::JsonValue::object();
    for (NamedAttribute m : d) {
      FailureOr<hw::JsonValue> v = attrToJson(m.getValue(), error);
      if (failed(v))
        return failure();
      out.set(m.getName().str(), *v);
    }
    return out;
  }
  llvm::raw_string_ostream(error)
      << "a configuration value must be a dictionary, array, string, "
         "number, boolean or unit, not "
      << attr;
  return failure();
}

DictionaryAttr mlir::sdacc::configAttr(MLIRContext *ctx,
                                       const hw::HardwareConfig &config) {
  std::string json = config.toJson().write();
  if (json == hw::HardwareConfig::defaults().toJson().write())
    return {};
  return cast<DictionaryAttr>(jsonToAttr(ctx, config.toJson()));
}

LogicalResult mlir::sdacc::readConfig(ProgramOp program,
                                      hw::HardwareConfig &config) {
  DictionaryAttr attr = program.getConfigAttr();
  if (!attr) {
    config = hw::HardwareConfig::defaults();
    return success();
  }
  std::string error;
  FailureOr<hw::JsonValue> json = attrToJson(attr, error);
  if (failed(json) || !hw::HardwareConfig::parse(json->write(), config, error))
    return program.emitOpError("has an invalid hardware configuration: ")
           << error;
  return success();
}

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

/// The value of one instruction field attribute.
static int64_t fieldValue(Attribute attr) {
  if (auto b = dyn_cast<BoolAttr>(attr))
    return b.getValue();
  if (auto k = dyn_cast<DmaKindAttr>(attr))
    return int64_t(k.getValue());
  if (auto f = dyn_cast<WeightFormatAttr>(attr))
    return int64_t(f.getValue());
  return cast<IntegerAttr>(attr).getInt();
}

static Attribute fieldAttr(MLIRContext *ctx, const hw::FieldDesc &field,
                           int64_t value) {
  switch (field.type) {
  case hw::FieldType::Bool:
    return BoolAttr::get(ctx, value != 0);
  case hw::FieldType::DmaKind:
    return DmaKindAttr::get(ctx, DmaKind(value));
  case hw::FieldType::WeightFormat:
    return WeightFormatAttr::get(ctx, WeightFormat(value));
  case hw::FieldType::Unsigned:
  case hw::FieldType::Signed:
    break;
  }
  return IntegerAttr::get(IntegerType::get(ctx, 64), value);
}

/// The instruction an op of the dialect stands for, or nullptr when `op` is
/// not an instruction.
static const hw::InstrDesc *instructionDesc(Operation *op) {
  if (!isa<SDAccDialect>(op->getDialect()))
    return nullptr;
  return hw::findInstruction(op->getName().stripDialect().str());
}

static hw::Instruction readInstruction(Operation *op,
                                       const hw::InstrDesc &desc) {
  hw::Instruction inst;
  inst.opcode = desc.opcode;
  for (auto [i, field] : llvm::enumerate(desc.fields))
    inst.fields[i] = fieldValue(op->getAttr(field.name));
  return inst;
}

//===----------------------------------------------------------------------===//
// Program -> ops
//===----------------------------------------------------------------------===//

static std::string hex(uint64_t value) {
  std::string out;
  llvm::raw_string_ostream(out) << llvm::format_hex(value, 18);
  return out;
}

FailureOr<ProgramOp>
mlir::sdacc::buildProgramOp(OpBuilder &b, Location loc,
                            const hw::Program &program,
                            const hw::HardwareConfig &config) {
  MLIRContext *ctx = b.getContext();
  ctx->loadDialect<SDAccDialect>();
  if (program.fingerprint != config.fingerprint())
    return emitError(loc)
           << "the program is built for the hardware "
              "configuration with fingerprint "
           << hex(program.fingerprint) << ", not for '" << config.name << "' ("
           << hex(config.fingerprint())
           << "): read it with that configuration (--sdacc-config)";
  llvm::StringMap<int64_t> seen;
  for (auto [i, t] : llvm::enumerate(program.tensors))
    if (!seen.try_emplace(t.name, int64_t(i)).second)
      return emitError(loc) << "tensor '" << t.name
                            << "' is declared twice (tensors are named)";
  int64_t numTensors = int64_t(program.tensors.size());
  auto isTensor = [&](int64_t t) { return t >= 0 && t < numTensors; };
  for (auto [i, l] : llvm::enumerate(program.layers)) {
    std::string problem;
    llvm::raw_string_ostream os(problem);
    if (!hw::layerKindName(l.kind))
      os << "kind " << l.kind << " is not a layer kind";
    else if (l.format < 0 || !symbolizeWeightFormat(uint32_t(l.format)))
      os << "format " << l.format << " is not a weight format";
    else if (!isTensor(l.input))
      os << "input tensor " << l.input << " does not exist";
    else if (!isTensor(l.output))
      os << "output tensor " << l.output << " does not exist";
    else if (!isTensor(l.input2))
      os << "second input tensor " << l.input2 << " does not exist";
    if (!problem.empty())
      return emitError(loc)
             << "layer " << i << " ('" << l.name << "'): " << problem;
  }

  OpBuilder::InsertionGuard guard(b);
  auto prog = ProgramOp::create(b, loc, configAttr(ctx, config));
  b.setInsertionPointToEnd(b.createBlock(&prog.getBody()));
  for (const hw::TensorDecl &t : program.tensors)
    TensorOp::create(b, loc, t.name, TensorRole(t.role), t.shape,
                     int64_t(t.dramAddr));
  for (const hw::LayerDecl &l : program.layers) {
    OperationState state(loc, LayerDeclOp::getOperationName());
    state.addAttribute("name", b.getStringAttr(l.name));
    for (const hw::LayerFieldDesc &f : hw::layerFieldTable()) {
      int64_t v = l.*f.member;
      Attribute attr;
      switch (f.type) {
      case hw::LayerFieldType::Integer:
        attr = b.getI64IntegerAttr(v);
        break;
      case hw::LayerFieldType::LayerKind:
        attr = LayerKindAttr::get(ctx, LayerKind(v));
        break;
      case hw::LayerFieldType::WeightFormat:
        attr = WeightFormatAttr::get(ctx, WeightFormat(v));
        break;
      case hw::LayerFieldType::Tensor:
        attr = b.getStringAttr(program.tensors[size_t(v)].name);
        break;
      case hw::LayerFieldType::SecondTensor:
        // Present when it names an operand; 0 otherwise is the default.
        if (l.layerKind() == hw::LayerKind::Add || v != 0)
          attr = b.getStringAttr(program.tensors[size_t(v)].name);
        break;
      }
      if (attr)
        state.addAttribute(f.name, attr);
    }
    b.create(state);
  }
  for (const hw::DataSegment &s : program.segments) {
    auto type =
        RankedTensorType::get({int64_t(s.bytes.size())}, b.getIntegerType(8));
    auto bytes = DenseIntElementsAttr::get(
        type, ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(s.bytes.data()),
                               s.bytes.size()));
    SegmentOp::create(b, loc, DmaKind(s.kind), s.layer, int64_t(s.dramAddr),
                      bytes);
  }
  for (const hw::Instruction &inst : program.instructions) {
    const hw::InstrDesc &desc = inst.desc();
    OperationState state(loc, (llvm::Twine("sdacc.") + desc.mnemonic).str());
    for (auto [i, field] : llvm::enumerate(desc.fields))
      state.addAttribute(field.name, fieldAttr(ctx, field, inst.fields[i]));
    b.create(state);
  }
  return prog;
}

//===----------------------------------------------------------------------===//
// Ops -> program
//===----------------------------------------------------------------------===//

hw::Program mlir::sdacc::readProgram(ProgramOp op,
                                     const hw::HardwareConfig &config) {
  hw::Program program;
  program.fingerprint = config.fingerprint();
  Block &body = op.getBody().front();
  llvm::StringMap<int64_t> tensorIndex;
  for (TensorOp t : body.getOps<TensorOp>()) {
    hw::TensorDecl decl;
    decl.name = t.getName().str();
    decl.role = hw::TensorRole(t.getRole());
    decl.shape.assign(t.getShape().begin(), t.getShape().end());
    decl.dramAddr = uint64_t(t.getDramAddr());
    tensorIndex[decl.name] = int64_t(program.tensors.size());
    program.tensors.push_back(std::move(decl));
  }
  for (Operation &o : body) {
    if (auto l = dyn_cast<LayerDeclOp>(o)) {
      hw::LayerDecl decl;
      decl.name = l.getName().str();
      for (const hw::LayerFieldDesc &f : hw::layerFieldTable()) {
        Attribute attr = o.getAttr(f.name);
        int64_t &v = decl.*f.member;
        switch (f.type) {
        case hw::LayerFieldType::Integer:
          v = cast<IntegerAttr>(attr).getInt();
          break;
        case hw::LayerFieldType::LayerKind:
          v = int64_t(cast<LayerKindAttr>(attr).getValue());
          break;
        case hw::LayerFieldType::WeightFormat:
          v = int64_t(cast<WeightFormatAttr>(attr).getValue());
          break;
        case hw::LayerFieldType::Tensor:
        case hw::LayerFieldType::SecondTensor:
          v = attr ? tensorIndex.lookup(cast<StringAttr>(attr).getValue()) : 0;
          break;
        }
      }
      program.layers.push_back(std::move(decl));
    } else if (auto s = dyn_cast<SegmentOp>(o)) {
      hw::DataSegment seg;
      seg.kind = hw::DmaKind(s.getKind());
      seg.layer = s.getLayer();
      seg.dramAddr = uint64_t(s.getDramAddr());
      DenseIntElementsAttr bytes = s.getBytes();
      ArrayRef<char> raw = bytes.getRawData();
      if (bytes.isSplat())
        seg.bytes.assign(size_t(bytes.getNumElements()), uint8_t(raw[0]));
      else
        seg.bytes.assign(raw.begin(), raw.end());
      program.segments.push_back(std::move(seg));
    } else if (const hw::InstrDesc *desc = instructionDesc(&o)) {
      program.instructions.push_back(readInstruction(&o, *desc));
    }
  }
  return program;
}

//===----------------------------------------------------------------------===//
// Verifier
//===----------------------------------------------------------------------===//

LogicalResult ProgramOp::verifyRegions() {
  hw::HardwareConfig config;
  if (failed(readConfig(*this, config)))
    return failure();
  Block &body = getBody().front();
  llvm::StringSet<> tensors;
  for (TensorOp t : body.getOps<TensorOp>()) {
    if (!tensors.insert(t.getName()).second)
      return t.emitOpError("declares tensor '")
             << t.getName() << "' a second time";
    std::string problem = hw::checkTensorShape(
        std::vector<int64_t>(t.getShape().begin(), t.getShape().end()));
    if (!problem.empty())
      return t.emitOpError("shape: ") << problem;
  }
  for (Operation &o : body) {
    if (auto l = dyn_cast<LayerDeclOp>(o)) {
      for (StringAttr name :
           {l.getInputAttr(), l.getOutputAttr(), l.getInput2Attr()})
        if (name && !tensors.contains(name.getValue()))
          return l.emitOpError("names tensor '")
                 << name.getValue() << "', which the program does not declare";
      if (!l.getInput2Attr() && l.getKind() == LayerKind::Add)
        return l.emitOpError("an add layer needs its second input, input2");
      continue;
    }
    if (auto s = dyn_cast<SegmentOp>(o)) {
      auto type = cast<ShapedType>(s.getBytes().getType());
      if (type.getRank() != 1 || !type.getElementType().isInteger(8))
        return s.emitOpError("bytes must be a 1-D i8 tensor, got ") << type;
      continue;
    }
    if (isa<TensorOp>(o))
      continue;
    const hw::InstrDesc *desc = instructionDesc(&o);
    if (!desc)
      return o.emitOpError("is not part of an accelerator program (only "
                           "sdacc tensors, layer declarations, segments and "
                           "instructions are)");
    std::string problem =
        hw::verifyInstruction(readInstruction(&o, *desc), config);
    if (!problem.empty())
      return o.emitOpError() << problem;
  }
  std::string problem = hw::verifyProgram(readProgram(*this, config), config);
  if (!problem.empty())
    return emitOpError("is not a valid program for hardware configuration '")
           << config.name << "': " << problem;
  return success();
}
