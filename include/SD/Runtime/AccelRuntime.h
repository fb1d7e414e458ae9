//===- AccelRuntime.h - Host runtime of offloaded segments ------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The C interface of libSDAccelRuntime (lib/Runtime): a host library
// compiled by the CPU backend from a model after --sd-partition and
// --sd-offload calls the three entry points below for each accelerator
// segment; the runtime runs the segment's program on the simulator and
// keeps its cycles, traffic and energy. A driver (smartdeal.runtime.hybrid)
// initializes it, calls the model, then reads the error and the report.
//
// Memrefs arrive in MLIR's C convention for unranked memrefs: the rank and
// a pointer to the ranked descriptor {allocated, aligned, offset,
// sizes[rank], strides[rank]} of int8 elements.
//
//===----------------------------------------------------------------------===//

#ifndef SD_RUNTIME_ACCELRUNTIME_H
#define SD_RUNTIME_ACCELRUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Programs are read from `programDir/<segment>.sdacc`; `configPath` names
/// a hardware configuration (NULL or "": the built-in default). With
/// `compareDense` every segment also runs its dense 8-bit baseline on the
/// same inputs (its outputs are discarded, its costs reported). Clears
/// the statistics and any error. Returns 0, or 1 with sdaccRuntimeError().
int sdaccRuntimeInit(const char *programDir, const char *configPath,
                     int compareDense);

/// The first error since sdaccRuntimeInit, or "" (after an error the
/// entry points do nothing, so the model's outputs are not to be used).
const char *sdaccRuntimeError(void);

/// The JSON report of every segment run since sdaccRuntimeInit (valid until
/// the next call into the runtime).
const char *sdaccRuntimeReport(void);

/// Called by the compiled host code (--sd-offload), in this order per call
/// of a segment: every input by argument index, the run, every output by
/// result index.
void sdaccSetInput(int64_t index, int64_t rank, void *descriptor);
void sdaccRun(int64_t nameRank, void *nameDescriptor);
void sdaccGetOutput(int64_t index, int64_t rank, void *descriptor);

#ifdef __cplusplus
}
#endif

#endif // SD_RUNTIME_ACCELRUNTIME_H
