# lit configuration for the SmartDeal-MLIR regression tests.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "SD"
# The internal shell provides `not` and `env`, which Debian does not ship.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".py", ".test"]
config.excludes = ["Inputs", "Unit", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sd_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%PYTHON", config.python_executable))
config.substitutions.append(("%sd_src_root", config.sd_src_root))
config.substitutions.append(("%sd_obj_root", config.sd_obj_root))
config.substitutions.append(
    ("%mlir_runner_utils",
     os.path.join(config.mlir_lib_dir, "libmlir_runner_utils.so")))
config.substitutions.append(
    ("%mlir_c_runner_utils",
     os.path.join(config.mlir_lib_dir, "libmlir_c_runner_utils.so")))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PYTHONPATH",
                             os.path.join(config.sd_src_root, "python"),
                             append_path=True)

# SD_VERIFY_ROUNDTRIP=1 makes every sd-opt run also check that its output
# prints and parses back identically (as CIRCT does for circt-opt).
sd_opt_args = []
if os.environ.get("SD_VERIFY_ROUNDTRIP") == "1":
    sd_opt_args = ["--verify-roundtrip"]

llvm_config.with_environment("PATH", config.sd_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
tool_dirs = [config.sd_tools_dir, config.llvm_tools_dir]
tools = [
    ToolSubst("sd-opt", extra_args=sd_opt_args, unresolved="fatal"),
    ToolSubst("sd-translate", unresolved="ignore"),
    ToolSubst("sd-sim", unresolved="ignore"),
    ToolSubst("mlir-runner", unresolved="ignore"),
    ToolSubst("mlir-translate", unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# A sanitizer build (SD_SANITIZE): reports abort the tool, so any finding
# fails its test; test/Inputs/memlimit.py leaves the address space alone.
if config.sd_sanitize:
    config.environment["SD_SANITIZE"] = config.sd_sanitize
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if var in os.environ:
            config.environment[var] = os.environ[var]

# Scripts under scripts/ find the sd-opt of this build.
config.environment["SD_OPT"] = os.path.join(config.sd_tools_dir, "sd-opt")

# `REQUIRES: ocr-rec` (or any other name of smartdeal.models.MODELS): that
# real model is in the model cache (scripts/fetch-models.sh). smartdeal/models.py is loaded on its own:
# the package's __init__ imports NumPy, which lit's Python may lack. The
# tests look in the same cache, so SD_CACHE and HOME are passed through.
import importlib.util
import sys

for var in ("SD_CACHE", "HOME"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
_spec = importlib.util.spec_from_file_location(
    "sd_models", os.path.join(config.sd_src_root, "python", "smartdeal", "models.py"))
_models = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _models  # dataclasses look their module up
_spec.loader.exec_module(_models)
for _name, _model in _models.MODELS.items():
    if _model.path.exists():
        config.available_features.add(_name)

# `REQUIRES: torch` (and onnx, torchvision, matplotlib, pil): the Python
# the tests run under can import the package. scripts/install-deps.sh
# installs them all; a machine set up with SD_MINIMAL_DEPS=1 skips those
# tests with the missing feature named instead of failing them. One child
# process looks them all up without importing them.
import subprocess

_probe = subprocess.run(
    [config.python_executable, "-c",
     "import importlib.util as u\n"
     "for m in ('torch', 'onnx', 'torchvision', 'matplotlib', 'PIL'):\n"
     "    print(m.lower() if u.find_spec(m) else '')"],
    capture_output=True, text=True)
_found = set(_probe.stdout.split())
# torchvision imports PIL when it is imported: without PIL it is not usable.
if "pil" not in _found:
    _found.discard("torchvision")
for _feature in _found:
    config.available_features.add(_feature)
# `REQUIRES: fashion-mnist`: Debian's dataset-fashion-mnist (or the folder
# FASHION_MNIST names, as smartdeal.training.experiment reads it).
_fashion = os.environ.get("FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
if "FASHION_MNIST" in os.environ:
    config.environment["FASHION_MNIST"] = _fashion
if os.path.exists(os.path.join(_fashion, "train-images-idx3-ubyte.gz")):
    config.available_features.add("fashion-mnist")
# `REQUIRES: ocr-data`: what smartdeal.data renders realistic OCR inputs
# from (Debian's word lists and the DejaVu face its clean lines use; the
# other font packages only widen the mix). scripts/install-deps.sh installs
# them unless SD_MINIMAL_DEPS=1.
if all(os.path.exists(p) for p in (
        "/usr/share/dict/american-english", "/usr/share/dict/british-english",
        "/usr/share/dict/american-english-large",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")):
    config.available_features.add("ocr-data")
