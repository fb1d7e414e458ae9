// RUN: sd-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// !sd.se
//===----------------------------------------------------------------------===//

// expected-error @+1 {{weight element type must be a float type, got 'i32'}}
func.func private @se_int(!sd.se<4x6xi32, blocks = 1x2, exponents = [-8, 5]>)

// -----

// expected-error @+1 {{weight dimensions must be positive}}
func.func private @se_zero_dim(!sd.se<0x6xf32, blocks = 1x2, exponents = [-8, 5]>)

// -----

// expected-error @+1 {{weight must have rank >= 2 (outputs first), got rank 1}}
func.func private @se_rank1(!sd.se<6xf32, blocks = 1x2, exponents = [-8, 5]>)

// -----

// expected-error @+1 {{blocks must be at least 1 x 1, got 0 x 2}}
func.func private @se_no_blocks(!sd.se<4x6xf32, blocks = 0x2, exponents = [-8, 5]>)

// -----

// Blocks that do not cover the weight: 12 values need 4 rows of 3.
// expected-error @+1 {{blocks 1 x 3 cover 3 rows of 3 but the weight needs 4 per output}}
func.func private @se_uncovered(!sd.se<4x12xf32, blocks = 1x3, exponents = [-8, 5]>)

// -----

// expected-error @+1 {{blocks 3 x 2 leave the last block with only padding (the weight needs 4 rows of 3 per output)}}
func.func private @se_padding_block(!sd.se<4x12xf32, blocks = 3x2, exponents = [-8, 5]>)

// -----

// expected-error @+1 {{exponent range [3, 2] is empty}}
func.func private @se_empty_range(!sd.se<4x6xf32, blocks = 1x2, exponents = [3, 2]>)

// -----

// expected-error @+1 {{exponent range [-100, 30] has more than 127 levels}}
func.func private @se_wide_range(!sd.se<4x6xf32, blocks = 1x2, exponents = [-100, 30]>)

// -----

// expected-error @+1 {{expected blocks as <numBlocks>x<blockRows>}}
func.func private @se_bad_blocks(!sd.se<4x6xf32, blocks = 2, exponents = [-8, 5]>)

// -----

//===----------------------------------------------------------------------===//
// !sd.permdiag
//===----------------------------------------------------------------------===//

// expected-error @+1 {{permuted-diagonal weight must be rank 2 (M x N), got rank 3}}
func.func private @pd_rank(!sd.permdiag<4x4x4xf32, p = 2>)

// -----

// expected-error @+1 {{weight element type must be a float type, got 'i8'}}
func.func private @pd_int(!sd.permdiag<4x4xi8, p = 2>)

// -----

// expected-error @+1 {{block size p must be positive, got 0}}
func.func private @pd_p0(!sd.permdiag<4x4xf32, p = 0>)

// -----

// Sizes are checked before anything counts or reads elements: each of these
// used to abort ("SmallVector unable to grow") or overflow int64.
// expected-error @+1 {{weight has more than 2147483647 (2^31 - 1) elements}}
func.func private @se_huge(!sd.se<1000000000x1000000000xf32, blocks = 1x2, exponents = [-8, 5]>)

// -----

// expected-error @+1 {{weight has more than 2147483647 (2^31 - 1) elements}}
func.func private @se_overflow(!sd.se<4611686018427387904x6xf32, blocks = 1x2, exponents = [-8, 5]>)

// -----

// expected-error @+1 {{blocks 1 x 4611686018427387904 give more than 2147483647 (2^31 - 1) codes}}
func.func private @se_huge_blocks(!sd.se<4x6xf32, blocks = 1x4611686018427387904, exponents = [-8, 5]>)

// -----

// expected-error @+1 {{weight has more than 2147483647 (2^31 - 1) elements}}
func.func private @pd_huge(!sd.permdiag<100000x50000xf32, p = 4>)

// -----

// expected-error @+1 {{block size p = 3000000000 gives more than 2147483647 (2^31 - 1) stored values}}
func.func private @pd_huge_p(!sd.permdiag<4x40000xf32, p = 3000000000>)

// -----

//===----------------------------------------------------------------------===//
// sd.se_constant
//===----------------------------------------------------------------------===//

