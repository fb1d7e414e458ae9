// Every error of --sd-quantize's statistics file names the file and the
// problem, and the pass fails without touching the IR.
// RUN: not sd-opt %s --sd-quantize 2>&1 | FileCheck %s --check-prefix=NOSTATS
// NOSTATS: error: --sd-quantize needs stats=FILE (calibration statistics)

// RUN: not sd-opt %s --sd-quantize=stats=%t.missing.json 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: calibration statistics '{{.*}}missing.json': cannot read: No such file or directory

// RUN: printf '{"format": "sd-calibration-stats",\n "version": }' > %t.syntax.json
// RUN: not sd-opt %s --sd-quantize=stats=%t.syntax.json 2>&1 | FileCheck %s --check-prefix=SYNTAX
// SYNTAX: error: calibration statistics '{{.*}}syntax.json': not JSON: [2:13, byte=48]: Invalid JSON value

// RUN: echo '[1]' > %t.top.json
// RUN: not sd-opt %s --sd-quantize=stats=%t.top.json 2>&1 | FileCheck %s --check-prefix=TOP
// TOP: error: calibration statistics '{{.*}}top.json': the top level must be an object

// RUN: echo '{"format": "other", "version": 1, "tensors": {}}' > %t.format.json
// RUN: not sd-opt %s --sd-quantize=stats=%t.format.json 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: error: calibration statistics '{{.*}}format.json': "format" must be "sd-calibration-stats"

// RUN: echo '{"format": "sd-calibration-stats", "version": 2, "tensors": {}}' > %t.version.json
// RUN: not sd-opt %s --sd-quantize=stats=%t.version.json 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: error: calibration statistics '{{.*}}version.json': "version" must be 1

// RUN: echo '{"format": "sd-calibration-stats", "version": 1, "tensors": [1]}' > %t.tensors.json
// RUN: not sd-opt %s --sd-quantize=stats=%t.tensors.json 2>&1 | FileCheck %s --check-prefix=TENSORS
// TENSORS: error: calibration statistics '{{.*}}tensors.json': "tensors" must be an object of tensor names

// RUN: echo '{"format": "sd-calibration-stats", "version": 1, "tensors": {"arg0": {"max_abs": -1}}}' > %t.negative.json
// RUN: not sd-opt %s --sd-quantize=stats=%t.negative.json 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: calibration statistics '{{.*}}negative.json': tensor 'arg0': "max_abs" must be a finite number >= 0

// RUN: echo '{"format": "sd-calibration-stats", "version": 1, "tensors": {"arg0": 2}}' > %t.entry.json
// RUN: not sd-opt %s --sd-quantize=stats=%t.entry.json 2>&1 | FileCheck %s --check-prefix=ENTRY
// ENTRY: error: calibration statistics '{{.*}}entry.json': tensor 'arg0': "max_abs" must be a finite number >= 0

// RUN: echo '{"format": "sd-calibration-stats", "version": 1, "tensors": {"arg0": {"max_abs": 1, "channel_max_abs": 3}}}' > %t.channels.json
// RUN: not sd-opt %s --sd-quantize=stats=%t.channels.json 2>&1 | FileCheck %s --check-prefix=CHANNELS
// CHANNELS: error: calibration statistics '{{.*}}channels.json': tensor 'arg0': "channel_max_abs" must be an array of numbers

// RUN: echo '{"format": "sd-calibration-stats", "version": 1, "tensors": {"arg0": {"max_abs": 1, "channel_max_abs": [1, -2]}}}' > %t.channel.json
// RUN: not sd-opt %s --sd-quantize=stats=%t.channel.json 2>&1 | FileCheck %s --check-prefix=CHANNEL
// CHANNEL: error: calibration statistics '{{.*}}channel.json': tensor 'arg0': "channel_max_abs" must hold finite numbers >= 0

// A report that cannot be written fails the pass.
// RUN: echo '{"format": "sd-calibration-stats", "version": 1, "tensors": {}}' > %t.ok.json
// RUN: not sd-opt %s --sd-quantize="stats=%t.ok.json report=%t.nodir/r.json" 2>&1 | FileCheck %s --check-prefix=REPORT
// REPORT: error: cannot write '{{.*}}nodir/r.json': {{.+}}

func.func @f(%arg0: tensor<2xf32>) -> tensor<2xf32> {
  return %arg0 : tensor<2xf32>
}
