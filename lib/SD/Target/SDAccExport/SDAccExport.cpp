//===- SDAccExport.cpp - sd programs to accelerator program files ---------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// A thin adapter from IR to the plain C++ program builder: each quantized sd
// layer becomes a LayerSpec (codes, int8 bases, int64 bias, requantization),
// tensors are named by the value that carries them, zero padding folds into
// the convolution, and the builder tiles and emits the instructions.
//
//===----------------------------------------------------------------------===//

#include "SD/Target/SDAccExport/SDAccExport.h"
#include "SD/Compression/Quantize.h"
#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/IR/SDQuantize.h"
#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/ProgramBuilder.h"
#include "SD/Accel/ProgramFile.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"

using namespace mlir;
using namespace mlir::sd;
namespace isa = ::sd::sdacc;
namespace comp = ::sd::compression;

namespace {
/// Walks @main and feeds the program builder.
class Exporter {
public:
  Exporter(const isa::HardwareConfig &config) : builder(config) {}

  LogicalResult run(func::FuncOp func, isa::Program &program);
  const std::vector<isa::LayerSchedule> &schedules() const {
    return builder.schedules();
  }

private:
  LogicalResult addLayer(Operation *op, Value input, Value weight, Value bias,
                         double inputScale, double outputScale, bool relu,
                         ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations,
                         Value result);
  LogicalResult addAdd(QuantizedAddOp op);
  LogicalResult addDepthwise(QuantizedDepthwiseConv2DOp op);
  LogicalResult addPool(Operation *op, isa::LayerKind kind, Value input,
                        ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                        ArrayRef<int64_t> padding, double inputScale,
                        double outputScale, bool relu, Value result);
  LogicalResult addNetworkLayer(Operation *op, isa::LayerSpec &spec,
                                Value result);
  std::string nameOf(Value v) {
    auto it = names.find(v);
    return it == names.end() ? std::string() : it->second;
  }

  isa::ProgramBuilder builder;
  llvm::DenseMap<Value, std::string> names;
  /// Zero padding [top, left, bottom, right] of a tensor.pad result.
  llvm::DenseMap<Value, std::pair<Value, SmallVector<int64_t>>> pads;
  int64_t counter = 0;
};
} // namespace

/// The integer parameters every weighted layer shares: f_B, biases and the
/// requantization.
static void setIntegerParameters(const comp::QuantizedLayer &q, bool relu,
                                 isa::LayerSpec &spec) {
  spec.fracBitsB = q.fracBitsB;
  spec.bias = q.bias;
  spec.multiplier = q.requant.multiplier;
  spec.shift = q.requant.shift;
  spec.relu = relu;
}

/// A SmartExchange weight as a builder layer.
static LogicalResult seSpec(Operation *op, Value weight, Value bias,
                            double inputScale, double outputScale, bool relu,
                            ArrayRef<int64_t> dilations, isa::LayerSpec &spec,
                            SmallVector<int64_t> &weightShape) {
  auto constant = weight.getDefiningOp<SEConstantOp>();
  if (!constant)
    return op->emitError("the weight must be defined by sd.se_constant or "
                         "sd.permdiag_constant");
  SEWeightType type = constant.getResult().getType();
  FailureOr<SmallVector<int64_t>> codes = readIntegers(constant.getCodes());
  if (failed(codes) || failed(readFloats(constant.getBasis())))
    return op->emitError("the weight's data cannot be read: ")
           << unreadableReason(constant.getCodes());
  FailureOr<comp::QuantizedLayer> quantized =
      quantizeLayerOf(op, constant, bias, inputScale, outputScale, relu);
  if (failed(quantized))
    return failure();
  const comp::QuantizedLayer &q = *quantized;
  for (int64_t d : dilations)
    if (d != 1)
      return op->emitError("the accelerator has no dilated convolutions");

  spec.format = isa::WeightFormat::SmartExchange;
  spec.outChannels = type.getShape()[0];
  spec.layout = type.getLayout();
  spec.range = type.getExponentRange();
  spec.codes.assign(codes->begin(), codes->end());
  spec.basis = q.basis;
  setIntegerParameters(q, relu, spec);
  weightShape.assign(type.getShape().begin(), type.getShape().end());
  return success();
}

