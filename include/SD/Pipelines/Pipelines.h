//===- Pipelines.h - Named sd pass pipelines --------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_PIPELINES_PIPELINES_H
#define SD_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;
namespace sd {

/// Lowers upstream tensor-level IR (linalg, tensor, arith, func) to the LLVM
/// dialect through bufferization and scalar loops.
void buildTensorToLLVMPipeline(OpPassManager &pm);

/// The reference path: sd ops to linalg on rebuilt dense weights
/// (convert-sd-to-linalg), then buildTensorToLLVMPipeline.
void buildReferenceToLLVMPipeline(OpPassManager &pm);

/// The CPU backend: sd ops to vectorized kernels that keep weights
/// compressed (convert-sd-to-cpu), then buildTensorToLLVMPipeline.
void buildCPUToLLVMPipeline(OpPassManager &pm);

/// Lowers TOSA to linalg-on-tensors through upstream tosa-to-linalg.
void buildTosaToLinalgPipeline(OpPassManager &pm);

/// Registers the named pipelines with the pass registry.
void registerSDPipelines();

} // namespace sd
} // namespace mlir

#endif // SD_PIPELINES_PIPELINES_H