func.func @codes_float() {
  // expected-error @+1 {{codes must be signless integers of 2 to 8 bits, got 'f32'}}
  %w = sd.se_constant codes(dense<0.0> : tensor<1x1x2x3xf32>) basis(dense<1.0> : tensor<1x1x3x3xf32>)
         : !sd.se<1x6xf32, blocks = 1x2, exponents = [-8, 5]>
  return
}

// -----

func.func @codes_shape() {
  // expected-error @+1 {{codes of shape 1x1x3x3 do not match the block layout of the weight: expected 1x1x2x3 ([outputs, blocks, block rows, 3])}}
  %w = sd.se_constant codes(dense<0> : tensor<1x1x3x3xi8>) basis(dense<1.0> : tensor<1x1x3x3xf32>)
         : !sd.se<1x6xf32, blocks = 1x2, exponents = [-8, 5]>
  return
}

// -----

func.func @codes_too_narrow() {
  // expected-error @+1 {{code type 'i4' cannot hold the 14 levels of exponent range [-8, 5]: needs at least i5}}
  %w = sd.se_constant codes(dense<0> : tensor<1x1x2x3xi4>) basis(dense<1.0> : tensor<1x1x3x3xf32>)
         : !sd.se<1x6xf32, blocks = 1x2, exponents = [-8, 5]>
  return
}

// -----

func.func @basis_type() {
  // expected-error @+1 {{basis element type 'f16' does not match the weight element type 'f32'}}
  %w = sd.se_constant codes(dense<0> : tensor<1x1x2x3xi8>) basis(dense<1.0> : tensor<1x1x3x3xf16>)
         : !sd.se<1x6xf32, blocks = 1x2, exponents = [-8, 5]>
  return
}

// -----

func.func @basis_shape() {
  // expected-error @+1 {{basis of shape 1x1x2x3 is not one 3x3 B per block: expected 1x1x3x3}}
  %w = sd.se_constant codes(dense<0> : tensor<1x1x2x3xi8>) basis(dense<1.0> : tensor<1x1x2x3xf32>)
         : !sd.se<1x6xf32, blocks = 1x2, exponents = [-8, 5]>
  return
}

// -----

func.func @code_out_of_range() {
  // expected-error @+1 {{code 15 at [0, 0, 1, 2] names exponent 6, outside the declared range [-8, 5]}}
  %w = sd.se_constant codes(dense<[[[[0, 1, 2], [3, 4, 15]]]]> : tensor<1x1x2x3xi8>) basis(dense<1.0> : tensor<1x1x3x3xf32>)
         : !sd.se<1x6xf32, blocks = 1x2, exponents = [-8, 5]>
  return
}

// -----

// A splat of 2e9 codes is checked through its one value: nothing is
// materialized (reading them all would take 16 GB).
func.func @splat_code_out_of_range() {
  // expected-error @+1 {{code 15 at [0, 0, 0, 0] names exponent 6, outside the declared range [-8, 5]}}
  %w = sd.se_constant codes(dense<15> : tensor<40000x87x192x3xi8>) basis(dense<1.0> : tensor<40000x87x3x3xf32>)
         : !sd.se<40000x50000xf32, blocks = 87x192, exponents = [-8, 5]>
  return
}

// -----

func.func @resource_code_out_of_range() {
  // expected-error @+1 {{code -4 at [0, 0, 1, 0] names exponent 1, outside the declared range [-2, 0]}}
  %w = sd.se_constant codes(dense_resource<bad_codes> : tensor<1x1x2x3xi8>) basis(dense<1.0> : tensor<1x1x3x3xf32>)
         : !sd.se<1x6xf32, blocks = 1x2, exponents = [-2, 0]>
  return
}

