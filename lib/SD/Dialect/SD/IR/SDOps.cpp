//===- SDOps.cpp - sd dialect operations ----------------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Compression/Quantize.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sd;

#define GET_OP_CLASSES
#include "SD/Dialect/SD/IR/SD.cpp.inc"

/// Prints a shape as 2x3x4 for diagnostics.
static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, "x");
  return s;
}

/// Multi-index of a row-major linear index, for diagnostics.
static std::string indexStr(int64_t linear, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> index(shape.size());
  for (int64_t d = shape.size() - 1; d >= 0; --d) {
    index[d] = linear % shape[d];
    linear /= shape[d];
  }
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(index, os);
  return s + "]";
}

/// Whether the values of a constant can be checked. An elided or missing
/// blob is accepted (the IR is well formed, only opaque); a blob whose size
/// does not fit its type is an error.
static FailureOr<bool> checkable(Operation *op, StringRef name,
                                 ElementsAttr attr) {
  if (!hasData(attr))
    return false;
  std::string reason = unreadableReason(attr);
  if (!reason.empty())
    return op->emitOpError() << name << ": " << reason;
  return true;
}

/// The integers of a readable constant that a verifier checks: a splat's one
/// value (nothing is materialized, whatever the shape), else every value.
static SmallVector<int64_t> integersToCheck(ElementsAttr attr) {
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (dense && dense.isSplat()) {
    APInt v = dense.getSplatValue<APInt>();
    return {cast<IntegerType>(attr.getElementType()).isUnsigned()
                ? int64_t(v.getZExtValue())
                : v.getSExtValue()};
  }
  return *readIntegers(attr);
}

//===----------------------------------------------------------------------===//
// SEConstantOp
//===----------------------------------------------------------------------===//

