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
// Compute ops
//===----------------------------------------------------------------------===//

/// Checks the element types and the init/result/bias shapes shared by every
/// compute op. `outChannels` is the size the bias must have.
static LogicalResult verifyComputeCommon(Operation *op, Value input,
                                         RankedTensorType dense, Value bias,
                                         Value init, Value result,
                                         int64_t outChannels) {
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
  if (result.getType() != init.getType())
    return op->emitOpError("result type ")
           << result.getType() << " must equal the init type "
           << init.getType();
  if (bias) {
    auto biasType = cast<ShapedType>(bias.getType());
    if (biasType.getRank() != 1 || biasType.getDimSize(0) != outChannels)
      return op->emitOpError("bias must be a 1-D tensor of ")
             << outChannels << " elements, got " << biasType;
  }
  return success();
}

/// y[..., n] = init + sum_k x[..., k] * W[n, k].
static LogicalResult verifyMatmul(Operation *op, Value input,
                                  RankedTensorType dense, Value bias,
                                  Value init, Value result) {
  auto inputType = cast<RankedTensorType>(input.getType());
  auto initType = cast<RankedTensorType>(init.getType());
  if (dense.getRank() != 2)
    return op->emitOpError("expects a rank-2 (N x K) weight, got ") << dense;
  int64_t n = dense.getDimSize(0), k = dense.getDimSize(1);
  if (inputType.getRank() < 1 || inputType.getRank() != initType.getRank())
    return op->emitOpError("input ") << inputType << " and init " << initType
                                     << " must have the same rank, at least 1";
  if (!ShapedType::isDynamic(inputType.getShape().back()) &&
      inputType.getShape().back() != k)
    return op->emitOpError("input reduction size ")
           << inputType.getShape().back()
           << " does not match the weight's K = " << k;
  if (!ShapedType::isDynamic(initType.getShape().back()) &&
      initType.getShape().back() != n)
    return op->emitOpError("init last dimension ")
           << initType.getShape().back()
           << " does not match the weight's N = " << n;
  for (int64_t d = 0; d + 1 < inputType.getRank(); ++d)
    if (!ShapedType::isDynamic(inputType.getDimSize(d)) &&
        !ShapedType::isDynamic(initType.getDimSize(d)) &&
        inputType.getDimSize(d) != initType.getDimSize(d))
      return op->emitOpError("input and init differ in batch dimension ") << d;
  return verifyComputeCommon(op, input, dense, bias, init, result, n);
}

LogicalResult ShiftAddMatmulOp::verify() {
  return verifyMatmul(getOperation(), getInput(),
                      getWeight().getType().getDenseType(), getBias(),
                      getInit(), getResult());
}

LogicalResult PermDiagMatmulOp::verify() {
  return verifyMatmul(getOperation(), getInput(),
                      getWeight().getType().getDenseType(), getBias(),
                      getInit(), getResult());
}

LogicalResult ShiftAddConv2DOp::verify() {
  RankedTensorType dense = getWeight().getType().getDenseType();
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto initType = cast<RankedTensorType>(getInit().getType());
  if (dense.getRank() != 4)
    return emitOpError("expects a rank-4 (F x C x R x S) weight, got ")
           << dense;
  if (inputType.getRank() != 4 || initType.getRank() != 4)
    return emitOpError("input and init must be rank-4 tensors");
  if (getStrides().size() != 2 || getDilations().size() != 2)
    return emitOpError("strides and dilations must have 2 elements each");
  for (int64_t v : llvm::concat<const int64_t>(getStrides(), getDilations()))
    if (v < 1)
      return emitOpError("strides and dilations must be positive");

  bool nchw = getLayout() == ConvLayout::nchw;
  int64_t f = dense.getDimSize(0), c = dense.getDimSize(1);
  int64_t kernel[2] = {dense.getDimSize(2), dense.getDimSize(3)};
  int64_t inC = inputType.getDimSize(nchw ? 1 : 3);
  int64_t outF = initType.getDimSize(nchw ? 1 : 3);
  if (!ShapedType::isDynamic(inC) && inC != c)
    return emitOpError("input has ")
           << inC << " channels but the weight expects " << c;
  if (!ShapedType::isDynamic(outF) && outF != f)
    return emitOpError("init has ")
           << outF << " channels but the weight has " << f << " filters";
  if (!ShapedType::isDynamic(inputType.getDimSize(0)) &&
      !ShapedType::isDynamic(initType.getDimSize(0)) &&
      inputType.getDimSize(0) != initType.getDimSize(0))
    return emitOpError("input and init batch sizes differ");
  for (int d = 0; d < 2; ++d) {
    int64_t in = inputType.getDimSize(nchw ? 2 + d : 1 + d);
    int64_t out = initType.getDimSize(nchw ? 2 + d : 1 + d);
    if (ShapedType::isDynamic(in) || ShapedType::isDynamic(out))
      continue;
    int64_t span = getDilations()[d] * (kernel[d] - 1) + 1;
    int64_t expected = in < span ? 0 : (in - span) / getStrides()[d] + 1;
    if (out != expected)
      return emitOpError("spatial dimension ")
             << d << " of init is " << out << " but input size " << in
             << ", kernel " << kernel[d] << ", stride " << getStrides()[d]
             << " and dilation " << getDilations()[d] << " give " << expected;
  }
  return verifyComputeCommon(getOperation(), getInput(), dense, getBias(),
                             getInit(), getResult(), f);
}

