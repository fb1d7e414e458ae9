//===- Pipelines.h - Named sd pass pipelines --------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_PIPELINES_PIPELINES_H
#define SD_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace sd {

/// What the tensor-to-LLVM lowering does beyond plain loops.
struct TensorToLLVMOptions {
  /// Tile and vectorize the linalg ops (sd-vectorize-dense).
  bool vectorize = false;
  /// Parallel loops become OpenMP work-sharing loops (link with libomp).
  bool openmp = false;
  /// Buffers come from `_mlir_memref_to_llvm_alloc`/`_free`
  /// (lib/CPURuntime/Alloc.c, which keeps freed buffers for the next call).
  bool cachedAlloc = false;
  /// Tile shape of sd-vectorize-dense (its lanes, rows and depth options).
  int64_t denseLanes = 8, denseRows = 4, denseDepth = 16;
};

/// Lowers upstream tensor-level IR (linalg, tensor, arith, func) to the LLVM
/// dialect through bufferization and scalar loops.
void buildTensorToLLVMPipeline(OpPassManager &pm);
void buildTensorToLLVMPipeline(OpPassManager &pm,
                               const TensorToLLVMOptions &options);

/// The reference path: sd ops to linalg on rebuilt dense weights
/// (convert-sd-to-linalg), then buildTensorToLLVMPipeline.
void buildReferenceToLLVMPipeline(OpPassManager &pm);

/// Options of the CPU backend's pipeline (`--sd-cpu-to-llvm=openmp=true`).
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<bool> openmp{
      *this, "openmp",
      llvm::cl::desc("Run parallel loops on OpenMP threads (the library then "
                     "needs libomp; scripts/sd-compile.sh links it)"),
      llvm::cl::init(false)};
  Option<bool> cachedAlloc{
      *this, "cached-alloc",
      llvm::cl::desc("Allocate buffers through _mlir_memref_to_llvm_alloc and "
                     "_free, which lib/CPURuntime/Alloc.c defines "
                     "(scripts/sd-compile.sh links it): freed activations are "
                     "reused by the next call instead of being page-faulted "
                     "in again"),
      llvm::cl::init(false)};
  Option<int64_t> denseLanes{
      *this, "dense-lanes",
      llvm::cl::desc("sd-vectorize-dense: vector width along the output's "
                     "last dimension"),
      llvm::cl::init(8)};
  Option<int64_t> denseRows{
      *this, "dense-rows",
      llvm::cl::desc("sd-vectorize-dense: output rows per contraction tile"),
      llvm::cl::init(4)};
  Option<int64_t> denseDepth{
      *this, "dense-depth",
      llvm::cl::desc("sd-vectorize-dense: reduction steps per contraction "
                     "tile"),
      llvm::cl::init(16)};
};

/// The CPU backend: sd ops to vectorized kernels that keep weights
/// compressed (convert-sd-to-cpu), the dense ops tiled and vectorized
/// (sd-vectorize-dense), then buildTensorToLLVMPipeline.
void buildCPUToLLVMPipeline(OpPassManager &pm);
void buildCPUToLLVMPipeline(OpPassManager &pm,
                            const CPUPipelineOptions &options);

/// Options of `sd-compress`.
struct CompressOptions : public PassPipelineOptions<CompressOptions> {
  Option<std::string> plan{
      *this, "plan",
      llvm::cl::desc("Per-layer plan file (JSON; docs/Driver.md): forms, "
                     "decomposition settings, skips")};
  Option<std::string> report{
      *this, "report",
      llvm::cl::desc("Write sd-decompose's per-layer report (JSON and .md)")};
  Option<std::string> permdiagReport{
      *this, "permdiag-report",
      llvm::cl::desc("Write sd-permdiag's per-layer report (with a plan)")};
};

/// Compression from a plan: sd-permdiag for the plan's permdiag layers
/// (only with a plan; without one every layer is se), sd-decompose, then
/// the contract check (`stage=compressed`).
void buildCompressPipeline(OpPassManager &pm, const CompressOptions &options);

/// Options of `sd-to-accelerator`.
struct AcceleratorOptions : public PassPipelineOptions<AcceleratorOptions> {
  Option<std::string> stats{
      *this, "stats",
      llvm::cl::desc("Calibration statistics (JSON; docs/Accelerator.md) "
                     "giving max|x| per named tensor")};
  Option<std::string> report{
      *this, "report",
      llvm::cl::desc("Write sd-quantize's per-op accelerator/host decisions")};
  Option<std::string> config{
      *this, "config",
      llvm::cl::desc("Hardware configuration JSON the layers are split to "
                     "and the segments must build for (default: the "
                     "built-in smartdeal-default)")};
};

/// The accelerator path of a compressed model: sd-quantize with the
/// calibration statistics, sd-schedule (layers split to the buffers of the
/// configuration), sd-partition into host code and accelerator segments,
/// then the contract check (`stage=accelerator`: every segment
/// builds into a program; `sd-translate --sd-to-sdacc
/// --sdacc-function=<segment>` writes it).
void buildToAcceleratorPipeline(OpPassManager &pm,
                                const AcceleratorOptions &options);

/// Lowers TOSA to linalg-on-tensors through upstream tosa-to-linalg.
void buildTosaToLinalgPipeline(OpPassManager &pm);

/// Registers the named pipelines and the contract check with the pass
/// registry.
void registerSDPipelines();

} // namespace sd
} // namespace mlir

#endif // SD_PIPELINES_PIPELINES_H
