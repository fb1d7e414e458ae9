//===- NetworkLayers.h - Whole-network accelerator layers -------*- C++ -*-===//
//
// Part of SmartDeal-MLIR, under the MIT licence.
//
//===----------------------------------------------------------------------===//
//
// The layers a whole network needs besides convolutions and fully connected
// layers: max pooling, average pooling (global or windowed), the residual
// add of two int8 tensors with their own scales, and depthwise convolutions
// with raw int8 weights. Pooling and adds run on the requantization units
// (`pool`, `add`), depthwise convolutions on the MAC array (`dwconv`); all
// read the input buffer, write the output buffer and chain with the other
// layers through tensors in DRAM. The builder emits them, verifyProgram()
// checks their layer-table entries with verifyNetworkLayer(), and the
// simulator computes them with the functions below, so the arithmetic is
// written once (docs/QuantizedArithmetic.md).
//
//===----------------------------------------------------------------------===//

#ifndef SD_ACCEL_NETWORKLAYERS_H
#define SD_ACCEL_NETWORKLAYERS_H

#include "SD/Accel/HardwareConfig.h"
#include "SD/Accel/Program.h"

#include <cstdint>
#include <string>

namespace sd::sdacc {

/// Empty when the layer-table entry `index` (a pooling or add layer) is
/// consistent with its tensors; otherwise why not.
std::string verifyNetworkLayer(const Program &program, int64_t index);

/// Output value of pooling position (n, oh, ow) of channel `ch` of layer `l`
/// (kind MaxPool or AvgPool), reading input rows [h0, h0 + rows) of sample
/// `n` laid out [rows][c][w] at `band`: the maximum over the window without
/// the padding, or the window's int64 sum requantized by (multiplier, shift).
int8_t poolOutput(const LayerDecl &l, const int8_t *band, int64_t h0,
                  int64_t ch, int64_t oh, int64_t ow);

/// Depthwise convolution output (n, oh, ow) of channel `ch` of layer `l`:
/// `bias` plus the window of input rows [h0, h0 + rows) of the sample (laid
/// out [rows][c][w] at `band`) times the channel's r * s int8 weights
/// `w` (padding adds 0), requantized by the layer's multiplier and shift.
int8_t depthwiseOutput(const LayerDecl &l, const int8_t *band, int64_t h0,
                       int64_t ch, int64_t oh, int64_t ow, const int8_t *w,
                       int64_t bias);

/// Cycles of a `dwconv`: slices take dim_m channels, the dim_c lines split
/// the r * s taps, the MACs take dim_f positions; plus the adder tree.
int64_t depthwiseCycles(int64_t channels, int64_t npos, int64_t taps,
                        int64_t dimM, int64_t dimC, int64_t dimF);

/// Cycles of a `pool` instruction: one window tap per cycle for dim_m
/// channels x dim_f positions, plus the requantization pipeline.
int64_t poolCycles(int64_t channels, int64_t npos, int64_t taps,
                   int64_t dimM, int64_t dimF);

/// Cycles of an `add` of `length` elements: dim_m x dim_f per cycle.
int64_t addCycles(int64_t length, int64_t dimM, int64_t dimF);

/// Whether pooling or a depthwise convolution over `channels` channels of
/// an h x w input (kernel height `kernelH`, `ow` output columns) can run:
/// one output row of every channel, its input rows and its outputs, must
/// fit half the input and half the output buffer (the bands alternate
/// between the halves). --sd-schedule splits the channels of a layer that
/// does not until each group does.
bool windowedRowFits(const HardwareConfig &config, int64_t channels,
                     int64_t h, int64_t w, int64_t kernelH, int64_t ow);

} // namespace sd::sdacc

#endif // SD_ACCEL_NETWORKLAYERS_H