//===----------------------------------------------------------------------===//
// Quantized ops
//===----------------------------------------------------------------------===//

/// A scale attribute the integer requantization can use.
static bool positiveScale(double v) { return v > 0 && std::isfinite(v); }

/// Element types, scales and bias shared by the quantized ops.
static LogicalResult verifyQuantizedCommon(Operation *op, Value input,
                                           Value result, Value bias,
                                           double inputScale,
                                           double outputScale,
                                           int64_t outChannels) {
  for (auto [name, value] :
       {std::pair<StringRef, Value>{"input", input}, {"result", result}}) {
    Type elem = cast<ShapedType>(value.getType()).getElementType();
    if (!elem.isSignlessInteger(8))
      return op->emitOpError() << name << " must hold i8 values, got " << elem;
  }
  if (!positiveScale(inputScale) || !positiveScale(outputScale))
    return op->emitOpError("input_scale and output_scale must be positive and "
                           "finite, got ")
           << inputScale << " and " << outputScale;
  if (bias) {
    auto biasType = cast<ShapedType>(bias.getType());
    if (!biasType.getElementType().isF32() || biasType.getRank() != 1 ||
        biasType.getDimSize(0) != outChannels)
      return op->emitOpError("bias must be a 1-D f32 tensor of ")
             << outChannels << " elements, got " << biasType;
  }
  return success();
}

LogicalResult QuantizedMatmulOp::verify() {
  RankedTensorType dense = denseTypeOf(getWeight().getType());
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto resultType = cast<RankedTensorType>(getResult().getType());
  if (dense.getRank() != 2)
    return emitOpError("expects a rank-2 (N x K) weight, got ") << dense;
  if (inputType.getRank() < 1 || inputType.getRank() != resultType.getRank())
    return emitOpError("input and result must have the same rank, at least 1");
  if (inputType.getShape().back() != dense.getDimSize(1))
    return emitOpError("input reduction size ")
           << inputType.getShape().back()
           << " does not match the weight's K = " << dense.getDimSize(1);
  if (resultType.getShape().back() != dense.getDimSize(0))
    return emitOpError("result last dimension ")
           << resultType.getShape().back()
           << " does not match the weight's N = " << dense.getDimSize(0);
  if (inputType.getShape().drop_back() != resultType.getShape().drop_back())
    return emitOpError("input and result differ in their batch dimensions");
  return verifyQuantizedCommon(*this, getInput(), getResult(), getBias(),
                               getInputScale().convertToDouble(),
                               getOutputScale().convertToDouble(),
                               dense.getDimSize(0));
}

