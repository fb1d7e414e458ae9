//===- SDTypes.td - sd dialect types -----------------------*- tablegen -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//

#ifndef SD_DIALECT_SD_IR_SDTYPES_TD
#define SD_DIALECT_SD_IR_SDTYPES_TD

include "SD/Dialect/SD/IR/SDDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

class SD_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<SD_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def SD_SEWeightType : SD_Type<"SEWeight", "se"> {
  let summary = "A weight stored as SmartExchange Ce * B blocks";
  let description = [{
    The type of a SmartExchange-decomposed weight. It records the dense
    weight it stands for (shape `[O, ...]` and element type), the block
    partition and the exponent range of the Ce codes:

    ```mlir
    !sd.se<64x64x3x3xf32, blocks = 1x192, exponents = [-8, 5]>
    ```

    Each output `o` is viewed as its `L = prod(shape[1:])` weights in
    row-major order, zero-padded to a multiple of 3 and cut into rows of 3,
    so row `(cin, kh)` of a `Cout x Cin x R x 3` convolution weight is the
    kernel row `W[o, cin, kh, :]`, and a fully connected `N x K` row runs
    along K. Those `ceil(L/3)` rows are split into `numBlocks` blocks of
    `blockRows` rows (the last block padded with zero rows); every block
    has its own 3x3 basis B. The codes are stored as
    `[O, numBlocks, blockRows, 3]` and the bases as `[O, numBlocks, 3, 3]`.

    The blocks must cover the rows and leave no block of padding only.
    Ce codes decode as `c == 0 -> 0`, else `sign(c) * 2^(minExp + |c| - 1)`.
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "dense weight shape">:$shape,
    "::mlir::Type":$elementType,
    "int64_t":$numBlocks,
    "int64_t":$blockRows,
    "int64_t":$minExp,
    "int64_t":$maxExp
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The dense tensor type this weight stands for.
    ::mlir::RankedTensorType getDenseType() const;
    /// The plain C++ block layout shared with the compression library.
    ::sd::compression::BlockLayout getLayout() const;
    /// The exponent range of the Ce codes.
    ::sd::compression::ExponentRange getExponentRange() const;
    /// Shape of the Ce code tensor, [O, numBlocks, blockRows, 3].
    ::llvm::SmallVector<int64_t> getCodesShape() const;
    /// Shape of the basis tensor, [O, numBlocks, 3, 3].
    ::llvm::SmallVector<int64_t> getBasisShape() const;
  }];
}

def SD_PermDiagWeightType : SD_Type<"PermDiagWeight", "permdiag"> {
  let summary = "A weight stored as PermDNN permuted-diagonal blocks";
  let description = [{
    An `M x N` fully connected weight cut into `p x p` blocks, each a
    permuted diagonal matrix: block `(i, j)` has one offset `k_ij` in
    `[0, p)` and `p` values `q_ij`, and its row `c` holds `q_ij[c]` at column
    `(c + k_ij) mod p` and zeros elsewhere. M and N are padded up to
    multiples of p; padding rows and columns are dropped by `sd.rebuild`.

    ```mlir
    !sd.permdiag<512x1024xf32, p = 8>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "dense weight shape">:$shape,
    "::mlir::Type":$elementType,
    "int64_t":$blockSize
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The dense tensor type this weight stands for.
    ::mlir::RankedTensorType getDenseType() const;
    /// Blocks along the output (row) dimension, ceil(M / p).
    int64_t getRowBlocks() const;
    /// Blocks along the input (column) dimension, ceil(N / p).
    int64_t getColBlocks() const;
  }];
}

def SD_AnyWeight : AnyTypeOf<[SD_SEWeightType, SD_PermDiagWeightType],
                             "a compressed sd weight">;

#endif // SD_DIALECT_SD_IR_SDTYPES_TD