{-#
  dialect_resources: {
    builtin: {
      bad_codes: "0x01000000010203FC0000"
    }
  }
#-}

// -----

func.func @resource_size() {
  // expected-error @+1 {{codes: dense_resource blob 'short_codes' holds 4 bytes but 6 are needed}}
  %w = sd.se_constant codes(dense_resource<short_codes> : tensor<1x1x2x3xi8>) basis(dense<1.0> : tensor<1x1x3x3xf32>)
         : !sd.se<1x6xf32, blocks = 1x2, exponents = [-8, 5]>
  return
}

{-#
  dialect_resources: {
    builtin: {
      short_codes: "0x0100000001020300"
    }
  }
#-}

// -----

//===----------------------------------------------------------------------===//
// sd.permdiag_constant
//===----------------------------------------------------------------------===//

func.func @offsets_float() {
  // expected-error @+1 {{offsets must be integers, got 'f32'}}
  %w = sd.permdiag_constant offsets(dense<0.0> : tensor<2x2xf32>) values(dense<1.0> : tensor<2x2x2xf32>)
         : !sd.permdiag<4x4xf32, p = 2>
  return
}

// -----

func.func @offsets_shape() {
  // expected-error @+1 {{offsets of shape 2x1 do not hold one offset per 2x2 block: expected 2x2}}
  %w = sd.permdiag_constant offsets(dense<0> : tensor<2x1xi32>) values(dense<1.0> : tensor<2x2x2xf32>)
         : !sd.permdiag<4x4xf32, p = 2>
  return
}

// -----

func.func @values_type() {
  // expected-error @+1 {{values element type 'f64' does not match the weight element type 'f32'}}
  %w = sd.permdiag_constant offsets(dense<0> : tensor<2x2xi32>) values(dense<1.0> : tensor<2x2x2xf64>)
         : !sd.permdiag<4x4xf32, p = 2>
  return
}

// -----

func.func @values_shape() {
  // expected-error @+1 {{values of shape 2x2x3 do not hold 2 values per block: expected 2x2x2}}
  %w = sd.permdiag_constant offsets(dense<0> : tensor<2x2xi32>) values(dense<1.0> : tensor<2x2x3xf32>)
         : !sd.permdiag<4x4xf32, p = 2>
  return
}

// -----

func.func @offset_too_large() {
  // expected-error @+1 {{offset 2 of block [1, 0] is not in [0, p = 2)}}
  %w = sd.permdiag_constant offsets(dense<[[0, 1], [2, 0]]> : tensor<2x2xi32>) values(dense<1.0> : tensor<2x2x2xf32>)
         : !sd.permdiag<4x4xf32, p = 2>
  return
}

// -----

func.func @offset_negative() {
  // expected-error @+1 {{offset -1 of block [0, 1] is not in [0, p = 2)}}
  %w = sd.permdiag_constant offsets(dense<[[0, -1], [1, 0]]> : tensor<2x2xi32>) values(dense<1.0> : tensor<2x2x2xf32>)
         : !sd.permdiag<4x4xf32, p = 2>
  return
}

// -----

// 1.25e8 offsets in a splat: checked through the one value.
func.func @splat_offset_too_large() {
  // expected-error @+1 {{offset 7 of block [0, 0] is not in [0, p = 4)}}
  %w = sd.permdiag_constant offsets(dense<7> : tensor<10000x12500xi32>) values(dense<1.0> : tensor<10000x12500x4xf32>)
         : !sd.permdiag<40000x50000xf32, p = 4>
  return
}

// -----

func.func @values_resource_size() {
  // expected-error @+1 {{values: dense_resource blob 'short_values' holds 4 bytes but 32 are needed}}
  %w = sd.permdiag_constant offsets(dense<0> : tensor<2x2xi32>) values(dense_resource<short_values> : tensor<2x2x2xf32>)
         : !sd.permdiag<4x4xf32, p = 2>
  return
}

{-#
  dialect_resources: {
    builtin: {
      short_values: "0x040000000000803F"
    }
  }
#-}

// -----

//===----------------------------------------------------------------------===//
// sd.rebuild
//===----------------------------------------------------------------------===//

func.func @rebuild_type(%w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {
  // expected-error @+1 {{result type 'tensor<6x4xf32>' does not match the dense type of the weight 'tensor<4x6xf32>'}}
  %d = sd.rebuild %w : !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]> -> tensor<6x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sd.shift_add_matmul and sd.permdiag_matmul
//===----------------------------------------------------------------------===//

func.func @matmul_rank4_weight(%x: tensor<1x18xf32>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{operand #1 must be rank-2 (N x K) SmartExchange weight, but got '!sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>'}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x18xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%i : tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @matmul_rank(%x: tensor<6xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{input 'tensor<6xf32>' and init 'tensor<1x4xf32>' must have the same rank, at least 1}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) outs(%i : tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @matmul_k(%x: tensor<1x5xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{input reduction size 5 does not match the weight's K = 6}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x5xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) outs(%i : tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @matmul_n(%x: tensor<1x6xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>, %i: tensor<1x3xf32>) {
  // expected-error @+1 {{init last dimension 3 does not match the weight's N = 4}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) outs(%i : tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @matmul_batch(%x: tensor<2x6xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>, %i: tensor<3x4xf32>) {
  // expected-error @+1 {{input and init differ in batch dimension 0}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<2x6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) outs(%i : tensor<3x4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @matmul_elem(%x: tensor<1x6xf16>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{input element type 'f16' does not match the weight element type 'f32'}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf16>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) outs(%i : tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @matmul_result(%x: tensor<1x6xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{failed to verify that all of {init, result} have same type}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) outs(%i : tensor<1x4xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @matmul_bias(%x: tensor<1x6xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>, %b: tensor<6xf32>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{bias must be a 1-D tensor of 4 elements, got 'tensor<6xf32>'}}
  %y = sd.shift_add_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) bias(%b : tensor<6xf32>) outs(%i : tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @permdiag_k(%x: tensor<1x5xf32>, %w: !sd.permdiag<4x4xf32, p = 2>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{input reduction size 5 does not match the weight's K = 4}}
  %y = sd.permdiag_matmul ins(%x, %w : tensor<1x5xf32>, !sd.permdiag<4x4xf32, p = 2>) outs(%i : tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sd.shift_add_conv2d
//===----------------------------------------------------------------------===//

func.func @conv_rank2_weight(%x: tensor<1x2x5x5xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>, %i: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{operand #1 must be rank-4 (F x C x R x S) SmartExchange weight, but got '!sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>'}}
  %y = sd.shift_add_conv2d ins(%x, %w : tensor<1x2x5x5xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) outs(%i : tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<2x5x5xf32>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>, %i: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{operand #0 must be 4D tensor of floating-point values, but got 'tensor<2x5x5xf32>'}}
  %y = sd.shift_add_conv2d ins(%x, %w : tensor<2x5x5xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%i : tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  return
}

// -----

func.func @conv_strides_size(%x: tensor<1x2x5x5xf32>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>, %i: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{attribute 'strides' failed to satisfy constraint: i64 dense array attribute with exactly 2 elements whose value is positive}}
  %y = sd.shift_add_conv2d {strides = array<i64: 1>} ins(%x, %w : tensor<1x2x5x5xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%i : tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  return
}

// -----

func.func @conv_strides_zero(%x: tensor<1x2x5x5xf32>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>, %i: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{attribute 'dilations' failed to satisfy constraint: i64 dense array attribute with exactly 2 elements whose value is positive}}
  %y = sd.shift_add_conv2d {dilations = array<i64: 0, 1>} ins(%x, %w : tensor<1x2x5x5xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%i : tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  return
}

// -----

func.func @conv_in_channels(%x: tensor<1x3x5x5xf32>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>, %i: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{input has 3 channels but the weight expects 2}}
  %y = sd.shift_add_conv2d ins(%x, %w : tensor<1x3x5x5xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%i : tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  return
}

// -----

func.func @conv_out_channels(%x: tensor<1x5x5x2xf32>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>, %i: tensor<1x3x3x5xf32>) {
  // expected-error @+1 {{init has 5 channels but the weight has 4 filters}}
  %y = sd.shift_add_conv2d {layout = #sd<conv_layout nhwc>} ins(%x, %w : tensor<1x5x5x2xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%i : tensor<1x3x3x5xf32>) -> tensor<1x3x3x5xf32>
  return
}

// -----

func.func @conv_batch(%x: tensor<2x2x5x5xf32>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>, %i: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{input and init batch sizes differ}}
  %y = sd.shift_add_conv2d ins(%x, %w : tensor<2x2x5x5xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%i : tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  return
}

// -----

func.func @conv_spatial(%x: tensor<1x2x7x7xf32>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>, %i: tensor<1x4x5x5xf32>) {
  // expected-error @+1 {{spatial dimension 0 of init is 5 but input size 7, kernel 3, stride 2 and dilation 1 give 3}}
  %y = sd.shift_add_conv2d {strides = array<i64: 2, 2>} ins(%x, %w : tensor<1x2x7x7xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%i : tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  return
}

// -----

func.func @conv_elem(%x: tensor<1x2x5x5xf32>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>, %i: tensor<1x4x3x3xf16>) {
  // expected-error @+1 {{init element type 'f16' does not match the weight element type 'f32'}}
  %y = sd.shift_add_conv2d ins(%x, %w : tensor<1x2x5x5xf32>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) outs(%i : tensor<1x4x3x3xf16>) -> tensor<1x4x3x3xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sd.quantized_matmul and sd.quantized_conv2d
//===----------------------------------------------------------------------===//

func.func @q_float_input(%x: tensor<1x6xf32>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {
  // expected-error @+1 {{operand #0 must be statically shaped non-0-ranked tensor of 8-bit signless integer values, but got 'tensor<1x6xf32>'}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xf32>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @q_scale(%x: tensor<1x6xi8>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {
  // expected-error @+1 {{attribute 'input_scale' failed to satisfy constraint: 64-bit float attribute whose value is positive and finite}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {input_scale = 0.0 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

// An infinite or NaN scale has no integer requantization.
func.func @q_scale_inf(%x: tensor<1x6xi8>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {
  // expected-error @+1 {{attribute 'output_scale' failed to satisfy constraint: 64-bit float attribute whose value is positive and finite}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 0x7FF0000000000000 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @q_scale_nan(%x: tensor<1x6xi8>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {
  // expected-error @+1 {{attribute 'input_scale' failed to satisfy constraint: 64-bit float attribute whose value is positive and finite}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {input_scale = 0x7FF8000000000000 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @q_bias(%x: tensor<1x6xi8>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>, %b: tensor<4xi32>) {
  // expected-error @+1 {{operand #2 must be 1D tensor of 32-bit float values, but got 'tensor<4xi32>'}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) bias(%b : tensor<4xi32>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @q_rank4_weight(%x: tensor<1x18xi8>, %w: !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {
  // expected-error @+1 {{operand #1 must be rank-2 (N x K) compressed sd weight or f32 tensor, but got '!sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>'}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x18xi8>, !sd.se<4x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @q_rank(%x: tensor<6xi8>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {
  // expected-error @+1 {{input 'tensor<6xi8>' and result 'tensor<1x4xi8>' must have the same rank, at least 1}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @q_k(%x: tensor<1x5xi8>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {
  // expected-error @+1 {{input reduction size 5 does not match the weight's K = 6}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x5xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @q_n(%x: tensor<1x6xi8>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {
  // expected-error @+1 {{result last dimension 3 does not match the weight's N = 4}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<1x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x3xi8>
  return
}

// -----

func.func @q_batch(%x: tensor<2x6xi8>, %w: !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {
  // expected-error @+1 {{input and result differ in batch dimension 0}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x6xi8>, !sd.se<4x6xf32, blocks = 1x2, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<3x4xi8>
  return
}

// -----

func.func @qc_rank(%x: tensor<2x5x5xi8>, %w: !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {
  // expected-error @+1 {{operand #0 must be statically shaped 4D tensor of 8-bit signless integer values, but got 'tensor<2x5x5xi8>'}}
  %y = sd.quantized_conv2d ins(%x, %w : tensor<2x5x5xi8>, !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x3x3x3xi8>
  return
}

// -----

func.func @qc_strides(%x: tensor<1x2x5x5xi8>, %w: !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {
  // expected-error @+1 {{attribute 'strides' failed to satisfy constraint: i64 dense array attribute with exactly 2 elements whose value is positive}}
  %y = sd.quantized_conv2d ins(%x, %w : tensor<1x2x5x5xi8>, !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64, strides = array<i64: 1>} -> tensor<1x3x3x3xi8>
  return
}

// -----

func.func @qc_dilation(%x: tensor<1x2x5x5xi8>, %w: !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {
  // expected-error @+1 {{attribute 'dilations' failed to satisfy constraint: i64 dense array attribute with exactly 2 elements whose value is positive}}
  %y = sd.quantized_conv2d ins(%x, %w : tensor<1x2x5x5xi8>, !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64, dilations = array<i64: 1, 0>} -> tensor<1x3x3x3xi8>
  return
}

// -----

func.func @qc_channels(%x: tensor<1x4x5x5xi8>, %w: !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {
  // expected-error @+1 {{input has 4 channels but the weight expects 2}}
  %y = sd.quantized_conv2d ins(%x, %w : tensor<1x4x5x5xi8>, !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x3x3x3xi8>
  return
}

// -----

func.func @qc_spatial(%x: tensor<1x2x5x5xi8>, %w: !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {
  // expected-error @+1 {{spatial dimension 0 of result is 2 but input size 5, kernel 3, stride 1 and dilation 1 give 3}}
  %y = sd.quantized_conv2d ins(%x, %w : tensor<1x2x5x5xi8>, !sd.se<3x2x3x3xf32, blocks = 1x6, exponents = [-8, 5]>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x3x2x3xi8>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sd.quantized_add, sd.quantized_max_pool2d, sd.quantized_avg_pool2d
//===----------------------------------------------------------------------===//

func.func @qa_float(%a: tensor<1x4xf32>, %b: tensor<1x4xi8>) {
  // expected-error @+1 {{operand #0 must be statically shaped non-0-ranked tensor of 8-bit signless integer values, but got 'tensor<1x4xf32>'}}
  %y = sd.quantized_add ins(%a, %b : tensor<1x4xf32>, tensor<1x4xi8>) {lhs_scale = 1.0 : f64, rhs_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @qa_shape(%a: tensor<1x4xi8>, %b: tensor<1x5xi8>) {
  // expected-error @+1 {{failed to verify that all of {lhs, rhs, result} have same type}}
  %y = sd.quantized_add ins(%a, %b : tensor<1x4xi8>, tensor<1x5xi8>) {lhs_scale = 1.0 : f64, rhs_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @qa_scale(%a: tensor<1x4xi8>, %b: tensor<1x4xi8>) {
  // expected-error @+1 {{attribute 'rhs_scale' failed to satisfy constraint: 64-bit float attribute whose value is positive and finite}}
  %y = sd.quantized_add ins(%a, %b : tensor<1x4xi8>, tensor<1x4xi8>) {lhs_scale = 1.0 : f64, rhs_scale = -1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @qa_requant(%a: tensor<1x4xi8>, %b: tensor<1x4xi8>) {
  // expected-error @+1 {{the scales cannot be requantized: requantization multiplier 1000000.000000 is outside (0, 2^13)}}
  %y = sd.quantized_add ins(%a, %b : tensor<1x4xi8>, tensor<1x4xi8>) {lhs_scale = 1000.0 : f64, rhs_scale = 1.0 : f64, output_scale = 0.001 : f64} -> tensor<1x4xi8>
  return
}

// -----

func.func @qmp_float(%x: tensor<1x2x4x4xf32>) {
  // expected-error @+1 {{operand #0 must be statically shaped 4D tensor of 8-bit signless integer values, but got 'tensor<1x2x4x4xf32>'}}
  %y = sd.quantized_max_pool2d ins(%x : tensor<1x2x4x4xf32>) {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} -> tensor<1x2x2x2xi8>
  return
}

// -----

func.func @qmp_rank(%x: tensor<2x4x4xi8>) {
  // expected-error @+1 {{operand #0 must be statically shaped 4D tensor of 8-bit signless integer values, but got 'tensor<2x4x4xi8>'}}
  %y = sd.quantized_max_pool2d ins(%x : tensor<2x4x4xi8>) {kernel = array<i64: 2, 2>} -> tensor<2x3x3xi8>
  return
}

// -----

func.func @qmp_attrs(%x: tensor<1x2x4x4xi8>) {
  // expected-error @+1 {{attribute 'padding' failed to satisfy constraint: i64 dense array attribute with exactly 4 elements whose value is non-negative}}
  %y = sd.quantized_max_pool2d ins(%x : tensor<1x2x4x4xi8>) {kernel = array<i64: 2, 2>, padding = array<i64: 1, 1>} -> tensor<1x2x3x3xi8>
  return
}

// -----

func.func @qmp_kernel(%x: tensor<1x2x4x4xi8>) {
  // expected-error @+1 {{attribute 'kernel' failed to satisfy constraint: i64 dense array attribute with exactly 2 elements whose value is positive}}
  %y = sd.quantized_max_pool2d ins(%x : tensor<1x2x4x4xi8>) {kernel = array<i64: 2, 0>} -> tensor<1x2x3x3xi8>
  return
}

// -----

func.func @qmp_padding(%x: tensor<1x2x4x4xi8>) {
  // expected-error @+1 {{padding must be smaller than the window}}
  %y = sd.quantized_max_pool2d ins(%x : tensor<1x2x4x4xi8>) {kernel = array<i64: 2, 2>, padding = array<i64: 2, 0, 0, 0>} -> tensor<1x2x5x3xi8>
  return
}

// -----

func.func @qmp_channels(%x: tensor<1x2x4x4xi8>) {
  // expected-error @+1 {{input and result differ in batch or channels}}
  %y = sd.quantized_max_pool2d ins(%x : tensor<1x2x4x4xi8>) {kernel = array<i64: 2, 2>} -> tensor<1x3x3x3xi8>
  return
}

// -----

func.func @qmp_spatial(%x: tensor<1x2x5x5xi8>) {
  // expected-error @+1 {{spatial dimension 1 of the result is 3 but should be 2}}
  %y = sd.quantized_max_pool2d ins(%x : tensor<1x2x5x5xi8>) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>} -> tensor<1x2x2x3xi8>
  return
}

// -----

func.func @qap_scale(%x: tensor<1x2x4x4xi8>) {
  // expected-error @+1 {{attribute 'input_scale' failed to satisfy constraint: 64-bit float attribute whose value is positive and finite}}
  %y = sd.quantized_avg_pool2d ins(%x : tensor<1x2x4x4xi8>) {kernel = array<i64: 4, 4>, input_scale = 0.0 : f64, output_scale = 1.0 : f64} -> tensor<1x2x1x1xi8>
  return
}

// -----

func.func @qap_requant(%x: tensor<1x2x4x4xi8>) {
  // expected-error @+1 {{the scales cannot be requantized: requantization multiplier}}
  %y = sd.quantized_avg_pool2d ins(%x : tensor<1x2x4x4xi8>) {kernel = array<i64: 4, 4>, input_scale = 1.0e6 : f64, output_scale = 1.0e-3 : f64} -> tensor<1x2x1x1xi8>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sd.quantized_matmul on a permuted-diagonal weight
//===----------------------------------------------------------------------===//

func.func @qpd_reduction(%x: tensor<2x8xi8>, %w: !sd.permdiag<5x7xf32, p = 3>) {
  // expected-error @+1 {{input reduction size 8 does not match the weight's K = 7}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x8xi8>, !sd.permdiag<5x7xf32, p = 3>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<2x5xi8>
  return
}

// -----

func.func @qpd_outputs(%x: tensor<2x7xi8>, %w: !sd.permdiag<5x7xf32, p = 3>) {
  // expected-error @+1 {{result last dimension 6 does not match the weight's N = 5}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x7xi8>, !sd.permdiag<5x7xf32, p = 3>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<2x6xi8>
  return
}

// -----

func.func @qpd_bias(%x: tensor<2x7xi8>, %w: !sd.permdiag<5x7xf32, p = 3>, %b: tensor<6xf32>) {
  // expected-error @+1 {{bias must be a 1-D tensor of 5 elements, got 'tensor<6xf32>'}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x7xi8>, !sd.permdiag<5x7xf32, p = 3>) bias(%b : tensor<6xf32>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<2x5xi8>
  return
}

// -----

func.func @qpd_float_result(%x: tensor<2x7xi8>, %w: !sd.permdiag<5x7xf32, p = 3>) {
  // expected-error @+1 {{result #0 must be statically shaped non-0-ranked tensor of 8-bit signless integer values, but got 'tensor<2x5xi32>'}}
  %y = sd.quantized_matmul ins(%x, %w : tensor<2x7xi8>, !sd.permdiag<5x7xf32, p = 3>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<2x5xi32>
  return
}

// -----

func.func @qpd_conv(%x: tensor<1x2x5x5xi8>, %w: !sd.permdiag<3x18xf32, p = 3>) {
  // expected-error @+1 {{operand #1 must be rank-4 (F x C x R x S) SmartExchange weight or f32 tensor, but got '!sd.permdiag<3x18xf32, p = 3>'}}
  %y = "sd.quantized_conv2d"(%x, %w) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} : (tensor<1x2x5x5xi8>, !sd.permdiag<3x18xf32, p = 3>) -> tensor<1x3x3x3xi8>
  return
}

// -----

func.func @qdw_rank(%x: tensor<1x2x5x5xi8>, %w: tensor<2x3x3xf32>) {
  // expected-error @+1 {{operand #1 must be statically shaped 4D tensor of 32-bit float values, but got 'tensor<2x3x3xf32>'}}
  %y = sd.quantized_depthwise_conv2d ins(%x, %w : tensor<1x2x5x5xi8>, tensor<2x3x3xf32>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x2x3x3xi8>
  return
}

// -----

func.func @qdw_elem(%x: tensor<1x2x5x5xi8>, %w: tensor<2x1x3x3xi8>) {
  // expected-error @+1 {{operand #1 must be statically shaped 4D tensor of 32-bit float values, but got 'tensor<2x1x3x3xi8>'}}
  %y = sd.quantized_depthwise_conv2d ins(%x, %w : tensor<1x2x5x5xi8>, tensor<2x1x3x3xi8>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x2x3x3xi8>
  return
}

// -----

func.func @qdw_channels(%x: tensor<1x2x5x5xi8>, %w: tensor<3x1x3x3xf32>) {
  // expected-error @+1 {{input 'tensor<1x2x5x5xi8>', weight 'tensor<3x1x3x3xf32>' and result 'tensor<1x3x3x3xi8>' are not a depthwise convolution}}
  %y = sd.quantized_depthwise_conv2d ins(%x, %w : tensor<1x2x5x5xi8>, tensor<3x1x3x3xf32>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x3x3x3xi8>
  return
}

// -----

func.func @qdw_strides(%x: tensor<1x2x5x5xi8>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{attribute 'strides' failed to satisfy constraint: i64 dense array attribute with exactly 2 elements whose value is positive}}
  %y = sd.quantized_depthwise_conv2d ins(%x, %w : tensor<1x2x5x5xi8>, tensor<2x1x3x3xf32>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64, strides = array<i64: 0, 1>} -> tensor<1x2x3x3xi8>
  return
}

// -----

func.func @qdw_spatial(%x: tensor<1x2x5x5xi8>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{spatial dimension 0 of the result is 3 but should be 2}}
  %y = sd.quantized_depthwise_conv2d ins(%x, %w : tensor<1x2x5x5xi8>, tensor<2x1x3x3xf32>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64, strides = array<i64: 2, 2>} -> tensor<1x2x3x2xi8>
  return
}

// -----

func.func @qdw_common(%x: tensor<1x2x5x5xi8>, %w: tensor<2x1x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{bias must be a 1-D tensor of 2 elements, got 'tensor<3xf32>'}}
  %y = sd.quantized_depthwise_conv2d ins(%x, %w : tensor<1x2x5x5xi8>, tensor<2x1x3x3xf32>) bias(%b : tensor<3xf32>) {input_scale = 1.0 : f64, output_scale = 1.0 : f64} -> tensor<1x2x3x3xi8>
  return
}

// -----

func.func @quantize_float(%x: tensor<4xf16>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4xf16>'}}
  %q = sd.quantize %x {scale = 0.5 : f64} : tensor<4xf16> -> tensor<4xi8>
  return
}

// -----

func.func @quantize_int(%x: tensor<4xf32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<4xi32>'}}
  %q = sd.quantize %x {scale = 0.5 : f64} : tensor<4xf32> -> tensor<4xi32>
  return
}

// -----

func.func @quantize_scale(%x: tensor<4xf32>) {
  // expected-error @+1 {{attribute 'scale' failed to satisfy constraint: 64-bit float attribute whose value is positive and finite}}
  %q = sd.quantize %x {scale = 0.0 : f64} : tensor<4xf32> -> tensor<4xi8>
  return
}

// -----

func.func @quantize_shape(%x: tensor<4xf32>) {
  // expected-error @+1 {{requires the same shape for all operands and results}}
  %q = sd.quantize %x {scale = 1.0 : f64} : tensor<4xf32> -> tensor<5xi8>
  return
}

// -----

func.func @dequantize_float(%x: tensor<4xi8>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 32-bit float values, but got 'tensor<4xf64>'}}
  %y = sd.dequantize %x {scale = 0.5 : f64} : tensor<4xi8> -> tensor<4xf64>
  return
}

// -----

func.func @dequantize_int(%x: tensor<4xi16>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<4xi16>'}}
  %y = sd.dequantize %x {scale = 0.5 : f64} : tensor<4xi16> -> tensor<4xf32>
  return
}

// -----

func.func @dequantize_scale(%x: tensor<4xi8>) {
  // expected-error @+1 {{attribute 'scale' failed to satisfy constraint: 64-bit float attribute whose value is positive and finite}}
  %y = sd.dequantize %x {scale = -1.0 : f64} : tensor<4xi8> -> tensor<4xf32>
  return
}
