//===- RoundBasis.cpp - Bases in the precision the report counts ----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The decomposition report counts every SmartExchange basis entry at 8 bits,
// but the decomposition (and the data-aware refits after it) leave f32
// bases. This pass rounds them to what is counted: per output row o (all
// its blocks' 3x3 bases), B = q * 2^e with |q| <= 2^(bits-1) - 1 and the
// smallest e that fits the row's largest magnitude. A power-of-two row scale
// keeps q * 2^e exact in f32, so the CPU backend can store q in `bits` bits
// with the row's scale and rebuild exactly the values every other consumer
// (the reference lowering, the ONNX export, the accelerator) reads.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/IR/SDElements.h"
#include "SD/Dialect/SD/IR/SDOps.h"
#include "SD/Dialect/SD/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cmath>

namespace mlir::sd {
#define GEN_PASS_DEF_SDROUNDBASISPASS
#include "SD/Dialect/SD/Transforms/Passes.h.inc"
} // namespace mlir::sd

using namespace mlir;
using namespace mlir::sd;

namespace {

struct SDRoundBasisPass
    : mlir::sd::impl::SDRoundBasisPassBase<SDRoundBasisPass> {
  using Base::Base;

  void runOnOperation() override {
    if (bits < 2 || bits > 16) {
      emitError(getOperation().getLoc())
          << "sd-round-basis: bits must be in [2, 16], got " << int(bits);
      return signalPassFailure();
    }
    double top = double((1 << (bits - 1)) - 1);
    WalkResult result = getOperation().walk([&](SEConstantOp op) {
      auto attr = op.getBasis();
      auto type = cast<RankedTensorType>(attr.getType());
      FailureOr<SmallVector<float>> values = readFloats(attr);
      if (failed(values)) {
        op.emitError() << "basis data is unreadable (elided or missing)";
        return WalkResult::interrupt();
      }
      int64_t rows = type.getDimSize(0);
      int64_t per = type.getNumElements() / rows;
      for (int64_t o = 0; o < rows; ++o) {
        MutableArrayRef<float> row(values->data() + o * per, per);
        float a = 0;
        for (float v : row)
          a = std::max(a, std::fabs(v));
        if (a == 0 || !std::isfinite(a))
          continue;
        // Smallest e with a / 2^e <= top.
        int e = int(std::ceil(std::log2(double(a) / top)));
        while (std::ldexp(top, e) < a)
          ++e;
        for (float &v : row)
          v = float(std::ldexp(std::nearbyint(std::ldexp(double(v), -e)), e));
      }
      // Resource blobs are replaced in place, so they keep their names (the
      // driver's export and the Python readers look bases up by name).
      if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
        resource.getRawHandle().getResource()->setBlob(
            HeapAsmResourceBlob::allocateAndCopyInferAlign(
                ArrayRef<float>(*values)));
      else
        op.setBasisAttr(DenseElementsAttr::get(type, ArrayRef<float>(*values)));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
