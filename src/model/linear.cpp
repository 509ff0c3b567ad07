// linear.cpp — see linear.h.
#include "model/linear.h"

#include <optional>

#include "kernels/cpu_gemm.h"

namespace llamapro {

namespace {

bool on_cpu_in_float32(const torch::Tensor& t) {
  return !t.defined() || (t.device().is_cpu() && t.scalar_type() == torch::kFloat);
}

// A 2-d tensor as BLAS sees it: rows, or the transpose of a row-major array; nullopt when
// neither (copy it first).
std::optional<MatrixRef> matrix_of(const torch::Tensor& t) {
  if (t.stride(1) == 1 && t.stride(0) >= std::max<int64_t>(1, t.size(1))) return MatrixRef{t.data_ptr<float>(), t.stride(0), false};
  if (t.stride(0) == 1 && t.stride(1) >= std::max<int64_t>(1, t.size(0))) return MatrixRef{t.data_ptr<float>(), t.stride(1), true};
  return std::nullopt;
}

// x W^T; the bias, rare in these models, is added outside (the autograd function of this
// libtorch cannot take an undefined input).
struct CpuLinear : public torch::autograd::Function<CpuLinear> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x, torch::Tensor weight) {
    const int64_t K = x.size(-1), N = weight.size(0);
    torch::Tensor x2 = x.reshape({-1, K}).contiguous();
    ctx->save_for_backward({x2, weight});
    torch::Tensor y = torch::empty({x2.size(0), N}, x2.options());
    matmul_into(y, x2, weight.t(), Into::Overwrite);
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = N;
    return y.view(shape);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x2 = saved[0], &w = saved[1];
    const int64_t M = x2.size(0), K = x2.size(1), N = w.size(0);
    const torch::Tensor dy = grads[0].reshape({M, N}).contiguous();
    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) {
      dx = torch::empty({M, K}, x2.options());
      matmul_into(dx, dy, w, Into::Overwrite);  // (M, N) x (N, K)
      std::vector<int64_t> shape = grads[0].sizes().vec();
      shape.back() = K;
      dx = dx.view(shape);
    }
    if (ctx->needs_input_grad(1)) {
      dw = torch::empty({N, K}, x2.options());
      matmul_into(dw, dy.t(), x2, Into::Overwrite);  // (N, M) x (M, K)
    }
    return {dx, dw};
  }
};

}  // namespace

torch::Tensor linear_layer(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (!on_cpu_in_float32(x) || !on_cpu_in_float32(weight) || !on_cpu_in_float32(bias) || x.dim() < 1 ||
      weight.dim() != 2 || x.numel() == 0)
    return torch::linear(x, weight, bias);
  torch::Tensor y = CpuLinear::apply(x, weight.stride(1) == 1 ? weight : weight.contiguous());
  return bias.defined() ? y + bias : y;
}

void matmul_into(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b, Into into) {
  const bool accumulate = into == Into::Accumulate;
  if (on_cpu_in_float32(out) && on_cpu_in_float32(a) && on_cpu_in_float32(b) && out.is_contiguous()) {
    const torch::Tensor ac = matrix_of(a) ? a : a.contiguous(), bc = matrix_of(b) ? b : b.contiguous();
    cpu_gemm(a.size(0), b.size(1), a.size(1), *matrix_of(ac), *matrix_of(bc), accumulate ? 1.0f : 0.0f,
             out.data_ptr<float>(), std::max<int64_t>(1, out.size(1)));
  } else if (accumulate) {
    out.addmm_(a, b);
  } else {
    torch::mm_out(out, a, b);
  }
}

}  // namespace llamapro
