//===- InitAll.h - Register what sd tools use -------------------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// One place that lists the dialects, interfaces and passes our tools
// register: ours, plus only the upstream pieces the pipelines use, so the
// tools link a small part of MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef SD_INITALL_H
#define SD_INITALL_H

namespace mlir {
class DialectRegistry;
namespace sd {

/// Adds the sd dialect and the upstream dialects (with their external
/// interface models) that sd pipelines produce or consume.
void registerAllDialects(DialectRegistry &registry);

/// Registers sd passes and pipelines, and the upstream passes they use.
void registerAllPasses();

} // namespace sd
} // namespace mlir

#endif // SD_INITALL_H
