// sd-decompose options: the per-layer plan file (plan=FILE), the report
// files, and the pass's and the plan parser's diagnostics.
//
// RUN: sd-opt %s --sd-decompose="min-size=0 plan=%S/Inputs/plans/skip-fc1-coarse-1.json report=%t.json" | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t.json
// RUN: FileCheck %s --check-prefix=TABLE < %t.md
// RUN: sd-opt %s --sd-decompose=report=%t-flag.json -o /dev/null
// RUN: FileCheck %s --check-prefix=FLAG < %t-flag.json
//
// RUN: not sd-opt %s --sd-decompose="plan=%S/Inputs/plans/unknown-key.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not sd-opt %s --sd-decompose="plan=%S/Inputs/plans/bad-threshold.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADVALUE
// RUN: not sd-opt %s --sd-decompose="plan=%S/Inputs/plans/malformed.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not sd-opt %s --sd-decompose="plan=%t-missing.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOPLAN
// RUN: not sd-opt %s --sd-decompose="iterations=0" -o /dev/null 2>&1 | FileCheck %s --check-prefix=OPTIONS
// RUN: sd-opt %s --sd-decompose="min-size=0 plan=%S/Inputs/plans/unused-fc9.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNUSED
// RUN: not sd-opt %s --sd-decompose="report=%t-missing-dir/r.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOWRITE
//
// A plan that gives fc1 to sd-permdiag: sd-decompose leaves it alone, and
// does not warn when that entry no longer names a candidate.
// RUN: sd-opt %s --sd-decompose="min-size=0 plan=%S/Inputs/plans/fc1-permdiag-fc2-p.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PLAN
// RUN: sd-opt %s --sd-decompose="min-size=0 plan=%S/Inputs/plans/fc1-dense.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PLANDENSE
// RUN: sd-opt %s --sd-permdiag="min-size=0 plan=%S/Inputs/plans/fc1-permdiag.json" --sd-decompose="min-size=0 plan=%S/Inputs/plans/fc1-permdiag.json" 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: not sd-opt %s --sd-decompose="plan=%S/Inputs/plans/bad-form.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADFORM
// RUN: not sd-opt %s --sd-decompose="plan=%S/Inputs/plans/p-zero.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADP
// Out-of-range values are named by their option, not the library's field.
// RUN: not sd-opt %s --sd-decompose="min-size=-1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MINSIZE
// RUN: not sd-opt %s --sd-decompose="block-rows=99999999999" -o /dev/null 2>&1 | FileCheck %s --check-prefix=ROWSBIG
// RUN: not sd-opt %s --sd-decompose="block-rows=0" -o /dev/null 2>&1 | FileCheck %s --check-prefix=ROWSZERO
//
// Files are all or nothing: the report (and its table) and -o are published
// only when the whole run succeeded. A pass failing after sd-decompose wrote
// its report leaves no report, no temporary, and the old -o target as it was.
// RUN: rm -rf %t.d && mkdir %t.d && echo old > %t.d/out.mlir
// RUN: not sd-opt %s --sd-decompose="min-size=0 report=%t.d/r.json" --sd-permdiag="plan=%t-missing.json" -o %t.d/out.mlir 2>&1 | FileCheck %s --check-prefix=LATE
// RUN: ls -A %t.d | FileCheck %s --check-prefix=LATEFILES
// RUN: FileCheck %s --check-prefix=OLD < %t.d/out.mlir
// RUN: sd-opt %s --sd-decompose="min-size=0 report=%t.d/r.json" -o %t.d/out.mlir
// RUN: ls -A %t.d | FileCheck %s --check-prefix=DONEFILES
// RUN: FileCheck %s --check-prefix=DONE < %t.d/out.mlir
// RUN: not sd-opt %s -o %t-missing-dir/out.mlir 2>&1 | FileCheck %s --check-prefix=NOOUT

