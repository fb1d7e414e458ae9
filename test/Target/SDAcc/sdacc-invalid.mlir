// An sdacc.program is checked by the ISA's verifier against its own hardware
// configuration (the built-in default when it has no `config`): every
// instruction where it stands, then tensors, layer table and segments, then
// the whole program as sd-sim checks it. Its ops live only inside it.
// RUN: sd-opt %s -split-input-file -verify-diagnostics

sdacc.program {
  // expected-error @+1 {{'sdacc.load_b' op load_b: bank = 5 does not fit its 1-bit field}}
  sdacc.load_b {bank = 5 : i64, block = 0 : i64}
}

// -----

sdacc.program {
  // expected-error @+1 {{'sdacc.layer' op requires attribute 'layer'}}
  "sdacc.layer"() : () -> ()
}

// -----

func.func @outside() {
  // expected-error @+1 {{'sdacc.sync' op expects parent op 'sdacc.program'}}
  sdacc.sync {}
  return
}

// -----

// Fields are range-checked against the hardware configuration (128 KiB
// input buffer in the default one).
sdacc.program {
  // expected-error @+1 {{'sdacc.dma_load' op dma_load: destination [200000, 200040) overflows the input buffer of 131072 bytes}}
  sdacc.dma_load {buf_addr = 200000 : i64, count = 1 : i64, dram_addr = 0 : i64, dram_stride = 0 : i64, kind = #sdacc<dma_kind act>, length = 40 : i64}
}

// -----

// move (cascades): the strided rows it reads inside the output buffer, the
// rows it writes inside the input buffer.
sdacc.program {
  // expected-error @+1 {{'sdacc.move' op move: source [65000, 65640) overflows the output buffer of 65536 bytes}}
  sdacc.move {count = 16 : i64, dst_addr = 0 : i64, dst_stride = 8 : i64, length = 40 : i64, src_addr = 65000 : i64, src_stride = 40 : i64}
}

// -----

sdacc.program {
  // expected-error @+1 {{'sdacc.move' op move: destination [130000, 131208) overflows the input buffer of 131072 bytes}}
  sdacc.move {count = 16 : i64, dst_addr = 130000 : i64, dst_stride = 64 : i64, length = 248 : i64, src_addr = 0 : i64, src_stride = 248 : i64}
}

// -----

sdacc.program {
  // expected-error @+1 {{'sdacc.move' op move: length = 0 is out of range: must be >= 1}}
  sdacc.move {count = 1 : i64, dst_addr = 0 : i64, dst_stride = 0 : i64, length = 0 : i64, src_addr = 0 : i64, src_stride = 0 : i64}
}

// -----

// The whole-network instructions: operands and results inside the buffers.
sdacc.program {
  // expected-error @+1 {{'sdacc.add' op add: operand b [131000, 131100) overflows the input buffer of 131072 bytes}}
  sdacc.add {a_addr = 0 : i64, b_addr = 131000 : i64, length = 100 : i64, out_addr = 0 : i64}
}

// -----

sdacc.program {
  // expected-error @+1 {{'sdacc.add' op add: result [65500, 65600) overflows the output buffer of 65536 bytes}}
  sdacc.add {a_addr = 0 : i64, b_addr = 100 : i64, length = 100 : i64, out_addr = 65500 : i64}
}

// -----

sdacc.program {
  // expected-error @+1 {{'sdacc.pool' op pool: result [0, 80000) overflows the output buffer of 65536 bytes}}
  sdacc.pool {avg = false, ch0 = 0 : i64, channels = 16 : i64, npos = 5000 : i64, out_addr = 0 : i64, pos0 = 0 : i64}
}

// -----

sdacc.program {
  // expected-error @+1 {{'sdacc.cfg_add' op cfg_add: shift = 0 is out of range: must be 1 .. 62}}
  sdacc.cfg_add {multiplier_a = 100 : i64, multiplier_b = 100 : i64, relu = false, shift = 0 : i64}
}

// -----

// The PermDNN engine mode: the accumulator pool is dim_m x entries_per_slice
// (4096 in the default configuration), and p is at most max_block_size (32).
sdacc.program {
  // expected-error @+1 {{'sdacc.pd_mac' op pd_mac: accumulator pool entries [4090, 4100) exceed the 4096 of dim_m x entries_per_slice}}
  sdacc.pd_mac {acc_addr = 4090 : i64, init = true, npos = 10 : i64, pos0 = 0 : i64}
}

// -----

sdacc.program {
  // expected-error @+1 {{'sdacc.cfg_weight' op cfg_weight: block_rows = p = 64 exceeds the PermDNN engine's max_block_size 32}}
  sdacc.cfg_weight {block_rows = 64 : i64, blocks = 2 : i64, code_bits = 4 : i64, format = #sdacc<weight_format permdiag>, max_exp = 0 : i64, min_exp = 0 : i64}
}

// -----

// The program's own configuration decides: 100000 is inside the default
// 128 KiB input buffer but not inside this configuration's 64 KiB one.
sdacc.program attributes {config = {accumulator = {entries_per_slice = 256 : i64}, buffers = {index = {bytes = 16384 : i64, read_pj_per_byte = 1.770000e+00 : f64, source = "-", write_pj_per_byte = 1.770000e+00 : f64}, input = {bytes = 65536 : i64, read_pj_per_byte = 5 : i64, source = "-", write_pj_per_byte = 5 : i64}, output = {bytes = 65536 : i64, read_pj_per_byte = 3.540000e+00 : f64, source = "-", write_pj_per_byte = 3.540000e+00 : f64}, weight = {bytes = 131072 : i64, read_pj_per_byte = 5 : i64, source = "-", write_pj_per_byte = 5 : i64}}, clock_mhz = 1000 : i64, description = "-", dram = {bytes_per_cycle = 16 : i64, latency_cycles = 100 : i64, read_pj_per_byte = 1.625000e+02 : f64, source = "-", write_pj_per_byte = 1.625000e+02 : f64}, name = "small-input", operations = {add = {pj = 1.000000e-01 : f64, source = "-"}, mac = {pj = 3.000000e-01 : f64, source = "-"}, requant = {pj = 3.200000e+00 : f64, source = "-"}, shift = {pj = 2.400000e-02 : f64, source = "-"}}, pe_array = {dim_c = 8 : i64, dim_f = 8 : i64, dim_m = 16 : i64}, permdiag_engine = {max_block_size = 32 : i64, multipliers_per_pe = 8 : i64, pes = 128 : i64}, precision = {accumulator_bits = 48 : i64, activation_bits = 8 : i64, basis_bits = 8 : i64, ce_bits = 4 : i64, dense_weight_bits = 8 : i64, rebuilt_weight_bits = 16 : i64}, queue_depth = 64 : i64, rebuild_engine = {basis_rf_bytes = 9 : i64, engines_per_line = 2 : i64, weight_rf_rows = 32 : i64}, register_files = {accumulator = {pj_per_byte = 4.500000e-01 : f64, source = "-"}, basis = {pj_per_byte = 4.500000e-01 : f64, source = "-"}, weight = {pj_per_byte = 4.500000e-01 : f64, source = "-"}}}} {
  // expected-error @+1 {{'sdacc.dma_load' op dma_load: destination [100000, 100040) overflows the input buffer of 65536 bytes}}
  sdacc.dma_load {buf_addr = 100000 : i64, count = 1 : i64, dram_addr = 0 : i64, dram_stride = 0 : i64, kind = #sdacc<dma_kind act>, length = 40 : i64}
}

// -----

// expected-error @+1 {{'sdacc.program' op has an invalid hardware configuration: missing 'description'}}
sdacc.program attributes {config = {name = "partial"}} {
}

// -----

// expected-error @+1 {{'sdacc.program' op has an invalid hardware configuration: a configuration value must be a dictionary, array, string, number, boolean or unit, not dense<1> : tensor<1xi8>}}
sdacc.program attributes {config = {name = dense<1> : tensor<1xi8>}} {
}

// -----

sdacc.program {
  sdacc.tensor "x" {dram_addr = 0 : i64, role = #sdacc<tensor_role input>, shape = array<i64: 1, 16>}
  // expected-error @+1 {{'sdacc.tensor' op declares tensor 'x' a second time}}
  sdacc.tensor "x" {dram_addr = 64 : i64, role = #sdacc<tensor_role output>, shape = array<i64: 1, 16>}
}

// -----

sdacc.program {
  // expected-error @+1 {{'sdacc.tensor' op shape: dimension 0 must be in [1, 2^31]}}
  sdacc.tensor "x" {dram_addr = 0 : i64, role = #sdacc<tensor_role input>, shape = array<i64: 1, 0>}
}

// -----

sdacc.program {
  sdacc.tensor "x" {dram_addr = 0 : i64, role = #sdacc<tensor_role input>, shape = array<i64: 1, 16>}
  // expected-error @+1 {{'sdacc.layer_decl' op names tensor 'y', which the program does not declare}}
  sdacc.layer_decl "l" {block_rows = 0 : i64, blocks = 0 : i64, c = 16 : i64, code_bits = 0 : i64, format = #sdacc<weight_format dense>, frac_bits_b = 0 : i64, h = 1 : i64, input = "x", k = 16 : i64, kind = #sdacc<layer_kind fc>, max_exp = 0 : i64, min_exp = 0 : i64, multiplier = 16384 : i64, multiplier2 = 0 : i64, n = 1 : i64, oh = 1 : i64, output = "y", ow = 1 : i64, pad_left = 0 : i64, pad_top = 0 : i64, r = 1 : i64, relu = 0 : i64, s = 1 : i64, shift = 20 : i64, stride_h = 1 : i64, stride_w = 1 : i64, w = 1 : i64}
}

// -----

sdacc.program {
  sdacc.tensor "x" {dram_addr = 0 : i64, role = #sdacc<tensor_role input>, shape = array<i64: 1, 16>}
  sdacc.tensor "y" {dram_addr = 64 : i64, role = #sdacc<tensor_role output>, shape = array<i64: 1, 16>}
  // expected-error @+1 {{'sdacc.layer_decl' op an add layer needs its second input, input2}}
  sdacc.layer_decl "l" {block_rows = 0 : i64, blocks = 0 : i64, c = 16 : i64, code_bits = 0 : i64, format = #sdacc<weight_format dense>, frac_bits_b = 0 : i64, h = 1 : i64, input = "x", k = 16 : i64, kind = #sdacc<layer_kind add>, max_exp = 0 : i64, min_exp = 0 : i64, multiplier = 16384 : i64, multiplier2 = 16384 : i64, n = 1 : i64, oh = 1 : i64, output = "y", ow = 1 : i64, pad_left = 0 : i64, pad_top = 0 : i64, r = 1 : i64, relu = 0 : i64, s = 1 : i64, shift = 20 : i64, stride_h = 1 : i64, stride_w = 1 : i64, w = 1 : i64}
}

// -----

sdacc.program {
  // expected-error @+1 {{'sdacc.segment' op bytes must be a 1-D i8 tensor, got 'tensor<2x2xi8>'}}
  sdacc.segment {bytes = dense<0> : tensor<2x2xi8>, dram_addr = 0 : i64, kind = #sdacc<dma_kind bias>, layer = 0 : i64}
}

// -----

sdacc.program {
  // expected-error @+1 {{'arith.constant' op is not part of an accelerator program (only sdacc tensors, layer declarations, segments and instructions are)}}
  %0 = arith.constant 0 : i8
}

// -----

// Each op may be fine on its own while the program is not: verifyProgram
// checks the whole against the configuration.
// expected-error @+1 {{'sdacc.program' op is not a valid program for hardware configuration 'smartdeal-default': instruction 0 (layer): layer 3 is not in the layer table}}
sdacc.program {
  sdacc.layer {layer = 3 : i64}
}
