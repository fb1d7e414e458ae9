//===- Pipelines.cpp - Named sd pass pipelines ----------------------------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Pipelines/Pipelines.h"
#include "SD/Pipelines/Passes.h"
#include "SD/Conversion/Passes.h"
#include "SD/Conversion/SDToCPU/SDToCPU.h"
#include "SD/Dialect/SD/Transforms/Passes.h"
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
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::sd::buildTensorToLLVMPipeline(OpPassManager &pm) {
  buildTensorToLLVMPipeline(pm, TensorToLLVMOptions());
}

void mlir::sd::buildTensorToLLVMPipeline(OpPassManager &pm,
                                         const TensorToLLVMOptions &options) {
  // Parameters held in immutable ml_program globals (torch-mlir's FX path)
  // become constants: bufferization has no rule for global_load_const.
  pm.addPass(mlir::sd::createSDFoldGlobalConstantsPass());
  // Elementwise arith on whole tensors (casts, adds) becomes linalg, which
  // bufferizes; scalar arith is untouched.
  pm.addPass(createConvertElementwiseToLinalgPass());
  if (options.vectorize) {
    // Tiled and vectorized op by op. (Upstream elementwise fusion first
    // gave wrong results on the OCR recognizer together with this tiling;
    // left out until that is understood.)
    SDVectorizeDensePassOptions tiles;
    tiles.lanes = options.denseLanes;
    tiles.rows = options.denseRows;
    tiles.depth = options.denseDepth;
    pm.addNestedPass<func::FuncOp>(mlir::sd::createSDVectorizeDensePass(tiles));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    // Producers write into the buffers their results are inserted into
    // (padded inputs of convolutions) instead of a temporary and a copy.
    pm.addPass(bufferization::createEmptyTensorEliminationPass());
  }
  // Function boundaries are bufferized too, with identity layouts, so the
  // lowered functions take plain memref descriptors a C caller can build.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Tiles written in place leave copies of a subview onto an identical
  // subview (parallel_insert_slice, insert_slice into the buffer the
  // producer wrote); CSE makes them self-copies, which fold away.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  // Frees every temporary buffer; without it each call leaks its rebuilt
  // weights.
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(mlir::sd::createConvertMemRefCopyToLinalgPass());
  if (options.openmp) {
    // Tile loops (scf.forall) and what is left of linalg (parallel
    // dimensions) become scf.parallel, and those become OpenMP work-sharing
    // loops over the cores (libomp at run time).
    pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
    pm.addPass(createConvertSCFToOpenMPPass());
    // Each parallel body is wrapped in a memref.alloca_scope, which must
    // stay one block: canonicalization inlines the scopes that allocate
    // nothing before the loops inside become branches.
    pm.addPass(createCanonicalizerPass());
  } else {
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  }
  // Transfers with out-of-bounds lanes become guarded 1-D transfers.
  // Multi-dimensional transfers of vectorized tiles are unrolled into 1-D
  // ones in registers; the default goes through stack buffers, and in a
  // loop body (a parallel one especially) those would pile up.
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // Before the vector lowering: libm calls on vector operands are
  // scalarized with vector.extract/from_elements, which it must see.
  // Functions LLVM has no intrinsic for (erf for GELU, rsqrt for layer
  // norm) become arithmetic or libm calls; the rest become intrinsics.
  math::MathExpandOpsPassOptions expand;
  expand.opMnemonics = {"rsqrt"};
  pm.addPass(math::createMathExpandOpsPass(expand));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  ConvertVectorToLLVMPassOptions vectorOptions;
  // Kernels sum partial dot products in vector lanes; a tree reduction of
  // the lanes is as exact as the kernels' own summation order.
  vectorOptions.reassociateFPReductions = true;
  // Contractions of vectorized matmul tiles as broadcast-FMA outer products.
  vectorOptions.vectorContractLowering =
      vector::VectorContractLowering::OuterProduct;
  pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
  pm.addPass(createArithToLLVMConversionPass());
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = options.cachedAlloc;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  // Padding values of vectorized reads (ub.poison).
  pm.addPass(createUBToLLVMConversionPass());
  if (options.openmp)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createSDCheckContractPass({/*stage=*/"llvm"}));
}