/// A PermDNN weight as a builder layer: its int8 values and offsets as
/// sd.permdiag_constant orders them (the builder reorders them by column).
static LogicalResult permDiagSpec(Operation *op, PermDiagConstantOp constant,
                                  Value bias, double inputScale,
                                  double outputScale, bool relu,
                                  isa::LayerSpec &spec) {
  FailureOr<SmallVector<int64_t>> offsets = readIntegers(constant.getOffsets());
  if (failed(offsets))
    return op->emitError("the weight's data cannot be read: ")
           << unreadableReason(constant.getOffsets());
  if (failed(readFloats(constant.getValues())))
    return op->emitError("the weight's data cannot be read: ")
           << unreadableReason(constant.getValues());
  FailureOr<comp::QuantizedLayer> quantized =
      quantizeLayerOf(op, constant, bias, inputScale, outputScale, relu);
  if (failed(quantized))
    return failure();
  PermDiagWeightType type = constant.getResult().getType();
  spec.format = isa::WeightFormat::PermDiag;
  spec.kind = isa::LayerKind::FullyConnected;
  spec.outChannels = type.getShape()[0];
  spec.blockSize = type.getBlockSize();
  spec.pdOffsets.assign(offsets->begin(), offsets->end());
  spec.pdValues = quantized->basis;
  setIntegerParameters(*quantized, relu, spec);
  return success();
}

/// A dense f32 weight as a builder layer in the `dense` format: int8 values
/// [F, C * R * S] (row-major, the weight's own order), one scale per layer.
static LogicalResult denseSpec(Operation *op, Value weight, Value bias,
                               double inputScale, double outputScale, bool relu,
                               ArrayRef<int64_t> dilations,
                               isa::LayerSpec &spec,
                               SmallVector<int64_t> &weightShape) {
  FailureOr<comp::QuantizedLayer> quantized =
      quantizeDenseOf(op, weight, bias, inputScale, outputScale, relu);
  if (failed(quantized))
    return failure();
  for (int64_t d : dilations)
    if (d != 1)
      return op->emitError("the accelerator has no dilated convolutions");
  auto type = cast<RankedTensorType>(weight.getType());
  spec.format = isa::WeightFormat::Dense;
  spec.outChannels = type.getDimSize(0);
  spec.weights = quantized->basis;
  setIntegerParameters(*quantized, relu, spec);
  weightShape.assign(type.getShape().begin(), type.getShape().end());
  return success();
}

LogicalResult Exporter::addLayer(Operation *op, Value input, Value weight,
                                 Value bias, double inputScale,
                                 double outputScale, bool relu,
                                 ArrayRef<int64_t> strides,
                                 ArrayRef<int64_t> dilations, Value result) {
  isa::LayerSpec spec;
  SmallVector<int64_t> weightShape;
  if (auto permDiag = weight.getDefiningOp<PermDiagConstantOp>()) {
    if (failed(permDiagSpec(op, permDiag, bias, inputScale, outputScale, relu,
                            spec)))
      return failure();
    weightShape.assign(permDiag.getResult().getType().getShape().begin(),
                       permDiag.getResult().getType().getShape().end());
  } else if (llvm::isa<RankedTensorType>(weight.getType())) {
    if (failed(denseSpec(op, weight, bias, inputScale, outputScale, relu,
                         dilations, spec, weightShape)))
      return failure();
  } else if (failed(seSpec(op, weight, bias, inputScale, outputScale, relu,
                           dilations, spec, weightShape))) {
    return failure();
  }
  spec.name = "layer" + std::to_string(counter);

  Value source = input;
  if (auto it = pads.find(input); it != pads.end()) {
    source = it->second.first;
    ArrayRef<int64_t> p = it->second.second;
    spec.padTop = p[0];
    spec.padLeft = p[1];
    spec.padBottom = p[2];
    spec.padRight = p[3];
  }
  spec.input = nameOf(source);
  if (spec.input.empty())
    return op->emitError("the input does not come from the function's "
                         "arguments or an earlier layer");
  if (weightShape.size() == 4) {
    spec.kind = isa::LayerKind::Conv;
    spec.kernelH = weightShape[2];
    spec.kernelW = weightShape[3];
    spec.strideH = strides[0];
    spec.strideW = strides[1];
  } else {
    spec.kind = isa::LayerKind::FullyConnected;
  }
  spec.output = "t" + std::to_string(counter++);
  names[result] = spec.output;
  std::string error;
  if (!builder.addLayer(spec, error))
    return op->emitError("the accelerator cannot run this layer: ") << error;
  return success();
}

