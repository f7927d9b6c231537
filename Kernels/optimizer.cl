// =================================================================================
// optimizer.cl: fused optimizer steps, in place (see OptimizerOps).
//
// sgd_update: torch.optim.SGD without momentum, p ← p − lr·(grad + wd·p).
// sgd_momentum_update: with a momentum buffer (dampening 0):
//   g = grad + wd·p;  buf = first_step ? g : momentum·buf + g;
//   g = nesterov ? g + momentum·buf : buf;  p ← p − lr·g
// The weight-decay term is skipped when wd = 0, as PyTorch skips it (so an infinite
// parameter does not turn the step into NaN through 0·∞).
//
// p, grad, buf: float[count]. Work item i owns element i; global size count.
// =================================================================================

__kernel void sgd_update(__global float* p, __global const float* grad, const int count,
                         const float lr, const float wd)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float value = p[i];
    const float g = wd != 0.0f ? grad[i] + wd * value : grad[i];
    p[i] = value - lr * g;
}

__kernel void sgd_momentum_update(__global float* p, __global const float* grad, __global float* buf,
                                  const int count, const float lr, const float momentum, const float wd,
                                  const int nesterov, const int first_step)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    const float value = p[i];
    float g = wd != 0.0f ? grad[i] + wd * value : grad[i];
    const float b = first_step ? g : momentum * buf[i] + g;
    buf[i] = b;
    g = nesterov ? g + momentum * b : b;
    p[i] = value - lr * g;
}
