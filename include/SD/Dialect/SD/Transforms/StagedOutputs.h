//===- StagedOutputs.h - Files published only when a whole run succeeds -*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// Reports of the sd passes (`report=FILE`) and a tool's own output are
// written to a temporary file next to their target at once, so a bad path
// fails the pass that asked for it, but they get their real name only when
// the tool's whole run succeeded: a pass failing after a report was written
// leaves no report behind, and an existing target keeps its old contents.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_TRANSFORMS_STAGEDOUTPUTS_H
#define SD_DIALECT_SD_TRANSFORMS_STAGEDOUTPUTS_H

#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::sd {

/// Makes writeStagedOutput() keep files as temporaries until
/// commitStagedOutputs(). Tools that run passes (sd-opt) call it first;
/// without it every file is published as soon as it is written.
void deferStagedOutputs();

/// Creates a temporary file next to `path` and returns its name in `temp`;
/// it is renamed to `path` by commitStagedOutputs() and removed by
/// discardStagedOutputs() (or on a fatal signal).
LogicalResult stageOutput(StringRef path, std::string &temp,
                          std::string &error);

/// Writes `contents` to a staged temporary for `path` and, unless outputs
/// are deferred, publishes it at once. Nothing half-written is ever left at
/// `path`.
LogicalResult writeStagedOutput(StringRef path, StringRef contents,
                                std::string &error);

/// Renames every staged file to its target, in the order they were staged
/// (a later write to the same path wins).
LogicalResult commitStagedOutputs(std::string &error);

/// Removes every staged file.
void discardStagedOutputs();

/// A tool's whole run: defers staged outputs, calls `run` with a staged name
/// for the tool's own output `path` (`path` itself for stdout "-" and for
/// special files such as /dev/null), then commits every staged output if
/// `run` succeeded and discards them all if not. Returns the exit status;
/// staging and renaming errors are printed as "<tool>: error: ...".
int runWithStagedOutputs(StringRef tool, StringRef path,
                         function_ref<LogicalResult(StringRef)> run);

} // namespace mlir::sd

#endif // SD_DIALECT_SD_TRANSFORMS_STAGEDOUTPUTS_H