LogicalResult Exporter::addNetworkLayer(Operation *op, isa::LayerSpec &spec,
                                        Value result) {
  spec.name = "layer" + std::to_string(counter);
  spec.output = "t" + std::to_string(counter++);
  if (spec.input.empty() || (spec.kind == isa::LayerKind::Add &&
                             spec.input2.empty()))
    return op->emitError("the input does not come from the function's "
                         "arguments or an earlier layer");
  std::string error;
  if (!builder.addLayer(spec, error))
    return op->emitError("the accelerator cannot run this layer: ") << error;
  names[result] = spec.output;
  return success();
}

LogicalResult Exporter::addAdd(QuantizedAddOp op) {
  comp::AddRequantization r;
  std::string error;
  if (!comp::computeAddRequantization(op.getLhsScale().convertToDouble(),
                                      op.getRhsScale().convertToDouble(),
                                      op.getOutputScale().convertToDouble(), r,
                                      error))
    return op.emitError("cannot requantize the add: ") << error;
  isa::LayerSpec spec;
  spec.kind = isa::LayerKind::Add;
  spec.input = nameOf(op.getLhs());
  spec.input2 = nameOf(op.getRhs());
  spec.multiplier = r.multiplierA;
  spec.multiplier2 = r.multiplierB;
  spec.shift = r.shift;
  spec.relu = op.getRelu();
  return addNetworkLayer(op, spec, op.getResult());
}

LogicalResult Exporter::addDepthwise(QuantizedDepthwiseConv2DOp op) {
  FailureOr<comp::QuantizedLayer> q = quantizeDepthwiseOf(op);
  if (failed(q))
    return failure();
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  isa::LayerSpec spec;
  spec.kind = isa::LayerKind::Depthwise;
  Value source = op.getInput();
  if (auto it = pads.find(source); it != pads.end()) {
    source = it->second.first;
    ArrayRef<int64_t> p = it->second.second;
    spec.padTop = p[0];
    spec.padLeft = p[1];
    spec.padBottom = p[2];
    spec.padRight = p[3];
  }
  spec.input = nameOf(source);
  spec.kernelH = wType.getDimSize(2);
  spec.kernelW = wType.getDimSize(3);
  spec.strideH = op.getStrides()[0];
  spec.strideW = op.getStrides()[1];
  spec.weights = q->basis;
  setIntegerParameters(*q, op.getRelu(), spec);
  return addNetworkLayer(op, spec, op.getResult());
}

LogicalResult Exporter::addPool(Operation *op, isa::LayerKind kind,
                                Value input, ArrayRef<int64_t> kernel,
                                ArrayRef<int64_t> strides,
                                ArrayRef<int64_t> padding, double inputScale,
                                double outputScale, bool relu, Value result) {
  isa::LayerSpec spec;
  spec.kind = kind;
  spec.input = nameOf(input);
  spec.kernelH = kernel[0];
  spec.kernelW = kernel[1];
  spec.strideH = strides[0];
  spec.strideW = strides[1];
  spec.padTop = padding[0];
  spec.padLeft = padding[1];
  spec.padBottom = padding[2];
  spec.padRight = padding[3];
  if (kind == isa::LayerKind::AvgPool) {
    // The same rule as the CPU lowering: m = s_x / (s_y * kh * kw).
    comp::Requantization r;
    std::string error;
    if (!comp::computeRequantization(inputScale / outputScale, r, error))
      return op->emitError("cannot requantize the average: ") << error;
    spec.multiplier = r.multiplier;
    spec.shift = r.shift;
    spec.relu = relu;
  }
  return addNetworkLayer(op, spec, result);
}

