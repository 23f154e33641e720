#include <fastcalc/kernel.hpp>

#include "blocks.hpp"

#include <algorithm>
#include <vector>

namespace fastcalc {

namespace {

constexpr std::size_t kPiece = 8192;  // points per call: its inputs and results stay in L2
constexpr std::size_t kWidth = 8;     // every kernel runs whole vectors of up to 8 lanes

// The last N % 8 points run padded to 8 lanes (with 0.5, inside every function's domain).
template <class Call>
void tail(std::size_t n_inputs, std::size_t body, std::size_t N, std::size_t n_results, double* const* R,
          Call call) {
    if (body == N) return;
    const std::size_t m = N - body;
    std::vector<double> out(n_results * kWidth);
    std::vector<double*> r(n_results);
    for (std::size_t k = 0; k < n_results; ++k) r[k] = out.data() + k * kWidth;
    call(m, r.data());
    (void)n_inputs;
    for (std::size_t k = 0; k < n_results; ++k) std::copy(r[k], r[k] + m, R[k] + body);
}

}  // namespace

void run_columns(ColumnsKernel k, const double* const* X, std::size_t n_inputs, std::size_t N, double* const* R,
                 std::size_t n_results, int threads, const Interrupt& intr) {
    const std::size_t body = N / kWidth * kWidth, nb = (body + kPiece - 1) / kPiece;
    blocks::run(
        nb, nb >= 8 ? threads : 1, intr,
        [&] { return std::vector<const double*>(n_inputs + n_results); },
        [&](std::vector<const double*>& p, std::size_t b, const blocks::Ticket&) {
            const std::size_t s = b * kPiece, m = std::min(kPiece, body - s);
            const double** xs = p.data();
            double** rs = const_cast<double**>(p.data() + n_inputs);
            for (std::size_t v = 0; v < n_inputs; ++v) xs[v] = X[v] + s;
            for (std::size_t r = 0; r < n_results; ++r) rs[r] = R[r] + s;
            k(static_cast<std::int64_t>(m), xs, rs);
        });
    tail(n_inputs, body, N, n_results, R, [&](std::size_t m, double* const* r) {
        std::vector<double> in(n_inputs * kWidth, 0.5);
        std::vector<const double*> xs(n_inputs);
        for (std::size_t v = 0; v < n_inputs; ++v) {
            std::copy(X[v] + body, X[v] + body + m, in.begin() + static_cast<std::ptrdiff_t>(v * kWidth));
            xs[v] = in.data() + v * kWidth;
        }
        k(static_cast<std::int64_t>(kWidth), xs.data(), r);
    });
}

void run_rows(ColumnsKernel k, const double* X, std::size_t ld, std::size_t n_inputs, std::size_t N, double* const* R,
              std::size_t n_results, int threads, const Interrupt& intr) {
    // Pieces of rows transposed into columns for the columns kernel (one entry point to compile
    // per kernel); the last piece padded to whole vectors with 0.5.
    constexpr std::size_t kRows = 512;
    const std::size_t nb = (N + kRows - 1) / kRows;
    struct Scratch {
        std::vector<double> in, out;
        std::vector<const double*> xs;
        std::vector<double*> rs, direct;
    };
    blocks::run(
        nb, nb >= 8 ? threads : 1, intr,
        [&] {
            Scratch sc{std::vector<double>(n_inputs * kRows), std::vector<double>(n_results * kRows), {}, {},
                       std::vector<double*>(n_results)};
            for (std::size_t v = 0; v < n_inputs; ++v) sc.xs.push_back(sc.in.data() + v * kRows);
            for (std::size_t r = 0; r < n_results; ++r) sc.rs.push_back(sc.out.data() + r * kRows);
            return sc;
        },
        [&](Scratch& sc, std::size_t b, const blocks::Ticket&) {
            const std::size_t s = b * kRows, m = std::min(kRows, N - s), m8 = (m + kWidth - 1) / kWidth * kWidth;
            for (std::size_t i = 0; i < m; ++i) {
                const double* row = X + (s + i) * ld;
                for (std::size_t v = 0; v < n_inputs; ++v) sc.in[v * kRows + i] = row[v];
            }
            for (std::size_t v = 0; v < n_inputs; ++v) std::fill(sc.in.begin() + v * kRows + m, sc.in.begin() + v * kRows + m8, 0.5);
            if (m8 == m) {  // whole vectors: the results go straight to their columns
                std::vector<double*>& direct = sc.direct;
                for (std::size_t r = 0; r < n_results; ++r) direct[r] = R[r] + s;
                k(static_cast<std::int64_t>(m), sc.xs.data(), direct.data());
                return;
            }
            k(static_cast<std::int64_t>(m8), sc.xs.data(), sc.rs.data());
            for (std::size_t r = 0; r < n_results; ++r) std::copy(sc.out.begin() + r * kRows, sc.out.begin() + r * kRows + m, R[r] + s);
        });
}

}  // namespace fastcalc
