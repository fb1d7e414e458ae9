//===- sd-translate.cpp - sd programs to and from other formats -----------===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// mlir-translate with the sd translations: `--sd-to-sdacc` writes an
// accelerator program file (binary), `--sd-to-sdacc-text` its text form;
// `--import-sdacc` reads a program file into the sdacc dialect and
// `--export-sdacc` / `--export-sdacc-text` write it back. Like sd-opt, `-o`
// is staged next to its target and renamed only when the run succeeded.
//
//===----------------------------------------------------------------------===//

#include "SD/Dialect/SD/Transforms/StagedOutputs.h"
#include "SD/Target/SDAccExport/SDAccExport.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

#include <string>
#include <vector>

int main(int argc, char **argv) {
  mlir::sd::registerSDAccExportTranslations();
  mlir::sd::registerSDAccIRTranslations();

  // mlirTranslateMain parses `-o` itself, so its value is found here and
  // replaced by the staged name (`-o F`, `-o=F`, `--o F`, `--o=F`).
  std::vector<std::string> args(argv, argv + argc);
  std::string *output = nullptr;
  std::string prefix;
  for (size_t i = 1; i < args.size() && args[i] != "--"; ++i) {
    if ((args[i] == "-o" || args[i] == "--o") && i + 1 < args.size()) {
      output = &args[++i];
      prefix.clear();
    } else if (args[i].rfind("-o=", 0) == 0 || args[i].rfind("--o=", 0) == 0) {
      output = &args[i];
      prefix = args[i].substr(0, args[i].find('=') + 1);
    }
  }
  std::string target = output ? output->substr(prefix.size()) : "-";
  return mlir::sd::runWithStagedOutputs(
      "sd-translate", target, [&](llvm::StringRef staged) {
        if (output)
          *output = prefix + staged.str();
        std::vector<char *> stagedArgv;
        for (std::string &a : args)
          stagedArgv.push_back(a.data());
        stagedArgv.push_back(nullptr);
        return mlir::mlirTranslateMain(int(args.size()), stagedArgv.data(),
                                       "SmartDeal-MLIR translation tool");
      });
}
