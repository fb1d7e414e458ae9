//===- SDTypes.cpp - sd dialect types -------------------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/IR/SDTypes.h"
#include "SD/Compression/Limits.h"
#include "SD/Dialect/SD/IR/SDDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sd;

#define GET_TYPEDEF_CLASSES
#include "SD/Dialect/SD/IR/SDTypes.cpp.inc"

void SDDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "SD/Dialect/SD/IR/SDTypes.cpp.inc"
      >();
}

/// Parses `<` dims `x` element-type, the shared head of both weight types.
static ParseResult parseDenseHead(AsmParser &parser,
                                  SmallVectorImpl<int64_t> &shape,
                                  Type &elementType) {
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/true) ||
      parser.parseType(elementType))
    return failure();
  return success();
}

static void printDenseHead(AsmPrinter &printer, ArrayRef<int64_t> shape,
                           Type elementType) {
  printer << '<';
  for (int64_t d : shape)
    printer << d << 'x';
  printer << elementType;
}

static LogicalResult verifyDenseShape(function_ref<InFlightDiagnostic()> emit,
                                      ArrayRef<int64_t> shape,
                                      Type elementType) {
  if (!isa<FloatType>(elementType))
    return emit() << "weight element type must be a float type, got "
                  << elementType;
  for (int64_t d : shape)
    if (d <= 0)
      return emit() << "weight dimensions must be positive";
  // Checked here, before any verifier or pass counts or reads elements.
  if (::sd::compression::boundedProduct(shape.data(), shape.size(),
                                        ::sd::compression::kMaxWeightElements) <
      0)
    return emit() << "weight has more than "
                  << ::sd::compression::kMaxWeightElements
                  << " (2^31 - 1) elements";
  return success();
}

//===----------------------------------------------------------------------===//
// SEWeightType
//===----------------------------------------------------------------------===//

Type SEWeightType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape, blocks;
  Type elementType;
  int64_t minExp = 0, maxExp = 0;
  if (parseDenseHead(parser, shape, elementType) || parser.parseComma() ||
      parser.parseKeyword("blocks") || parser.parseEqual() ||
      parser.parseDimensionList(blocks, /*allowDynamic=*/false,
                                /*withTrailingX=*/false))
    return {};
  if (blocks.size() != 2) {
    parser.emitError(parser.getCurrentLocation(),
                     "expected blocks as <numBlocks>x<blockRows>");
    return {};
  }
  if (parser.parseComma() || parser.parseKeyword("exponents") ||
      parser.parseEqual() || parser.parseLSquare() ||
      parser.parseInteger(minExp) || parser.parseComma() ||
      parser.parseInteger(maxExp) || parser.parseRSquare() ||
      parser.parseGreater())
    return {};
  return SEWeightType::getChecked(
      [&] { return parser.emitError(parser.getNameLoc()); },
      parser.getContext(), shape, elementType, blocks[0], blocks[1], minExp,
      maxExp);
}

void SEWeightType::print(AsmPrinter &printer) const {
  printDenseHead(printer, getShape(), getElementType());
  printer << ", blocks = " << getNumBlocks() << 'x' << getBlockRows()
          << ", exponents = [" << getMinExp() << ", " << getMaxExp() << "]>";
}

LogicalResult SEWeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                                   ArrayRef<int64_t> shape, Type elementType,
                                   int64_t numBlocks, int64_t blockRows,
                                   int64_t minExp, int64_t maxExp) {
  if (failed(verifyDenseShape(emitError, shape, elementType)))
    return failure();
  ::sd::compression::BlockLayout layout{
      std::vector<int64_t>(shape.begin(), shape.end()), numBlocks, blockRows};
  std::string problem = layout.verify();
  if (!problem.empty())
    return emitError() << problem;
  if (minExp > maxExp)
    return emitError() << "exponent range [" << minExp << ", " << maxExp
                       << "] is empty";
  // Codes are stored in at most 8 bits: sign plus 127 magnitudes.
  if (maxExp - minExp + 1 > 127)
    return emitError() << "exponent range [" << minExp << ", " << maxExp
                       << "] has more than 127 levels";
  return success();
}

RankedTensorType SEWeightType::getDenseType() const {
  return RankedTensorType::get(getShape(), getElementType());
}

::sd::compression::BlockLayout SEWeightType::getLayout() const {
  return {std::vector<int64_t>(getShape().begin(), getShape().end()),
          getNumBlocks(), getBlockRows()};
}

::sd::compression::ExponentRange SEWeightType::getExponentRange() const {
  return {static_cast<int>(getMinExp()), static_cast<int>(getMaxExp())};
}

SmallVector<int64_t> SEWeightType::getCodesShape() const {
  std::vector<int64_t> s = getLayout().codesShape();
  return SmallVector<int64_t>(s.begin(), s.end());
}

SmallVector<int64_t> SEWeightType::getBasisShape() const {
  std::vector<int64_t> s = getLayout().basisShape();
  return SmallVector<int64_t>(s.begin(), s.end());
}

//===----------------------------------------------------------------------===//
// PermDiagWeightType
//===----------------------------------------------------------------------===//

Type PermDiagWeightType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  Type elementType;
  int64_t blockSize = 0;
  if (parseDenseHead(parser, shape, elementType) || parser.parseComma() ||
      parser.parseKeyword("p") || parser.parseEqual() ||
      parser.parseInteger(blockSize) || parser.parseGreater())
    return {};
  return PermDiagWeightType::getChecked(
      [&] { return parser.emitError(parser.getNameLoc()); },
      parser.getContext(), shape, elementType, blockSize);
}

void PermDiagWeightType::print(AsmPrinter &printer) const {
  printDenseHead(printer, getShape(), getElementType());
  printer << ", p = " << getBlockSize() << '>';
}

LogicalResult
PermDiagWeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                           ArrayRef<int64_t> shape, Type elementType,
                           int64_t blockSize) {
  if (shape.size() != 2)
    return emitError() << "permuted-diagonal weight must be rank 2 (M x N), "
                          "got rank "
                       << shape.size();
  if (failed(verifyDenseShape(emitError, shape, elementType)))
    return failure();
  if (blockSize < 1)
    return emitError() << "block size p must be positive, got " << blockSize;
  // p values per block: the values tensor may not outgrow the limit either.
  // Dimensions are positive here; this ceil cannot overflow.
  int64_t values[] = {(shape[0] - 1) / blockSize + 1,
                      (shape[1] - 1) / blockSize + 1, blockSize};
  if (::sd::compression::boundedProduct(
          values, 3, ::sd::compression::kMaxWeightElements) < 0)
    return emitError() << "block size p = " << blockSize << " gives more than "
                       << ::sd::compression::kMaxWeightElements
                       << " (2^31 - 1) stored values";
  return success();
}

RankedTensorType PermDiagWeightType::getDenseType() const {
  return RankedTensorType::get(getShape(), getElementType());
}

int64_t PermDiagWeightType::getRowBlocks() const {
  return llvm::divideCeil(getShape()[0], getBlockSize());
}

int64_t PermDiagWeightType::getColBlocks() const {
  return llvm::divideCeil(getShape()[1], getBlockSize());
}