LogicalResult QuantizedConv2DOp::verify() {
  RankedTensorType dense = getWeight().getType().getDenseType();
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto resultType = cast<RankedTensorType>(getResult().getType());
  if (dense.getRank() != 4 || inputType.getRank() != 4 ||
      resultType.getRank() != 4)
    return emitOpError("expects rank-4 NCHW input and result and an "
                       "F x C x R x S weight");
  if (getStrides().size() != 2 || getDilations().size() != 2)
    return emitOpError("strides and dilations must have 2 elements each");
  for (int64_t v : llvm::concat<const int64_t>(getStrides(), getDilations()))
    if (v < 1)
      return emitOpError("strides and dilations must be positive");
  if (inputType.getDimSize(1) != dense.getDimSize(1) ||
      resultType.getDimSize(1) != dense.getDimSize(0) ||
      inputType.getDimSize(0) != resultType.getDimSize(0))
    return emitOpError("input ") << inputType << " and result " << resultType
                                 << " do not match the weight " << dense;
  for (int d = 0; d < 2; ++d) {
    int64_t in = inputType.getDimSize(2 + d),
            out = resultType.getDimSize(2 + d);
    int64_t span = getDilations()[d] * (dense.getDimSize(2 + d) - 1) + 1;
    int64_t expected = in < span ? 0 : (in - span) / getStrides()[d] + 1;
    if (out != expected)
      return emitOpError("spatial dimension ")
             << d << " of the result is " << out << " but should be "
             << expected;
  }
  return verifyQuantizedCommon(*this, getInput(), getResult(), getBias(),
                               getInputScale().convertToDouble(),
                               getOutputScale().convertToDouble(),
                               dense.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// Quantized whole-network ops
//===----------------------------------------------------------------------===//

static LogicalResult verifyInt8(Operation *op, StringRef name, Value v) {
  Type elem = cast<ShapedType>(v.getType()).getElementType();
  if (!elem.isSignlessInteger(8))
    return op->emitOpError() << name << " must hold i8 values, got " << elem;
  return success();
}

LogicalResult QuantizedAddOp::verify() {
  for (auto [name, v] : {std::pair<StringRef, Value>{"lhs", getLhs()},
                         {"rhs", getRhs()},
                         {"result", getResult()}})
    if (failed(verifyInt8(*this, name, v)))
      return failure();
  auto shape = cast<RankedTensorType>(getLhs().getType()).getShape();
  if (cast<RankedTensorType>(getRhs().getType()).getShape() != shape ||
      cast<RankedTensorType>(getResult().getType()).getShape() != shape)
    return emitOpError("lhs, rhs and result must have the same shape");
  double sa = getLhsScale().convertToDouble();
  double sb = getRhsScale().convertToDouble();
  double sy = getOutputScale().convertToDouble();
  if (!positiveScale(sa) || !positiveScale(sb) || !positiveScale(sy))
    return emitOpError("lhs_scale, rhs_scale and output_scale must be "
                       "positive");
  ::sd::compression::AddRequantization r;
  std::string error;
  if (!::sd::compression::computeAddRequantization(sa, sb, sy, r, error))
    return emitOpError("the scales cannot be requantized: ") << error;
  return success();
}

/// Shapes of a pooling op: NCHW i8 in and out, the window, strides and
/// padding [top, left, bottom, right] consistent with the result.
static LogicalResult verifyPool(Operation *op, Value input, Value result,
                                ArrayRef<int64_t> kernel,
                                ArrayRef<int64_t> strides,
                                ArrayRef<int64_t> padding) {
  if (failed(verifyInt8(op, "input", input)) ||
      failed(verifyInt8(op, "result", result)))
    return failure();
  auto in = cast<RankedTensorType>(input.getType());
  auto out = cast<RankedTensorType>(result.getType());
  if (in.getRank() != 4 || out.getRank() != 4 || !in.hasStaticShape() ||
      !out.hasStaticShape())
    return op->emitOpError("expects static rank-4 NCHW input and result");
  if (kernel.size() != 2 || strides.size() != 2 || padding.size() != 4)
    return op->emitOpError("kernel and strides need 2 elements, padding 4");
  for (int d = 0; d < 2; ++d)
    if (kernel[d] < 1 || strides[d] < 1)
      return op->emitOpError("kernel and strides must be positive");
  for (int i = 0; i < 4; ++i)
    if (padding[i] < 0 || padding[i] >= kernel[i % 2])
      return op->emitOpError(
          "padding must be non-negative and smaller than the window");
  if (in.getDimSize(0) != out.getDimSize(0) ||
      in.getDimSize(1) != out.getDimSize(1))
    return op->emitOpError("input and result differ in batch or channels");
  for (int d = 0; d < 2; ++d) {
    int64_t span = in.getDimSize(2 + d) + padding[d] + padding[d + 2];
    int64_t expected = span < kernel[d] ? 0 : (span - kernel[d]) / strides[d] + 1;
    if (out.getDimSize(2 + d) != expected)
      return op->emitOpError("spatial dimension ")
             << d << " of the result is " << out.getDimSize(2 + d)
             << " but should be " << expected;
  }
  return success();
}

LogicalResult QuantizedMaxPool2DOp::verify() {
  return verifyPool(*this, getInput(), getResult(), getKernel(), getStrides(),
                    getPadding());
}

LogicalResult QuantizedAvgPool2DOp::verify() {
  int64_t noPadding[4] = {0, 0, 0, 0};
  if (failed(verifyPool(*this, getInput(), getResult(), getKernel(),
                        getStrides(), noPadding)))
    return failure();
  double sx = getInputScale().convertToDouble();
  double sy = getOutputScale().convertToDouble();
  if (!positiveScale(sx) || !positiveScale(sy))
    return emitOpError("input_scale and output_scale must be positive");
  ::sd::compression::Requantization r;
  std::string error;
  if (!::sd::compression::computeRequantization(
          sx / (sy * double(getKernel()[0] * getKernel()[1])), r, error))
    return emitOpError("the scales cannot be requantized: ") << error;
  return success();
}

LogicalResult QuantizedDepthwiseConv2DOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto w = cast<RankedTensorType>(getWeight().getType());
  auto out = cast<RankedTensorType>(getResult().getType());
  if (in.getRank() != 4 || out.getRank() != 4 || w.getRank() != 4 ||
      !in.hasStaticShape() || !out.hasStaticShape() || !w.hasStaticShape())
    return emitOpError("expects static rank-4 NCHW input and result and a "
                       "C x 1 x R x S weight");
  if (!w.getElementType().isF32())
    return emitOpError("weight must hold f32 values, got ")
           << w.getElementType();
  int64_t c = in.getDimSize(1);
  if (w.getDimSize(0) != c || w.getDimSize(1) != 1 ||
      out.getDimSize(1) != c || out.getDimSize(0) != in.getDimSize(0))
    return emitOpError("input ") << in << ", weight " << w << " and result "
                                 << out << " are not a depthwise convolution";
  if (getStrides().size() != 2 || getStrides()[0] < 1 || getStrides()[1] < 1)
    return emitOpError("strides must be 2 positive values");
  for (int d = 0; d < 2; ++d) {
    int64_t size = in.getDimSize(2 + d), k = w.getDimSize(2 + d);
    int64_t expected = size < k ? 0 : (size - k) / getStrides()[d] + 1;
    if (out.getDimSize(2 + d) != expected)
      return emitOpError("spatial dimension ")
             << d << " of the result is " << out.getDimSize(2 + d)
             << " but should be " << expected;
  }
  return verifyQuantizedCommon(*this, getInput(), getResult(), getBias(),
                               getInputScale().convertToDouble(),
                               getOutputScale().convertToDouble(), c);
}

//===----------------------------------------------------------------------===//
// Quantize / dequantize
//===----------------------------------------------------------------------===//

/// One float side, one int8 side, and a positive finite scale.
static LogicalResult verifyBoundary(Operation *op, Value floatSide,
                                    Value intSide, double scale) {
  Type f = cast<ShapedType>(floatSide.getType()).getElementType();
  if (!f.isF32())
    return op->emitOpError("the float side must hold f32 values, got ") << f;
  if (failed(verifyInt8(op, "the int8 side", intSide)))
    return failure();
  if (!positiveScale(scale))
    return op->emitOpError("scale must be positive and finite, got ") << scale;
  return success();
}

LogicalResult QuantizeOp::verify() {
  return verifyBoundary(*this, getInput(), getResult(),
                        getScale().convertToDouble());
}

LogicalResult DequantizeOp::verify() {
  return verifyBoundary(*this, getResult(), getInput(),
                        getScale().convertToDouble());
}

/// quantize(dequantize(q, s), s) is q: |q * s / s - q| is far below 1/2.
OpFoldResult QuantizeOp::fold(FoldAdaptor) {
  auto dq = getInput().getDefiningOp<DequantizeOp>();
  if (dq && dq.getScale() == getScale() &&
      dq.getInput().getType() == getResult().getType())
    return dq.getInput();
  return {};
}
