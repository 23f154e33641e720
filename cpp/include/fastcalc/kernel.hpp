// Running native code generated for a Program (fastcalc/_jit.py) over many points: in pieces
// (on OpenMP's threads when asked), the tail padded to the kernel's whole vectors, Ctrl-C
// noticed between pieces.
#pragma once

#include <fastcalc/function.hpp>

#include <cstddef>
#include <cstdint>

namespace fastcalc {

// Columns: X[v] the contiguous values of input v, R[r] of result r; n a multiple of 8. Returns
// the OR of the bit patterns of the last result's n values: 0 when all are +0.0 (descent's step
// programs end with the stop codes, so 0 means no run stopped, without another pass).
using ColumnsKernel = std::uint64_t (*)(std::int64_t n, const double* const* X, double* const* R);

// R[r][i] for i in [0, N): the results of every point.
void run_columns(ColumnsKernel k, const double* const* X, std::size_t n_inputs, std::size_t N, double* const* R,
                 std::size_t n_results, int threads, const Interrupt& intr = Interrupt());
// The same for rows: point i's input v at X[i * ld + v] (ld >= n_inputs), through the columns
// kernel.
void run_rows(ColumnsKernel k, const double* X, std::size_t ld, std::size_t n_inputs, std::size_t N, double* const* R,
              std::size_t n_results, int threads, const Interrupt& intr = Interrupt());

}  // namespace fastcalc
