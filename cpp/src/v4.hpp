// Private: 4 doubles as one value, for loops that keep their partial sums in vector registers:
// one AVX2 register (half of one in the AVX-512 clone, two SSE2 ones). Elementwise + - * with
// doubles broadcast, so a loop written on it is the same arithmetic, lane by lane, in every clone
// and in the portable struct that stands in for it without GCC's vector extension.
#pragma once

#include "clones.hpp"

namespace fastcalc {

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"  // the helpers are always inlined: no ABI crosses
typedef double v4 __attribute__((vector_size(32)));
FASTCALC_INLINE v4 load4(const double* p) {
    v4 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
FASTCALC_INLINE double lane(const v4& v, int l) { return v[l]; }
#else
struct v4 {
    double e[4];
};
#define FC_V4_OP(op)                                                                         \
    inline v4 operator op(v4 a, v4 b) { return {{a.e[0] op b.e[0], a.e[1] op b.e[1], a.e[2] op b.e[2], a.e[3] op b.e[3]}}; } \
    inline v4 operator op(double a, v4 b) { return v4{{a, a, a, a}} op b; }               \
    inline v4 operator op(v4 a, double b) { return a op v4{{b, b, b, b}}; }               \
    inline v4& operator op##=(v4& a, v4 b) { return a = a op b; }
FC_V4_OP(+)
FC_V4_OP(-)
FC_V4_OP(*)
#undef FC_V4_OP
inline v4 operator-(v4 a) { return {{-a.e[0], -a.e[1], -a.e[2], -a.e[3]}}; }
inline v4 load4(const double* p) { return {{p[0], p[1], p[2], p[3]}}; }
inline double lane(const v4& v, int l) { return v.e[l]; }
#endif

}  // namespace fastcalc
