//===- Pipelines.cpp - Named sd pass pipelines ----------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Pipelines/Pipelines.h"
#include "SD/Conversion/Passes.h"
#include "SD/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::sd::buildTensorToLLVMPipeline(OpPassManager &pm) {
  // Elementwise arith on whole tensors (casts, adds) becomes linalg, which
  // bufferizes; scalar arith is untouched.
  pm.addPass(createConvertElementwiseToLinalgPass());
  // Function boundaries are bufferized too, with identity layouts, so the
  // lowered functions take plain memref descriptors a C caller can build.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Frees every temporary buffer; without it each call leaks its rebuilt
  // weights.
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(mlir::sd::createConvertMemRefCopyToLinalgPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // Transfers with out-of-bounds lanes become guarded 1-D transfers.
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  ConvertVectorToLLVMPassOptions vectorOptions;
  // Kernels sum partial dot products in vector lanes; a tree reduction of
  // the lanes is as exact as the kernels' own summation order.
  vectorOptions.reassociateFPReductions = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
  // Functions LLVM has no intrinsic for (erf for GELU, rsqrt for layer
  // norm) become arithmetic or libm calls; the rest become intrinsics.
  math::MathExpandOpsPassOptions expand;
  expand.opMnemonics = {"rsqrt"};
  pm.addPass(math::createMathExpandOpsPass(expand));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::sd::buildReferenceToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(mlir::sd::createConvertSDToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  buildTensorToLLVMPipeline(pm);
}

void mlir::sd::buildCPUToLLVMPipeline(OpPassManager &pm) {
  // Object files and shared libraries are called from C.
  pm.addPass(mlir::sd::createSDEmitCInterfacePass());
  pm.addPass(mlir::sd::createConvertSDToCPUPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  buildTensorToLLVMPipeline(pm);
}

void mlir::sd::buildTosaToLinalgPipeline(OpPassManager &pm) {
  // Upstream's own TOSA pipeline (it nests into functions itself; named ops
  // come first, so convolutions and matmuls arrive as the linalg ops
  // sd-decompose matches), then the reshapes and constants it leaves.
  tosa::addTosaToLinalgPasses(pm, TosaToLinalgOptions());
  OpPassManager &func = pm.nest<func::FuncOp>();
  func.addPass(createTosaToTensorPass());
  func.addPass(createTosaToArithPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::sd::registerSDPipelines() {
  PassPipelineRegistration<>(
      "sd-tosa-to-linalg",
      "Lower TOSA (current syntax) to linalg-on-tensors, the form "
      "sd-decompose reads",
      buildTosaToLinalgPipeline);
  PassPipelineRegistration<>(
      "sd-reference-to-llvm",
      "Lower sd ops through dense rebuilt weights and upstream linalg to the "
      "LLVM dialect (the reference path, runnable by mlir-runner)",
      buildReferenceToLLVMPipeline);
  PassPipelineRegistration<>(
      "sd-cpu-to-llvm",
      "Lower sd ops to vectorized kernels on compressed weights and on to "
      "the LLVM dialect (the CPU backend)",
      buildCPUToLLVMPipeline);
  PassPipelineRegistration<>(
      "sd-tensor-to-llvm",
      "Lower upstream tensor-level IR (linalg, tensor, arith, func) to the "
      "LLVM dialect",
      buildTensorToLLVMPipeline);
}
