/* kernels-vecmath.h — exp, 2^t, tanh and tanh-GELU on vectors, over the
 * primitives of kernels-vec.h (the includer defines them first: the
 * AVX2 and AVX-512 sets, and the AMX set, which applies GELU to a
 * product's outputs as it stores them and 2^t in attention's softmax).  Each
 * includer compiles its own copy; the same primitives give the same bits. */
#ifndef PALI_KERNELS_VECMATH_H
#define PALI_KERNELS_VECMATH_H

/* ---- vector math -------------------------------------------------------- */

/* Cephes expf: x = n·ln2 + r with ln2 split in two, e^r by a degree-6
 * polynomial, times 2^n (vf_ldexp).  ~1 ulp; 0 below −87.3 (where f32
 * goes subnormal): those lanes are replaced at the end, whatever the
 * arithmetic gave them.  Inputs must stay at most 88 (n ≤ 127, so 2^n is
 * one exponent field); every caller does (the softmax's x − max ≤ 0,
 * tanh's 2|x| ≤ 19).  NaN gives NaN. */
#define EXP_LO     (-87.336544f)
#define EXP_LOG2E  1.44269504088896341f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO (-2.12194440e-4f)

static inline vf v_exp(vf x)
{
    const vf n = vf_round(vf_mul(x, vf_set1(EXP_LOG2E)));
    vf r = vf_fmadd(n, vf_set1(-EXP_LN2_HI), x);
    r = vf_fmadd(n, vf_set1(-EXP_LN2_LO), r);
    vf p = vf_set1(1.9875691500E-4f);
    p = vf_fmadd(p, r, vf_set1(1.3981999507E-3f));
    p = vf_fmadd(p, r, vf_set1(8.3334519073E-3f));
    p = vf_fmadd(p, r, vf_set1(4.1665795894E-2f));
    p = vf_fmadd(p, r, vf_set1(1.6666665459E-1f));
    p = vf_fmadd(p, r, vf_set1(5.0000001201E-1f));
    p = vf_fmadd(p, vf_mul(r, r), vf_add(r, vf_set1(1)));
    p = vf_ldexp(p, n);
    return vf_blend_lt(x, vf_set1(EXP_LO), vf_zero(), p);
}

/* 2^t for t ≤ 127 (a softmax's exponents, at most 0; GELU's, at most
 * GELU_T_MAX): t = n + f with |f| ≤ ½, 2^f by its degree-6 Taylor polynomial
 * (truncation at most 1.2·10⁻⁷ relative, about one ulp), times 2^n
 * (vf_ldexp); t is clamped at −126, where 2^t is too small to move a sum
 * of the 1 that the largest term contributes.  Cheaper than v_exp: the
 * caller folds the scale by log2 e into its own FMA. */
static inline vf v_exp2(vf t)
{
    t = vf_max(t, vf_set1(-126.0f));
    const vf n = vf_round(t);
    const vf f = vf_sub(t, n);
    vf q = vf_set1(1.5403530393381609e-4f);
    q = vf_fmadd(q, f, vf_set1(1.3333558146428443e-3f));
    q = vf_fmadd(q, f, vf_set1(9.6181291076284772e-3f));
    q = vf_fmadd(q, f, vf_set1(5.5504108664821580e-2f));
    q = vf_fmadd(q, f, vf_set1(2.4022650695910071e-1f));
    q = vf_fmadd(q, f, vf_set1(6.9314718055994531e-1f));
    q = vf_fmadd(q, f, vf_set1(1.0f));
    return vf_ldexp(q, n);
}

/* tanh below this |x| is x + x³·P(x²); above, from exp without
 * cancellation (the result is at least 0.55). */
#define TANH_SMALL 0.625f
/* tanh(x) = ±1 in f32 beyond 9.1; clamping keeps e^{2|x|} finite. */
#define TANH_CLAMP 9.5f

static inline vf v_tanh(vf x)
{
    const vf ax = vf_abs(x);
    const vf x2 = vf_mul(x, x);
    vf p = vf_set1(-0.005691985599696636f);
    p = vf_fmadd(p, x2, vf_set1(0.020626291632652283f));
    p = vf_fmadd(p, x2, vf_set1(-0.05373531952500343f));
    p = vf_fmadd(p, x2, vf_set1(0.13331381976604462f));
    p = vf_fmadd(p, x2, vf_set1(-0.3333328068256378f));
    const vf small = vf_fmadd(vf_mul(x, x2), p, x);
    if (vf_all_lt(ax, vf_set1(TANH_SMALL))) // typical for s/cap: no exp
        return small;
    const vf e = v_exp(vf_mul(vf_min(ax, vf_set1(TANH_CLAMP)), vf_set1(2)));
    const vf r = vf_recip(vf_add(e, vf_set1(1)));
    const vf large = vf_copysign(vf_fmadd(r, vf_set1(-2), vf_set1(1)), x);
    return vf_blend_lt(ax, vf_set1(TANH_SMALL), small, large);
}

/* sqrt(2/π) and the cubic coefficient of gelu_pytorch_tanh. */
#define GELU_BETA  0.7978845608028654f
#define GELU_KAPPA 0.044715f
/* −2·log2(e)·β and times κ: 0.5·x·(1 + tanh(u)) = x / (1 + e^(−2u)) =
 * x / (1 + 2^(x·(GELU_T1 + GELU_T3·x²))) for u = β(x + κx³). */
#define GELU_T1 (-2.302208198144325f)
#define GELU_T3 (-0.1029432395800235f)
/* 2^t beyond this is clamped: 1 + 2^t and its reciprocal stay normal (the
 * result, x·2^−100 at most, is 0 in all but name, as tanh's 1 + (−1)). */
#define GELU_T_MAX 100.0f

/* gelu_pytorch_tanh as x·sigmoid(2u): no cancellation (where tanh's
 * 1 + tanh(u) loses bits for negative u) and half the operations of
 * tanh's two branches; within a few ulp of x of the reference. */
static inline vf v_gelu_tanh(vf x)
{
    const vf t =
        vf_mul(x, vf_fmadd(vf_mul(x, x), vf_set1(GELU_T3), vf_set1(GELU_T1)));
    const vf e = v_exp2(vf_min(t, vf_set1(GELU_T_MAX)));
    return vf_mul(x, vf_recip(vf_add(e, vf_set1(1))));
}

#endif /* PALI_KERNELS_VECMATH_H */
