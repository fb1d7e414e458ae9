// The sdacc ops are checked by the ISA's verifier against the default
// hardware configuration, and only live inside an sdacc.program.
// RUN: sd-opt %s -split-input-file -verify-diagnostics

sdacc.program attributes {fingerprint = "0x0", data = ""} {
  // expected-error @+1 {{'sdacc.load_b' op load_b: bank = 5 does not fit its 1-bit field}}
  sdacc.load_b {bank = 5 : i64, block = 0 : i64}
}

// -----

sdacc.program attributes {fingerprint = "0x0", data = ""} {
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
sdacc.program attributes {fingerprint = "0x0", data = ""} {
  // expected-error @+1 {{'sdacc.dma_load' op dma_load: destination [200000, 200040) overflows the input buffer of 131072 bytes}}
  sdacc.dma_load {buf_addr = 200000 : i64, count = 1 : i64, dram_addr = 0 : i64, dram_stride = 0 : i64, kind = 0 : i64, length = 40 : i64}
}

// -----

// The whole-network instructions: operands and results inside the buffers.
sdacc.program attributes {fingerprint = "0x0", data = ""} {
  // expected-error @+1 {{'sdacc.add' op add: operand b [131000, 131100) overflows the input buffer of 131072 bytes}}
  sdacc.add {a_addr = 0 : i64, b_addr = 131000 : i64, length = 100 : i64, out_addr = 0 : i64}
}

// -----

sdacc.program attributes {fingerprint = "0x0", data = ""} {
  // expected-error @+1 {{'sdacc.add' op add: result [65500, 65600) overflows the output buffer of 65536 bytes}}
  sdacc.add {a_addr = 0 : i64, b_addr = 100 : i64, length = 100 : i64, out_addr = 65500 : i64}
}

// -----

sdacc.program attributes {fingerprint = "0x0", data = ""} {
  // expected-error @+1 {{'sdacc.pool' op pool: result [0, 80000) overflows the output buffer of 65536 bytes}}
  sdacc.pool {avg = 0 : i64, ch0 = 0 : i64, channels = 16 : i64, npos = 5000 : i64, out_addr = 0 : i64, pos0 = 0 : i64}
}

// -----

sdacc.program attributes {fingerprint = "0x0", data = ""} {
  // expected-error @+1 {{'sdacc.cfg_add' op cfg_add: shift = 0 is out of range: must be 1 .. 62}}
  sdacc.cfg_add {multiplier_a = 100 : i64, multiplier_b = 100 : i64, relu = 0 : i64, shift = 0 : i64}
}

// -----

// The PermDNN engine mode: the accumulator pool is dim_m x entries_per_slice
// (4096 in the default configuration), and p is at most max_block_size (32).
sdacc.program attributes {fingerprint = "0x0", data = ""} {
  // expected-error @+1 {{'sdacc.pd_mac' op pd_mac: accumulator pool entries [4090, 4100) exceed the 4096 of dim_m x entries_per_slice}}
  sdacc.pd_mac {acc_addr = 4090 : i64, init = 1 : i64, npos = 10 : i64, pos0 = 0 : i64}
}

// -----

sdacc.program attributes {fingerprint = "0x0", data = ""} {
  // expected-error @+1 {{'sdacc.cfg_weight' op cfg_weight: block_rows = p = 64 exceeds the PermDNN engine's max_block_size 32}}
  sdacc.cfg_weight {block_rows = 64 : i64, blocks = 2 : i64, code_bits = 4 : i64, format = 2 : i64, max_exp = 0 : i64, min_exp = 0 : i64}
}