// PLAN: remark: {{.*}}layer 'fc1' left dense: its form is permdiag in the plan
// PLANDENSE: remark: {{.*}}layer 'fc1' left dense: its form is dense in the plan
// BOTH-NOT:  warning
// BOTH:      sd.permdiag_matmul
// BOTH:      sd.shift_add_matmul
// BOTH-NOT:  warning
// BADFORM: error: {{.*}}bad-form.json: layers.fc1.form: expected se, permdiag, int or dense, got "lowrank"
// BADP: error: {{.*}}p-zero.json: layers.fc1.p: expected an integer of at least 1, got 0
// MINSIZE: error: invalid sd-decompose options: min-size must be >= 0, got -1
// ROWSBIG: error: invalid sd-decompose options: block-rows must be in [1, 2147483647], got 99999999999
// ROWSZERO: error: invalid sd-decompose options: block-rows must be in [1, 2147483647], got 0

// UNKNOWN: error: {{.*}}unknown-key.json: layers.fc1: unknown key 'foo' (expected form, skip, threshold, iterations, min-exp, max-exp, block-rows, structured-fraction, row-threshold, column-scale, p, bits, rounding)
// BADVALUE: error: {{.*}}bad-threshold.json: layers.fc1.threshold: expected a number of at least 0, got "abc"
// MALFORMED: error: {{.*}}malformed.json: invalid JSON: [2:1, byte={{[0-9]+}}]: {{.+}}
// NOPLAN: error: cannot read plan file '{{.*}}-missing.json': {{.+}}
// OPTIONS: error: invalid sd-decompose options:
// UNUSED: warning: plan entry 'fc9' matches no candidate layer
// NOWRITE: error: cannot write '{{.*}}-missing-dir/r.json': {{.+}}
// LATE: error: cannot read plan file '{{.*}}-missing.json'
// LATEFILES-NOT: {{.}}
// LATEFILES:     {{^out.mlir$}}
// LATEFILES-NOT: {{.}}
// OLD: {{^old$}}
// DONEFILES:      {{^out.mlir$}}
// DONEFILES-NEXT: {{^r.json$}}
// DONEFILES-NEXT: {{^r.md$}}
// DONEFILES-NOT:  {{.}}
// DONE: sd.shift_add_matmul
// NOOUT: sd-opt: error: cannot write '{{.*}}-missing-dir/out.mlir': {{.+}}

// fc1 is skipped by name; layer 1 (fc2) gets a coarse threshold.
// CHECK-LABEL: func.func @mlp
// CHECK:         linalg.matmul {{.*}} -> tensor<1x12xf32>
// CHECK:         sd.se_constant {{.*}} : !sd.se<6x12xf32, blocks = 1x4, exponents = [-8, 5]>
// CHECK:         sd.shift_add_matmul

// REPORT:      "layers": [
// REPORT:          "form": "dense",
// REPORT:          "name": "fc1",
// REPORT:          "reason": "skipped by the plan",
// REPORT:          "bits": {{[0-9]+}},
// REPORT:          "block_rows": 4,
// REPORT-NEXT:     "blocks": 1,
// REPORT-NEXT:     "codes": 72,
// REPORT-NEXT:     "compression_ratio": {{[0-9.]+}},
// REPORT-NEXT:     "dense_bits": 2304,
// REPORT:          "exponent_histogram": {
// REPORT:          "form": "se",
// REPORT:          "name": "fc2",
// REPORT:          "relative_error": {{[0-9.]+}},
// REPORT:          "settings": {
// REPORT:            "iterations": "5",
// REPORT:            "threshold": "0.500000"
// REPORT:          "shape": [
// REPORT-NEXT:       6,
// REPORT-NEXT:       12
// REPORT:        "totals": {
// REPORT:          "candidate_layers": 2,
// REPORT-NEXT:     "compressed_layers": 1,

// TABLE:      | # | layer | op | shape | form | blocks | density | ratio | rel. error | ms | note |
// TABLE:      | 0 | fc1 | linalg.matmul | 12x30 | dense | - | - | 1.00 | - | - | skipped by the plan |
// TABLE-NEXT: | 1 | fc2 | linalg.matmul | 6x12 | se | 1x4 |
// TABLE:      1 of 2 candidate layers compressed

// With the default min-size both layers are too small.
// FLAG:        "compressed_layers": 0,

