# Generates the Mma<N> specializations of kernels/wgmma.cuh (32 or 64 accumulator registers each need their own asm
# operand, which no variadic form can spell). Usage: python3 tools/gen_wgmma_wrappers.py, paste between the markers.
import textwrap
def chunked(items, per):
    return [", ".join(items[i:i + per]) for i in range(0, len(items), per)]
def asm_regs(n, start=0):
    return [f"%{i}" for i in range(start, start + n)]
def body(n):
    r = n // 2
    acc = chunked(asm_regs(r), 16)
    acc_str = "\n".join(f'        "{a}{"," if i < len(acc) - 1 else ""} "' for i, a in enumerate(acc))
    outs = chunked([f'"+f"(d[{i}])' for i in range(r)], 8)
    outs_str = ",\n".join(f"          {o}" for o in outs)
    return f"""template <>
struct Mma<{n}> {{
  static constexpr int kRegs = {r};
  // D = A·B (scale_d 0) or D += A·B (scale_d 1); A and B K-major in shared memory.
  __device__ __forceinline__ static void ss(float (&d)[{r}], uint64_t a, uint64_t b, int scale_d) {{
    asm volatile(
        "{{\\n.reg .pred p;\\nsetp.ne.b32 p, %{r + 2}, 0;\\n"
        "wgmma.mma_async.sync.aligned.m64n{n}k16.f32.bf16.bf16 {{"
{acc_str}
        "}}, %{r}, %{r + 1}, p, 1, 1, 0, 0;\\n}}\\n"
        : {outs_str.strip()}
        : "l"(a), "l"(b), "r"(scale_d));
  }}
  // D += A·B; A in registers (the m64k16 fragment), B MN-major in shared memory (imm-trans-b = 1).
  __device__ __forceinline__ static void rs_mn(float (&d)[{r}], const uint32_t (&a)[4], uint64_t b) {{
    asm volatile(
        "{{\\n.reg .pred p;\\nsetp.ne.b32 p, %{r + 5}, 0;\\n"
        "wgmma.mma_async.sync.aligned.m64n{n}k16.f32.bf16.bf16 {{"
{acc_str}
        "}}, {{%{r}, %{r + 1}, %{r + 2}, %{r + 3}}}, %{r + 4}, p, 1, 1, 1;\\n}}\\n"
        : {outs_str.strip()}
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
  }}
}};
"""
print("\n".join(body(n) for n in (128, 64)))