LogicalResult Exporter::run(func::FuncOp func, isa::Program &program) {
  std::string error;
  // An imported model not yet compressed and quantized: say what is needed
  // rather than which argument or op happens to come first.
  WalkResult linalgOp = func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (!llvm::isa_and_present<linalg::LinalgDialect>(op->getDialect()))
      return WalkResult::advance();
    op->emitError("the accelerator runs quantized sd IR (sd.quantized_* "
                  "ops on static i8 tensors), not '")
        << op->getName()
        << "': compress the model (sd-opt --sd-decompose) and quantize it "
           "first";
    return WalkResult::interrupt();
  });
  if (linalgOp.wasInterrupted())
    return failure();
  for (BlockArgument arg : func.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || !type.getElementType().isSignlessInteger(8) ||
        !type.hasStaticShape())
      return func.emitError("argument ")
             << arg.getArgNumber() << " must be a static i8 tensor, got "
             << arg.getType();
    std::string name = "arg" + std::to_string(arg.getArgNumber());
    names[arg] = name;
    if (!builder.addInput(name,
                          std::vector<int64_t>(type.getShape().begin(),
                                               type.getShape().end()),
                          error))
      return func.emitError("cannot declare input: ") << error;
  }
  for (Operation &op : func.getBody().front()) {
    if (llvm::isa<SEConstantOp, PermDiagConstantOp, arith::ConstantOp>(op))
      continue;
    if (auto pad = dyn_cast<tensor::PadOp>(op)) {
      auto type = cast<RankedTensorType>(pad.getSource().getType());
      Value padValue = pad.getConstantPaddingValue();
      APInt zero;
      if (type.getRank() != 4 || !padValue ||
          !matchPattern(padValue, m_ConstantInt(&zero)) || !zero.isZero() ||
          pad.getStaticLow()[0] != 0 || pad.getStaticLow()[1] != 0 ||
          pad.getStaticHigh()[0] != 0 || pad.getStaticHigh()[1] != 0 ||
          ShapedType::isDynamicShape(pad.getStaticLow()) ||
          ShapedType::isDynamicShape(pad.getStaticHigh()))
        return pad.emitError("only static zero padding of H and W maps to "
                             "the accelerator");
      pads[pad.getResult()] = {pad.getSource(),
                               {pad.getStaticLow()[2], pad.getStaticLow()[3],
                                pad.getStaticHigh()[2],
                                pad.getStaticHigh()[3]}};
      continue;
    }
    if (auto conv = dyn_cast<QuantizedConv2DOp>(op)) {
      if (failed(addLayer(
              conv, conv.getInput(), conv.getWeight(), conv.getBias(),
              conv.getInputScale().convertToDouble(),
              conv.getOutputScale().convertToDouble(), conv.getRelu(),
              conv.getStrides(), conv.getDilations(), conv.getResult())))
        return failure();
      continue;
    }
    if (auto fc = dyn_cast<QuantizedMatmulOp>(op)) {
      if (cast<ShapedType>(fc.getInput().getType()).getRank() != 2)
        return fc.emitError("the accelerator's fully connected layers take "
                            "[N, K] inputs");
      int64_t ones[2] = {1, 1};
      if (failed(addLayer(fc, fc.getInput(), fc.getWeight(), fc.getBias(),
                          fc.getInputScale().convertToDouble(),
                          fc.getOutputScale().convertToDouble(), fc.getRelu(),
                          ones, ones, fc.getResult())))
        return failure();
      continue;
    }
    if (auto add = dyn_cast<QuantizedAddOp>(op)) {
      if (failed(addAdd(add)))
        return failure();
      continue;
    }
    if (auto pool = dyn_cast<QuantizedMaxPool2DOp>(op)) {
      ArrayRef<int64_t> pad = pool.getPadding();
      if (failed(addPool(pool, isa::LayerKind::MaxPool, pool.getInput(),
                         pool.getKernel(), pool.getStrides(), pad, 0, 1, false,
                         pool.getResult())))
        return failure();
      continue;
    }
    if (auto pool = dyn_cast<QuantizedAvgPool2DOp>(op)) {
      int64_t none[4] = {0, 0, 0, 0};
      ArrayRef<int64_t> k = pool.getKernel();
      if (failed(addPool(pool, isa::LayerKind::AvgPool, pool.getInput(),
                         k, pool.getStrides(), none,
                         pool.getInputScale().convertToDouble(),
                         pool.getOutputScale().convertToDouble() *
                             double(k[0] * k[1]),
                         pool.getRelu(), pool.getResult())))
        return failure();
      continue;
    }
    if (auto dw = dyn_cast<QuantizedDepthwiseConv2DOp>(op)) {
      if (failed(addDepthwise(dw)))
        return failure();
      continue;
    }
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
      // Row-major reshapes keep the bytes: the result names the same tensor
      // (a fully connected layer reads any [N, ...] as [N, K]).
      std::string name = nameOf(collapse.getSrc());
      if (name.empty() || pads.count(collapse.getSrc()))
        return collapse.emitError("only a layer output or argument can be "
                                  "reshaped for the accelerator");
      names[collapse.getResult()] = name;
      continue;
    }
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value v : ret.getOperands()) {
        std::string name = nameOf(v);
        if (name.empty() || !builder.markOutput(name, error))
          return ret.emitError("cannot return this value from the "
                               "accelerator: ")
                 << (name.empty() ? "it is not a layer output" : error);
      }
      continue;
    }
    return op.emitError("'") << op.getName()
                             << "' has no accelerator instruction; only "
                                "sd.quantized_conv2d, sd.quantized_matmul, "
                                "sd.quantized_add, sd.quantized_max_pool2d, "
                                "sd.quantized_avg_pool2d, "
                                "sd.quantized_depthwise_conv2d, zero "
                                "tensor.pad and "
                                "tensor.collapse_shape map to the "
                                "accelerator";
  }
  if (!builder.build(program, error))
    return func.emitError("cannot build the accelerator program: ") << error;
  return success();
}

