// Private: running independent blocks of work, on OpenMP's threads when asked and built with it,
// with Ctrl-C noticed between blocks. An exception thrown in a block (the interrupt, a user's
// callback) never leaves a parallel region: the first one is kept, the other threads stop at
// their next block, and it is rethrown on the calling thread.
#pragma once

#include <fastcalc/function.hpp>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>

#ifdef FASTCALC_HAVE_OPENMP
#include <omp.h>
#endif

namespace fastcalc {
namespace blocks {

// Thrown inside a block on a thread other than the polling one once the run is stopping (an
// interrupt or an error elsewhere): it unwinds that block and is dropped.
struct Cancelled {};

// What a long block polls every so often: Ctrl-C on the thread that may (the caller's), the
// stop of the whole run on the others.
class Ticket {
public:
    Ticket(const Interrupt& intr, const std::atomic<bool>* stop, bool master) : intr_(intr), stop_(stop), master_(master) {}
    void poll() const {
        if (master_) intr_.check();
        else if (stop_ && stop_->load(std::memory_order_relaxed)) throw Cancelled{};
    }

private:
    const Interrupt& intr_;
    const std::atomic<bool>* stop_;
    bool master_;
};

// body(thread_state, b, ticket) for b in [0, nb). make_state() builds one state per thread (scratch).
// Only the calling thread polls `intr` (it may need the GIL, which only that thread's caller
// released); the others see its verdict through `stop`.
template <class MakeState, class Body>
void run(std::size_t nb, int threads, const Interrupt& intr, MakeState make_state, Body body) {
#ifdef FASTCALC_HAVE_OPENMP
    if (threads != 1 && nb > 1) {
        const int nt = threads > 0 ? threads : omp_get_max_threads();
        std::exception_ptr err;
        std::atomic<bool> stop{false};
        std::atomic<std::size_t> next{0};  // blocks handed out one at a time: no barrier to miss
#pragma omp parallel num_threads(nt)
        {
            const bool master = omp_get_thread_num() == 0;
            try {
                auto state = make_state();
                for (;;) {
                    if (stop.load(std::memory_order_relaxed)) break;
                    const std::size_t b = next.fetch_add(1, std::memory_order_relaxed);
                    if (b >= nb) break;
                    if (master) intr.check();
                    body(state, b, Ticket(intr, &stop, master));
                }
            } catch (const Cancelled&) {
            } catch (...) {
#pragma omp critical(fastcalc_blocks_err)
                if (!err) err = std::current_exception();
                stop.store(true, std::memory_order_relaxed);
            }
        }
        if (err) std::rethrow_exception(err);
        return;
    }
#else
    (void)threads;
#endif
    auto state = make_state();
    for (std::size_t b = 0; b < nb; ++b) {
        intr.check();
        body(state, b, Ticket(intr, nullptr, true));
    }
}

// A 64-byte aligned buffer of doubles, not zero-filled (every slot is written before it is read).
class Buffer {
public:
    Buffer() = default;
    explicit Buffer(std::size_t n) { resize(n); }
    void resize(std::size_t n) {
        if (n <= n_) return;
        if (n > (std::size_t(-1) >> 4)) throw std::bad_alloc();
        void* p = nullptr;
        const std::size_t bytes = (n * sizeof(double) + 63) / 64 * 64;
#if defined(_WIN32)
        p = _aligned_malloc(bytes, 64);
        if (!p) throw std::bad_alloc();
#else
        if (posix_memalign(&p, 64, bytes) != 0) throw std::bad_alloc();
#endif
        p_.reset(static_cast<double*>(p));
        n_ = n;
    }
    double* data() { return p_.get(); }
    const double* data() const { return p_.get(); }
    std::size_t size() const { return n_; }

private:
    struct Free {
        void operator()(double* p) const {
#if defined(_WIN32)
            _aligned_free(p);
#else
            std::free(p);
#endif
        }
    };
    std::unique_ptr<double, Free> p_;
    std::size_t n_ = 0;
};

}  // namespace blocks
}  // namespace fastcalc