func.func @mlp(%x: tensor<1x30xf32>) -> tensor<1x6xf32> {
  %zero = arith.constant 0.0 : f32
  %w1 = arith.constant dense_resource<w1> : tensor<12x30xf32>
  %e1 = tensor.empty() : tensor<30x12xf32>
  %w1t = linalg.transpose ins(%w1 : tensor<12x30xf32>) outs(%e1 : tensor<30x12xf32>) permutation = [1, 0]
  %o1 = tensor.empty() : tensor<1x12xf32>
  %i1 = linalg.fill ins(%zero : f32) outs(%o1 : tensor<1x12xf32>) -> tensor<1x12xf32>
  %y1 = linalg.matmul ins(%x, %w1t : tensor<1x30xf32>, tensor<30x12xf32>) outs(%i1 : tensor<1x12xf32>) -> tensor<1x12xf32> loc("fc1")
  %w2 = arith.constant dense_resource<w2> : tensor<6x12xf32>
  %e2 = tensor.empty() : tensor<12x6xf32>
  %w2t = linalg.transpose ins(%w2 : tensor<6x12xf32>) outs(%e2 : tensor<12x6xf32>) permutation = [1, 0]
  %o2 = tensor.empty() : tensor<1x6xf32>
  %i2 = linalg.fill ins(%zero : f32) outs(%o2 : tensor<1x6xf32>) -> tensor<1x6xf32>
  %y2 = linalg.matmul ins(%y1, %w2t : tensor<1x12xf32>, tensor<12x6xf32>) outs(%i2 : tensor<1x6xf32>) -> tensor<1x6xf32> loc("fc2")
  return %y2 : tensor<1x6xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w1: "0x04000000614B4DBF9884A9BF82527EBE9944D73EF969913FC0ADE03D4B7A0DBF5EE748BFCEAD3F3F9240D13F59A88B3EB7DD9DBFDE5075BF6DCDCC3F6AC04F3E98B6DDBFE968ABBD97E494BF061921BFE6DBF9BEB59B36BF36AA0D3F383381BDF8E416BF0DBCD13E6671543F974ED2BF227283BE42127BBF9A4F31BEAC0BA5BFE77EA93C142E1BBD28D29BBE752286BF76D9CABEAAB08BBF7B77ADBF3B2E663E2EFF8DBF43CC953F4A72373F75B8FFBF7A548B3E0D058DBF0267073D76B7323DDE84FEBF50066FBEE9F682BEAB45763FA63997BF50F03C3F24AB8CBFF69EA9BE402957BF0770B93F6A76113F81A11B40A254243F7251583FFE36573FE54A1BBF136B8FBD8BD9AC3FB408CBBEAA54413ED3DCADBC9DF51B3F52D5BABEC1041CBED632783ECCFDD23DDB6E5DBF0A52653FA234A6BF28BE99BFB128A4BF7F8B773FA9A1B8BED79578BF266991BF809ED73E050587BF75D3A2BFA62E1D3FB82D99BF9D16A5BEE98FDDBBFF02E4BEA1915DBDEE5CAB3F2D5304BFFA30A1BF7C1AEBBF35AE51BE085BB4BEFFB9873E78B1EDBE1A10F5BE26A838BFFA0E05BF7812243E98BDC2BE75B4CD3D1A5AF33FF94EF53E50BDC9BF4CE4DD3F3314B23E760071BF5C34683F80A2903CF67E1DBFA42D22BF8C517EBF6918453DFCCE883F3B6DA6BE4276D73E2B15F03FB5779BBFF7D9833E4DE59CBEB49587BFF64E83BF8A6E7ABC5823DE3E451608BF9FC85E3DABE2383FE0D6973E2B615E3F0C3CEC3EE1DBF93E25CFE93F31881F3F1594043EE1BE353FB04B6BBFA4E7ACBE86104B3F3D7B213FB730C63F11972B3C8F2DBBBF633FF93FE9E38B3FB58487BFFD1AB03FCCB8043DD12EE8BFA138D7BE864702BFEAA0CB3F04C54ABF22DA81BE98B38DBEB808C2BEC2006ABF5258603EBCD4893F00BD1F3F95706DBF2A2D93BF68A8F33D70E234BF895221BF3B00D7BFB5A9F93F8EA76A3FFE5179BF7880683F9ED6AB3F71EE18C0A5870CBF6DA4C6BE01F4253FDDC2F8BD31F66BBED6166FBDC739ED3F1F3D0A40065B06BF541E6DBFCA522C408BD07ABF7ACA12BF7ED6153D0D6CF73E70B7833F2B2EC83E7F545FBF46A2013F65EA7F3EE23EF03FB7C175BCEE21ABBF36C385BF9E9EB93F0A460ABF92AF06C0BCA814BF48557D379B2B983F18DA81BFC2AB2A3FB9984B3F1D0B33BF841740BE587DE23FD838DC3F7D035B3FE0F4A93E21B4913FB50D10BE27C0C2BD90405CBF0E4DB63B55F8A7BD2E833140AE7845BE2AAAA23F0E06A93F46F43EBECFAE953FEA500BC02F69C23D7C755B3FA07619C0B95F94BF6C2D873FEA9683BEC6918CBFEE47BFBE11E70ABF6175393FBB63E83E177A8FBEE6532ABFBAAC5CBDB69EA93F8DB3B23EF091233F474C1ABE3C5AA5BFD8F935BF71B7263FF762D33D0D6267BF6116CFBF31ADE23D02D7ADBEB278B3BEAAADA8BE035C913EDAC1963E0F4E763F09AD6D3F0782AA3FCF6D4E3FD1D4ABBE1D495EBDC309FD3EA1DE9EBE05A80C3F7AA9933F751E4DBFF29BE2BFB0C9983F3B7D913C636B353FFB88AABFB3D2DD3F31163D3F971901BEC737B4BE3E42E93D9FBB2ABE79B08EBE0D4F8FBFBDA3A13F361C22BD92DA983DBD4ABE3D08ED16C0BEF2063FFF86A8BEC11594BEF2EC8E3D29F478BFCEE7573F2F2432BF225667BF75B85CBF1190223E67EB3E3F695518BFCC4DC1BFB2FF873FA95488BF34F0983F5A655EBD0FC732BFA8D923BFB979EC3EDFAD633F23ED4ABE4B6A723F0D910540C84E55BE112193BF97F686BF82F6B1BF1DC123BF994939BFFC9CA9BF28BA073F2E2027C0F10FA9BFE3F90040B6D6843FADD5053FDC1DEA3E12AEE23F061F093FBCE09E3DE3759DBFA1DE96BDD2DF3BBFE7C734BF5DD836BFA1DF36BDDBCFA8BE19015F3F50C0A9BF98892DBE0404EE3FD0521F3D396C993FBE84913FEA87A83F61F53C3F75B2B0BF0BE788BE58BBC2BEE440C6BFE481EDBE9E02A0BFCA30D5BF30F5573EC38C32BDA31430BFA15973BFE5900ABF37C6C9BED5F3D0BE14E457BD30FFDEBE3121C63E",
      w2: "0x04000000DEDA053FB23AB73E27C129BF59D31DBF82A6DE3E95C549BED9BF30BDDA7C1FC081CE2CC0B09EAC3EEABBA83EFA5BB23F259E383F7F0F633E8F0A863C6E9FB6BFD117623F9D841ABFD2A2003FB8D74C3E4D508B3E5D86643FBBCFFABEB143C6BEBD195BBF121AC1BE8C3DD53FE704BABE46C2973F7C75533F36B23A3F66924D3FD0D381BF8934BF3E1651CB3FAF1F32BF5CF340BDBC6C30BF554FA23E460D8ABFFD09CE3F7DF0C0BEEF75C5BFA338E53F3074783F2BBD043FA857083F4D31B7BE9AA764BE5359393F78E96A3FB0BF6E3FF7A6593E6CCAEEBE8AB244BE5D078E3F3D4FB83F7FC0AEBE3161F4BEB5AF9F3F1041393F837F323F8DFAA7BF235DBFBEBFD603BFF5E4543E2EACD7BFCCC8A23FE0AA993EF5A2DE3EE99197BF896FD8BC"
    }
  }
#-}
