//===- StagedOutputs.cpp - Files published only when a whole run succeeds -===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/StagedOutputs.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <mutex>
#include <optional>
#include <vector>

using namespace mlir;
using namespace mlir::sd;
namespace fs = llvm::sys::fs;

namespace {
struct Staged {
  fs::TempFile file;
  std::string path;
};

/// Passes may run on several threads, so the list is guarded.
struct StagedList {
  std::mutex mutex;
  std::vector<Staged> files;
  bool deferred = false;
};
} // namespace

static StagedList &staged() {
  static StagedList list;
  return list;
}

void mlir::sd::deferStagedOutputs() {
  std::lock_guard<std::mutex> lock(staged().mutex);
  staged().deferred = true;
}

/// A temporary next to `path`, so the final rename stays within one file
/// system; it is removed on a fatal signal until kept or discarded.
static std::optional<fs::TempFile> createTemp(StringRef path,
                                              std::string &error) {
  llvm::Expected<fs::TempFile> file =
      fs::TempFile::create(path + ".tmp-%%%%%%");
  if (!file) {
    error = "cannot write '" + path.str() +
            "': " + llvm::toString(file.takeError());
    return std::nullopt;
  }
  return std::move(*file);
}

LogicalResult mlir::sd::stageOutput(StringRef path, std::string &temp,
                                    std::string &error) {
  std::optional<fs::TempFile> file = createTemp(path, error);
  if (!file)
    return failure();
  temp = file->TmpName;
  std::lock_guard<std::mutex> lock(staged().mutex);
  staged().files.push_back({std::move(*file), path.str()});
  return success();
}

LogicalResult mlir::sd::writeStagedOutput(StringRef path, StringRef contents,
                                          std::string &error) {
  std::optional<fs::TempFile> file = createTemp(path, error);
  if (!file)
    return failure();
  llvm::raw_fd_ostream os(file->FD, /*shouldClose=*/false);
  os << contents;
  os.flush();
  if (os.has_error()) {
    error = "cannot write '" + path.str() + "': " + os.error().message();
    os.clear_error();
    llvm::consumeError(file->discard());
    return failure();
  }
  std::lock_guard<std::mutex> lock(staged().mutex);
  if (staged().deferred) {
    staged().files.push_back({std::move(*file), path.str()});
    return success();
  }
  if (llvm::Error e = file->keep(path)) {
    error = "cannot write '" + path.str() + "': " + llvm::toString(std::move(e));
    llvm::consumeError(file->discard());
    return failure();
  }
  return success();
}

LogicalResult mlir::sd::commitStagedOutputs(std::string &error) {
  std::lock_guard<std::mutex> lock(staged().mutex);
  std::vector<Staged> files = std::move(staged().files);
  staged().files.clear();
  LogicalResult result = success();
  for (Staged &s : files) {
    if (failed(result)) {
      llvm::consumeError(s.file.discard());
      continue;
    }
    if (llvm::Error e = s.file.keep(s.path)) {
      error = "cannot write '" + s.path + "': " + llvm::toString(std::move(e));
      llvm::consumeError(s.file.discard());
      result = failure();
    }
  }
  return result;
}

void mlir::sd::discardStagedOutputs() {
  std::lock_guard<std::mutex> lock(staged().mutex);
  for (Staged &s : staged().files)
    llvm::consumeError(s.file.discard());
  staged().files.clear();
}

int mlir::sd::runWithStagedOutputs(StringRef tool, StringRef path,
                                   function_ref<LogicalResult(StringRef)> run) {
  deferStagedOutputs();
  // The run may end in exit() (--help, --version, a fatal error): the
  // staged files go then too. Registered after staged() exists, so it runs
  // before the list is destroyed.
  std::atexit([] { discardStagedOutputs(); });
  fs::file_status status;
  bool special = path == "-" || (!fs::status(path, status) &&
                                 fs::exists(status) &&
                                 !fs::is_regular_file(status));
  std::string error, staged = path.str();
  if ((special || succeeded(stageOutput(path, staged, error))) &&
      succeeded(run(staged)) && succeeded(commitStagedOutputs(error)))
    return 0;
  if (!error.empty())
    llvm::WithColor::error(llvm::errs(), tool) << error << "\n";
  discardStagedOutputs();
  return 1;
}
