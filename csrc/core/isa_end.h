/* Closes a per-ISA translation unit opened by isa_begin.h. */
#if defined(FNN_ISA_CLANG_PUSHED)
#pragma clang attribute pop
#undef FNN_ISA_CLANG_PUSHED
#elif defined(FNN_ISA_GCC_PUSHED)
#pragma GCC pop_options
#undef FNN_ISA_GCC_PUSHED
#endif
