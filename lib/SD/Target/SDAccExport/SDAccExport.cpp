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
#include "SD/Dialect/SD/Transforms/AccelLayer.h"
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
  LogicalResult addLayer(Operation *op, Value input, Value result);
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

LogicalResult Exporter::addLayer(Operation *op, Value input, Value result) {
  isa::LayerSpec spec;
  if (failed(accelLayerSpec(op, spec)))
    return failure();
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
  spec.bias = q->bias;
  spec.multiplier = q->requant.multiplier;
  spec.shift = q->requant.shift;
  spec.relu = op.getRelu();
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
      auto folded = foldableZeroPad(pad.getResult());
      if (!folded)
        return pad.emitError("only static zero padding of H and W maps to "
                             "the accelerator");
      pads[pad.getResult()] = {folded->first, SmallVector<int64_t>(
                                                  folded->second.begin(),
                                                  folded->second.end())};
      continue;
    }
    if (auto conv = dyn_cast<QuantizedConv2DOp>(op)) {
      if (failed(addLayer(conv, conv.getInput(), conv.getResult())))
        return failure();
      continue;
    }
    if (auto fc = dyn_cast<QuantizedMatmulOp>(op)) {
      if (failed(addLayer(fc, fc.getInput(), fc.getResult())))
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
