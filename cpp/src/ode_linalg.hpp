// Private: the dense linear algebra of Levenberg-Marquardt. Normal matrices from a Jacobian
// stored transposed (one row per parameter, residuals contiguous), their Cholesky factors and
// solves. Loops run along contiguous rows in vector lanes with no reassociation, and poll a
// stop request between blocks of work, so that Ctrl-C is noticed inside a large solve.
#pragma once

#include <fastcalc/ode.hpp>

#include <cstddef>

namespace fastcalc {
namespace ode {
namespace linalg {

// C (n x n, upper triangle at least) = X X^T for X (n rows of length len, stride ld, len a
// multiple of 8 with zero padding). False when stopped.
bool gram_rows(const double* X, std::size_t n, std::size_t len, std::size_t ld, double* C, std::size_t ldc,
               Stop* stop);

// C (n x n, upper triangle at least) += alpha sum_a w_a X[a]^T X[a] over `rows` rows X[a] of
// length n (stride ld); w null for ones. False when stopped.
bool gram_cols(const double* X, std::size_t rows, std::size_t ld, const double* w, std::size_t n, double alpha,
               double* C, std::size_t ldc, Stop* stop);

// sum_t x[t] y[t] over n values, in 8 partial sums (lane l takes t = l mod 8) added in lane order.
double dot(const double* x, const double* y, std::size_t n);

// In place: A = U^T U with U upper triangular (A's upper triangle read, U written there).
// Returns 0, -1 when A is not numerically positive definite, 1 when stopped.
int cholesky(double* A, std::size_t n, std::size_t lda, Stop* stop);

// b <- A^{-1} b from cholesky's factor.
void cholesky_solve(const double* U, std::size_t n, std::size_t ldu, double* b);

}  // namespace linalg
}  // namespace ode
}  // namespace fastcalc