LogicalResult SEConstantOp::verify() {
  SEWeightType type = getResult().getType();
  ::sd::compression::ExponentRange range = type.getExponentRange();

  auto codesType = cast<ShapedType>(getCodes().getType());
  auto codeElem = dyn_cast<IntegerType>(codesType.getElementType());
  if (!codeElem || !codeElem.isSignless() || codeElem.getWidth() < 2 ||
      codeElem.getWidth() > 8)
    return emitOpError("codes must be signless integers of 2 to 8 bits, got ")
           << codesType.getElementType();
  if (codesType.getShape() != ArrayRef<int64_t>(type.getCodesShape()))
    return emitOpError("codes of shape ")
           << shapeStr(codesType.getShape())
           << " do not match the block layout of the weight: expected "
           << shapeStr(type.getCodesShape())
           << " ([outputs, blocks, block rows, 3])";
  unsigned needed = ::sd::compression::minCodeBits(range);
  if (codeElem.getWidth() < needed)
    return emitOpError("code type ")
           << codeElem << " cannot hold the " << range.levels()
           << " levels of exponent range [" << range.minExp << ", "
           << range.maxExp << "]: needs at least i" << needed;

  auto basisType = cast<ShapedType>(getBasis().getType());
  if (basisType.getElementType() != type.getElementType())
    return emitOpError("basis element type ")
           << basisType.getElementType()
           << " does not match the weight element type "
           << type.getElementType();
  if (basisType.getShape() != ArrayRef<int64_t>(type.getBasisShape()))
    return emitOpError("basis of shape ")
           << shapeStr(basisType.getShape())
           << " is not one 3x3 B per block: expected "
           << shapeStr(type.getBasisShape());

  FailureOr<bool> readable = checkable(*this, "codes", getCodes());
  if (failed(readable) || failed(checkable(*this, "basis", getBasis())))
    return failure();
  if (*readable) {
    SmallVector<int64_t> codes = integersToCheck(getCodes());
    for (auto [i, code] : llvm::enumerate(codes))
      if (!::sd::compression::isValidCode(code, range))
        return emitOpError("code ")
               << code << " at " << indexStr(i, codesType.getShape())
               << " names exponent "
               << ::sd::compression::codeExponent(code, range)
               << ", outside the declared range [" << range.minExp << ", "
               << range.maxExp << "]";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// PermDiagConstantOp
//===----------------------------------------------------------------------===//

LogicalResult PermDiagConstantOp::verify() {
  PermDiagWeightType type = getResult().getType();
  int64_t p = type.getBlockSize();
  SmallVector<int64_t> offsetsShape = {type.getRowBlocks(),
                                       type.getColBlocks()};
  auto offsetsType = cast<ShapedType>(getOffsets().getType());
  if (!isa<IntegerType>(offsetsType.getElementType()))
    return emitOpError("offsets must be integers, got ")
           << offsetsType.getElementType();
  if (offsetsType.getShape() != ArrayRef<int64_t>(offsetsShape))
    return emitOpError("offsets of shape ")
           << shapeStr(offsetsType.getShape()) << " do not hold one offset per "
           << p << "x" << p << " block: expected " << shapeStr(offsetsShape);

  auto valuesType = cast<ShapedType>(getValues().getType());
  if (valuesType.getElementType() != type.getElementType())
    return emitOpError("values element type ")
           << valuesType.getElementType()
           << " does not match the weight element type "
           << type.getElementType();
  SmallVector<int64_t> valuesShape = {offsetsShape[0], offsetsShape[1], p};
  if (valuesType.getShape() != ArrayRef<int64_t>(valuesShape))
    return emitOpError("values of shape ")
           << shapeStr(valuesType.getShape()) << " do not hold " << p
           << " values per block: expected " << shapeStr(valuesShape);

  FailureOr<bool> readable = checkable(*this, "offsets", getOffsets());
  if (failed(readable) || failed(checkable(*this, "values", getValues())))
    return failure();
  if (*readable) {
    SmallVector<int64_t> offsets = integersToCheck(getOffsets());
    for (auto [i, k] : llvm::enumerate(offsets))
      if (k < 0 || k >= p)
        return emitOpError("offset ")
               << k << " of block " << indexStr(i, offsetsShape)
               << " is not in [0, p = " << p << ")";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// RebuildOp
//===----------------------------------------------------------------------===//

static RankedTensorType denseTypeOf(Type weightType) {
  if (auto se = dyn_cast<SEWeightType>(weightType))
    return se.getDenseType();
  // A dense weight of a quantized layer is its own dense type.
  if (auto dense = dyn_cast<RankedTensorType>(weightType))
    return dense;
  return cast<PermDiagWeightType>(weightType).getDenseType();
}

LogicalResult RebuildOp::verify() {
  RankedTensorType dense = denseTypeOf(getWeight().getType());
  if (getResult().getType() != dense)
    return emitOpError("result type ")
           << getResult().getType()
           << " does not match the dense type of the weight " << dense;
  return success();
}

//===----------------------------------------------------------------------===//
// Shape rules shared by the float and the quantized ops
//
// ODS has checked element types, ranks, array lengths and scales; these rules
// relate the operands to each other. `out` is the init of a float op and the
// result of a quantized one (the name used in messages).
//===----------------------------------------------------------------------===//

/// Whether two sizes can be equal (a dynamic size matches anything).
static bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// out[..., n] = sum_k input[..., k] * W[n, k] for an N x K dense weight.
static LogicalResult verifyMatmulShapes(Operation *op, RankedTensorType input,
                                        StringRef outName,
                                        RankedTensorType out,
                                        RankedTensorType dense) {
  int64_t n = dense.getDimSize(0), k = dense.getDimSize(1);
  if (input.getRank() != out.getRank())
    return op->emitOpError("input ")
           << input << " and " << outName << " " << out
           << " must have the same rank, at least 1";
  if (!compatible(input.getShape().back(), k))
    return op->emitOpError("input reduction size ")
           << input.getShape().back() << " does not match the weight's K = "
           << k;
  if (!compatible(out.getShape().back(), n))
    return op->emitOpError() << outName << " last dimension "
                             << out.getShape().back()
                             << " does not match the weight's N = " << n;
  for (int64_t d = 0; d + 1 < input.getRank(); ++d)
    if (!compatible(input.getDimSize(d), out.getDimSize(d)))
      return op->emitOpError("input and ")
             << outName << " differ in batch dimension " << d;
  return success();
}

/// out = conv2d(input, W) for an F x C x R x S dense weight, no padding.
static LogicalResult verifyConvShapes(Operation *op, RankedTensorType input,
                                      StringRef outName, RankedTensorType out,
                                      RankedTensorType dense,
                                      ArrayRef<int64_t> strides,
                                      ArrayRef<int64_t> dilations, bool nchw) {
  int64_t f = dense.getDimSize(0), c = dense.getDimSize(1);
  int64_t inC = input.getDimSize(nchw ? 1 : 3);
  int64_t outF = out.getDimSize(nchw ? 1 : 3);
  if (!compatible(inC, c))
    return op->emitOpError("input has ")
           << inC << " channels but the weight expects " << c;
  if (!compatible(outF, f))
    return op->emitOpError() << outName << " has " << outF
                             << " channels but the weight has " << f
                             << " filters";
  if (!compatible(input.getDimSize(0), out.getDimSize(0)))
    return op->emitOpError("input and ") << outName << " batch sizes differ";
  for (int d = 0; d < 2; ++d) {
    int64_t in = input.getDimSize(nchw ? 2 + d : 1 + d);
    int64_t got = out.getDimSize(nchw ? 2 + d : 1 + d);
    if (ShapedType::isDynamic(in) || ShapedType::isDynamic(got))
      continue;
    int64_t kernel = dense.getDimSize(2 + d);
    int64_t span = dilations[d] * (kernel - 1) + 1;
    int64_t expected = in < span ? 0 : (in - span) / strides[d] + 1;
    if (got != expected)
      return op->emitOpError("spatial dimension ")
             << d << " of " << outName << " is " << got << " but input size "
             << in << ", kernel " << kernel << ", stride " << strides[d]
             << " and dilation " << dilations[d] << " give " << expected;
  }
  return success();
}

/// A 1-D bias holds one value per output channel.
static LogicalResult verifyBias(Operation *op, Value bias,
                                int64_t outChannels) {
  if (!bias)
    return success();
  auto type = cast<RankedTensorType>(bias.getType());
  if (!compatible(type.getDimSize(0), outChannels))
    return op->emitOpError("bias must be a 1-D tensor of ")
           << outChannels << " elements, got " << type;
  return success();
}

//===----------------------------------------------------------------------===//
// Compute ops
//===----------------------------------------------------------------------===//

/// Input, init and bias hold the weight's element type.
static LogicalResult verifyElementTypes(Operation *op, Value input,
                                        RankedTensorType dense, Value bias,
                                        Value init) {
  Type elem = dense.getElementType();
  for (auto [name, value] : {std::pair<StringRef, Value>{"input", input},
                             {"init", init},
                             {"bias", bias}}) {
    if (!value)
      continue;
    Type got = cast<ShapedType>(value.getType()).getElementType();
    if (got != elem)
      return op->emitOpError()
             << name << " element type " << got
             << " does not match the weight element type " << elem;
  }
  return success();
}

/// The float fully connected ops: y[..., n] = init + sum_k x[..., k] W[n, k].
static LogicalResult verifyFloatMatmul(Operation *op, Value input,
                                       RankedTensorType dense, Value bias,
                                       Value init) {
  if (failed(verifyMatmulShapes(
          op, cast<RankedTensorType>(input.getType()), "init",
          cast<RankedTensorType>(init.getType()), dense)) ||
      failed(verifyElementTypes(op, input, dense, bias, init)))
    return failure();
  return verifyBias(op, bias, dense.getDimSize(0));
}

LogicalResult ShiftAddMatmulOp::verify() {
  return verifyFloatMatmul(*this, getInput(),
                           getWeight().getType().getDenseType(), getBias(),
                           getInit());
}

LogicalResult PermDiagMatmulOp::verify() {
  return verifyFloatMatmul(*this, getInput(),
                           getWeight().getType().getDenseType(), getBias(),
                           getInit());
}

LogicalResult ShiftAddConv2DOp::verify() {
  RankedTensorType dense = getWeight().getType().getDenseType();
  if (failed(verifyConvShapes(*this, getInput().getType(), "init",
                              getInit().getType(), dense, getStrides(),
                              getDilations(),
                              getLayout() == ConvLayout::nchw)) ||
      failed(verifyElementTypes(*this, getInput(), dense, getBias(),
                                getInit())))
    return failure();
  return verifyBias(*this, getBias(), dense.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// Quantized ops
//===----------------------------------------------------------------------===//

LogicalResult QuantizedMatmulOp::verify() {
  RankedTensorType dense = denseTypeOf(getWeight().getType());
  if (failed(verifyMatmulShapes(*this, getInput().getType(), "result",
                                getResult().getType(), dense)))
    return failure();
  return verifyBias(*this, getBias(), dense.getDimSize(0));
}

LogicalResult QuantizedConv2DOp::verify() {
  RankedTensorType dense = denseTypeOf(getWeight().getType());
  if (failed(verifyConvShapes(*this, getInput().getType(), "result",
                              getResult().getType(), dense, getStrides(),
                              getDilations(), /*nchw=*/true)))
    return failure();
  return verifyBias(*this, getBias(), dense.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// Quantized whole-network ops
//===----------------------------------------------------------------------===//

LogicalResult QuantizedAddOp::verify() {
  ::sd::compression::AddRequantization r;
  std::string error;
  if (!::sd::compression::computeAddRequantization(
          getLhsScale().convertToDouble(), getRhsScale().convertToDouble(),
          getOutputScale().convertToDouble(), r, error))
    return emitOpError("the scales cannot be requantized: ") << error;
  return success();
}

/// Shapes of a pooling op on static NCHW tensors: the window, strides and
/// padding [top, left, bottom, right] consistent with the result.
static LogicalResult verifyPool(Operation *op, RankedTensorType in,
                                RankedTensorType out, ArrayRef<int64_t> kernel,
                                ArrayRef<int64_t> strides,
                                ArrayRef<int64_t> padding) {
  for (int i = 0; i < 4; ++i)
    if (padding[i] >= kernel[i % 2])
      return op->emitOpError("padding must be smaller than the window");
  if (in.getDimSize(0) != out.getDimSize(0) ||
      in.getDimSize(1) != out.getDimSize(1))
    return op->emitOpError("input and result differ in batch or channels");
  for (int d = 0; d < 2; ++d) {
    int64_t span = in.getDimSize(2 + d) + padding[d] + padding[d + 2];
    int64_t expected =
        span < kernel[d] ? 0 : (span - kernel[d]) / strides[d] + 1;
    if (out.getDimSize(2 + d) != expected)
      return op->emitOpError("spatial dimension ")
             << d << " of the result is " << out.getDimSize(2 + d)
             << " but should be " << expected;
  }
  return success();
}

LogicalResult QuantizedMaxPool2DOp::verify() {
  return verifyPool(*this, getInput().getType(), getResult().getType(),
                    getKernel(), getStrides(), getPadding());
}

LogicalResult QuantizedAvgPool2DOp::verify() {
  int64_t noPadding[4] = {0, 0, 0, 0};
  if (failed(verifyPool(*this, getInput().getType(), getResult().getType(),
                        getKernel(), getStrides(), noPadding)))
    return failure();
  double sx = getInputScale().convertToDouble();
  double sy = getOutputScale().convertToDouble();
  ::sd::compression::Requantization r;
  std::string error;
  if (!::sd::compression::computeRequantization(
          sx / (sy * double(getKernel()[0] * getKernel()[1])), r, error))
    return emitOpError("the scales cannot be requantized: ") << error;
  return success();
}

LogicalResult QuantizedDepthwiseConv2DOp::verify() {
  RankedTensorType in = getInput().getType();
  RankedTensorType w = getWeight().getType();
  RankedTensorType out = getResult().getType();
  int64_t c = in.getDimSize(1);
  if (w.getDimSize(0) != c || w.getDimSize(1) != 1 ||
      out.getDimSize(1) != c || out.getDimSize(0) != in.getDimSize(0))
    return emitOpError("input ") << in << ", weight " << w << " and result "
                                 << out << " are not a depthwise convolution";
  for (int d = 0; d < 2; ++d) {
    int64_t size = in.getDimSize(2 + d), k = w.getDimSize(2 + d);
    int64_t expected = size < k ? 0 : (size - k) / getStrides()[d] + 1;
    if (out.getDimSize(2 + d) != expected)
      return emitOpError("spatial dimension ")
             << d << " of the result is " << out.getDimSize(2 + d)
             << " but should be " << expected;
  }
  return verifyBias(*this, getBias(), c);
}

//===----------------------------------------------------------------------===//
// Quantize / dequantize
//===----------------------------------------------------------------------===//

/// quantize(dequantize(q, s), s) is q: |q * s / s - q| is far below 1/2.
OpFoldResult QuantizeOp::fold(FoldAdaptor) {
  auto dq = getInput().getDefiningOp<DequantizeOp>();
  if (dq && dq.getScale() == getScale() &&
      dq.getInput().getType() == getResult().getType())
    return dq.getInput();
  return {};
}