void mlir::sd::buildReferenceToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(mlir::sd::createConvertSDToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  buildTensorToLLVMPipeline(pm);
}

void mlir::sd::buildCPUToLLVMPipeline(OpPassManager &pm) {
  buildCPUToLLVMPipeline(pm, CPUPipelineOptions());
}

void mlir::sd::buildCPUToLLVMPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &cpu) {
  // Object files and shared libraries are called from C.
  pm.addPass(mlir::sd::createSDEmitCInterfacePass());
  pm.addPass(mlir::sd::createConvertSDToCPUPass());
  // int-k layers keep one byte per weight.
  pm.addNestedPass<func::FuncOp>(mlir::sd::createSDIntWeightsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  TensorToLLVMOptions options;
  options.vectorize = true;
  options.openmp = cpu.openmp;
  options.cachedAlloc = cpu.cachedAlloc;
  options.denseLanes = cpu.denseLanes;
  options.denseRows = cpu.denseRows;
  options.denseDepth = cpu.denseDepth;
  buildTensorToLLVMPipeline(pm, options);
}

void mlir::sd::buildCompressPipeline(OpPassManager &pm,
                                     const CompressOptions &options) {
  if (!options.plan.empty()) {
    SDPermDiagPassOptions permdiag;
    permdiag.planFile = options.plan;
    permdiag.report = options.permdiagReport;
    pm.addPass(createSDPermDiagPass(permdiag));
  }
  SDDecomposePassOptions decompose;
  decompose.planFile = options.plan;
  decompose.report = options.report;
  pm.addPass(createSDDecomposePass(decompose));
  pm.addPass(createSDCheckContractPass({/*stage=*/"compressed"}));
}

void mlir::sd::buildToAcceleratorPipeline(OpPassManager &pm,
                                          const AcceleratorOptions &options) {
  SDQuantizePassOptions quantize;
  quantize.stats = options.stats;
  quantize.report = options.report;
  pm.addPass(createSDQuantizePass(quantize));
  SDSchedulePassOptions schedule;
  schedule.config = options.config;
  pm.addPass(createSDSchedulePass(schedule));
  pm.addPass(createSDPartitionPass());
  pm.addPass(createSDCheckContractPass({/*stage=*/"accelerator",
                                        /*configPath=*/options.config}));
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
  registerSDPipelinesPasses();
  PassPipelineRegistration<CompressOptions>(
      "sd-compress",
      "Compress an imported model from a plan (sd-permdiag, sd-decompose), "
      "ending in the contract check",
      buildCompressPipeline);
  PassPipelineRegistration<AcceleratorOptions>(
      "sd-to-accelerator",
      "Quantize a compressed model from calibration statistics, split its "
      "layers to the buffers and cut it into host code and accelerator "
      "segments (sd-quantize, sd-schedule, sd-partition), ending in the "
      "contract check",
      buildToAcceleratorPipeline);
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
  PassPipelineRegistration<CPUPipelineOptions>(
      "sd-cpu-to-llvm",
      "Lower sd ops to vectorized kernels on compressed weights and on to "
      "the LLVM dialect (the CPU backend)",
      [](OpPassManager &pm, const CPUPipelineOptions &options) {
        buildCPUToLLVMPipeline(pm, options);
      });
  PassPipelineRegistration<>(
      "sd-tensor-to-llvm",
      "Lower upstream tensor-level IR (linalg, tensor, arith, func) to the "
      "LLVM dialect",
      [](OpPassManager &pm) { buildTensorToLLVMPipeline(pm); });
}
