//===- SDElements.cpp - Read constant tensors, inline or resource ---------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/IR/SDElements.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Operation.h"

#include <cstring>

using namespace mlir;

/// Raw bytes of a resource-backed attribute, or nullopt when the data is not
/// present (elided on print, or the resource section is missing).
static std::optional<ArrayRef<char>>
resourceBytes(DenseResourceElementsAttr r) {
  const AsmResourceBlob *blob = r.getRawHandle().getBlob();
  if (!blob)
    return std::nullopt;
  return blob->getData();
}

/// Bytes per stored element in our blobs: sub-byte integers take one byte.
static int64_t storageBytes(Type elementType) {
  return std::max<int64_t>(1, (elementType.getIntOrFloatBitWidth() + 7) / 8);
}

bool mlir::sd::hasData(ElementsAttr attr) {
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  return !resource || resourceBytes(resource).has_value();
}

std::string mlir::sd::unreadableReason(ElementsAttr attr) {
  if (isa<DenseElementsAttr>(attr))
    return {};
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!resource)
    return "values of this constant kind cannot be read";
  if (resource.getRawHandle().getKey() == "__elided__")
    return "the weight data was elided when the file was printed "
           "(dense_resource<__elided__>)";
  std::optional<ArrayRef<char>> bytes = resourceBytes(resource);
  if (!bytes)
    return "dense_resource blob '" + resource.getRawHandle().getKey().str() +
           "' has no data (missing dialect_resources entry)";
  Type elementType = resource.getType().getElementType();
  if (!elementType.isIntOrFloat())
    return "dense_resource elements must be integers or floats";
  int64_t expected = resource.getNumElements() * storageBytes(elementType);
  if (static_cast<int64_t>(bytes->size()) != expected)
    return "dense_resource blob '" + resource.getRawHandle().getKey().str() +
           "' holds " + std::to_string(bytes->size()) + " bytes but " +
           std::to_string(expected) + " are needed";
  return {};
}

LogicalResult mlir::sd::verifyConstantData(Operation *root,
                                           StringRef consumer) {
  WalkResult result = root->walk([&](Operation *op) {
    for (NamedAttribute named : op->getAttrs()) {
      WalkResult found = named.getValue().walk([&](ElementsAttr attr) {
        if (hasData(attr))
          return WalkResult::advance();
        op->emitError() << consumer << " needs the values of '"
                        << named.getName().getValue()
                        << "': " << unreadableReason(attr);
        return WalkResult::interrupt();
      });
      if (found.wasInterrupted())
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

FailureOr<SmallVector<int64_t>> mlir::sd::readIntegers(ElementsAttr attr) {
  auto intType = dyn_cast<IntegerType>(attr.getElementType());
  if (!intType || !unreadableReason(attr).empty())
    return failure();
  unsigned width = intType.getWidth();
  SmallVector<int64_t> values;
  values.reserve(attr.getNumElements());
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    for (APInt v : dense.getValues<APInt>())
      values.push_back(intType.isUnsigned() ? int64_t(v.getZExtValue())
                                            : v.getSExtValue());
    return values;
  }
  ArrayRef<char> bytes = *resourceBytes(cast<DenseResourceElementsAttr>(attr));
  int64_t stride = storageBytes(intType);
  for (int64_t i = 0, e = attr.getNumElements(); i < e; ++i) {
    uint64_t raw = 0;
    std::memcpy(&raw, bytes.data() + i * stride, stride); // little endian
    APInt v(64, raw);
    v = v.trunc(width);
    values.push_back(intType.isUnsigned() ? int64_t(v.getZExtValue())
                                          : v.getSExtValue());
  }
  return values;
}

FailureOr<SmallVector<float>> mlir::sd::readFloats(ElementsAttr attr) {
  auto floatType = dyn_cast<FloatType>(attr.getElementType());
  if (!floatType || !unreadableReason(attr).empty())
    return failure();
  SmallVector<float> values;
  values.reserve(attr.getNumElements());
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    for (APFloat v : dense.getValues<APFloat>()) {
      bool lost = false;
      v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(v.convertToFloat());
    }
    return values;
  }
  ArrayRef<char> bytes = *resourceBytes(cast<DenseResourceElementsAttr>(attr));
  unsigned width = floatType.getWidth();
  for (int64_t i = 0, e = attr.getNumElements(); i < e; ++i) {
    uint64_t raw = 0;
    std::memcpy(&raw, bytes.data() + i * (width / 8), width / 8);
    APFloat v(floatType.getFloatSemantics(), APInt(width, raw));
    bool lost = false;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    values.push_back(v.convertToFloat());
  }
  return values;
}

ElementsAttr mlir::sd::makeIntegerConstant(RankedTensorType type,
                                           ArrayRef<int8_t> values,
                                           StringRef nameHint,
                                           int64_t resourceThreshold) {
  if (type.getNumElements() < resourceThreshold) {
    unsigned width = type.getElementType().getIntOrFloatBitWidth();
    SmallVector<APInt> ints;
    for (int8_t v : values)
      ints.push_back(
          APInt(width, v, /*isSigned=*/true, /*implicitTrunc=*/true));
    return DenseElementsAttr::get(type, ints);
  }
  return DenseResourceElementsAttr::get(
      type, nameHint, HeapAsmResourceBlob::allocateAndCopyInferAlign(values));
}

ElementsAttr mlir::sd::makeFloatConstant(RankedTensorType type,
                                         ArrayRef<float> values,
                                         StringRef nameHint,
                                         int64_t resourceThreshold) {
  assert(type.getElementType().isF32() && "only f32 constants are built");
  if (type.getNumElements() < resourceThreshold)
    return DenseElementsAttr::get(type, values);
  return DenseResourceElementsAttr::get(
      type, nameHint, HeapAsmResourceBlob::allocateAndCopyInferAlign(values));
}