LogicalResult
mlir::sd::buildSDAccProgram(func::FuncOp func,
                            const isa::HardwareConfig &config,
                            isa::Program &program,
                            std::vector<isa::LayerSchedule> *schedules) {
  Exporter exporter(config);
  if (failed(exporter.run(func, program)))
    return failure();
  if (schedules)
    *schedules = exporter.schedules();
  return success();
}

LogicalResult mlir::sd::exportSDAccProgram(ModuleOp module,
                                           llvm::raw_ostream &os,
                                           const SDAccExportOptions &options) {
  auto func = module.lookupSymbol<func::FuncOp>(options.function);
  if (!func || func.isExternal())
    return module.emitError("no function @")
           << options.function << " to translate";
  FailureOr<isa::HardwareConfig> config =
      loadSDAccConfig(options.configPath, module.getLoc());
  if (failed(config))
    return failure();
  isa::Program program;
  if (failed(buildSDAccProgram(func, *config, program)))
    return failure();
  std::string error;
  if (options.text) {
    os << isa::writeProgramText(program);
    return success();
  }
  std::vector<uint8_t> bytes;
  if (!isa::writeProgramBinary(program, bytes, error))
    return module.emitError("cannot encode the program: ") << error;
  os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  return success();
}

FailureOr<isa::HardwareConfig> mlir::sd::loadSDAccConfig(llvm::StringRef path,
                                                         Location loc) {
  if (path.empty())
    return isa::HardwareConfig::defaults();
  isa::HardwareConfig config;
  std::string error;
  if (!isa::HardwareConfig::load(path.str(), config, error))
    return emitError(loc) << "cannot read hardware configuration '" << path
                          << "': " << error;
  return config;
}

/// The hardware a program is built for (--sd-to-sdacc) or was built for
/// (--import-sdacc); the simulator must be given the same file (the program
/// records its fingerprint).
static llvm::cl::opt<std::string> &configOption() {
  static llvm::cl::opt<std::string> option(
      "sdacc-config",
      llvm::cl::desc("Hardware configuration JSON of --sd-to-sdacc and "
                     "--import-sdacc (default: the built-in "
                     "smartdeal-default)"),
      llvm::cl::init(""));
  return option;
}

std::string mlir::sd::sdaccConfigOption() { return configOption(); }

void mlir::sd::registerSDAccExportTranslations() {
  (void)configOption();
  // Which function is the program (--sd-partition names its segments
  // <function>_acc<N>).
  static llvm::cl::opt<std::string> function(
      "sdacc-function",
      llvm::cl::desc("The function --sd-to-sdacc translates (default: main)"),
      llvm::cl::init("main"));
  auto registerDialects = [](DialectRegistry &registry) {
    // linalg: the host code of a partitioned model sits next to the
    // segment being translated, and imported models are parsed, then
    // refused with a reason.
    registry.insert<SDDialect, arith::ArithDialect, func::FuncDialect,
                    linalg::LinalgDialect, tensor::TensorDialect>();
  };
  static TranslateFromMLIRRegistration binary(
      "sd-to-sdacc", "Translate quantized sd layers to an accelerator program",
      [](Operation *op, raw_ostream &os) {
        SDAccExportOptions options;
        options.configPath = configOption();
        options.function = function;
        return exportSDAccProgram(cast<ModuleOp>(op), os, options);
      },
      registerDialects);
  static TranslateFromMLIRRegistration text(
      "sd-to-sdacc-text",
      "Translate quantized sd layers to an accelerator program (text form)",
      [](Operation *op, raw_ostream &os) {
        SDAccExportOptions options;
        options.text = true;
        options.configPath = configOption();
        options.function = function;
        return exportSDAccProgram(cast<ModuleOp>(op), os, options);
      },
      registerDialects);
}
