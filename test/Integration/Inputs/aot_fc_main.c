/* aot_fc_main.c - Calls a model compiled to a shared library from C.
 *
 * The model (aot-library.mlir) exports forward(x: 2x5) -> 2x4; with
 * -emit-c-interface it is _mlir_ciface_forward(result*, x*) on plain memref
 * descriptors. Prints the result one row per line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} MemRef2D;

void _mlir_ciface_forward(MemRef2D *result, MemRef2D *x);

int main(void) {
  float data[10] = {1, 2, 3, 4, 5, -1, 0, 1, 0, -1};
  MemRef2D x = {data, data, 0, {2, 5}, {5, 1}};
  MemRef2D y;
  _mlir_ciface_forward(&y, &x);
  for (int64_t i = 0; i < y.sizes[0]; ++i) {
    for (int64_t j = 0; j < y.sizes[1]; ++j)
      printf("%s%g", j ? " " : "", y.aligned[y.offset + i * y.strides[0] +
                                              j * y.strides[1]]);
    printf("\n");
  }
  free(y.allocated);
  return 0;
}
