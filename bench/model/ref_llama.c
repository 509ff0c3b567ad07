/* ref_llama.c — a plain C LLaMA forward pass in the style of llama2.c's run.c: one token at a
 * time with a KV cache, float32, naive matmuls (OpenMP over output rows when available).
 * Rotary embeddings in the Hugging Face rotate-half layout, grouped KV heads. Benchmark only:
 * no scaling variants, no biases. */
#include "ref_llama.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct RefState {
  RefConfig c;
  float *x, *xb, *xb2, *hb, *hb2, *q, *att, *logits; /* activations of the current token */
  float *key_cache, *value_cache;                     /* (L, seq_len, NKV*HD) */
  float* inv_freq;                                    /* (HD/2) */
};

RefState* ref_state_new(const RefConfig* c) {
  RefState* s = calloc(1, sizeof(RefState));
  s->c = *c;
  int q_dim = c->n_heads * c->head_dim, kv_dim = c->n_kv_heads * c->head_dim;
  int wide = c->dim > q_dim ? c->dim : q_dim;
  s->x = calloc((size_t)wide, sizeof(float));
  s->xb = calloc((size_t)wide, sizeof(float));
  s->xb2 = calloc((size_t)wide, sizeof(float));
  s->hb = calloc((size_t)c->hidden_dim, sizeof(float));
  s->hb2 = calloc((size_t)c->hidden_dim, sizeof(float));
  s->q = calloc((size_t)q_dim, sizeof(float));
  s->att = calloc((size_t)c->n_heads * (size_t)c->seq_len, sizeof(float));
  s->logits = calloc((size_t)c->vocab_size, sizeof(float));
  s->key_cache = calloc((size_t)c->n_layers * (size_t)c->seq_len * (size_t)kv_dim, sizeof(float));
  s->value_cache = calloc((size_t)c->n_layers * (size_t)c->seq_len * (size_t)kv_dim, sizeof(float));
  s->inv_freq = calloc((size_t)c->head_dim / 2, sizeof(float));
  for (int i = 0; i < c->head_dim / 2; i++)
    s->inv_freq[i] = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)c->head_dim);
  return s;
}

void ref_state_free(RefState* s) {
  free(s->x); free(s->xb); free(s->xb2); free(s->hb); free(s->hb2); free(s->q); free(s->att);
  free(s->logits); free(s->key_cache); free(s->value_cache); free(s->inv_freq); free(s);
}

static void rmsnorm(float* o, const float* x, const float* w, int n, float eps) {
  float ss = 0.0f;
  for (int j = 0; j < n; j++) ss += x[j] * x[j];
  ss = 1.0f / sqrtf(ss / (float)n + eps);
  for (int j = 0; j < n; j++) o[j] = w[j] * (ss * x[j]);
}

static void softmax(float* x, int n) {
  float max = x[0];
  for (int i = 1; i < n; i++) if (x[i] > max) max = x[i];
  float sum = 0.0f;
  for (int i = 0; i < n; i++) { x[i] = expf(x[i] - max); sum += x[i]; }
  for (int i = 0; i < n; i++) x[i] /= sum;
}

/* xout (d) = W (d, n) @ x (n) */
static void matmul(float* xout, const float* x, const float* w, int n, int d) {
  int i;
#pragma omp parallel for private(i)
  for (i = 0; i < d; i++) {
    const float* row = w + (size_t)i * (size_t)n;
    float val = 0.0f;
    for (int j = 0; j < n; j++) val += row[j] * x[j];
    xout[i] = val;
  }
}

/* Rotate-half RoPE on `heads` heads of size hd at position pos. */
static void rope(float* v, int heads, int hd, int pos, const float* inv_freq) {
  int half = hd / 2;
  for (int h = 0; h < heads; h++) {
    float* x = v + h * hd;
    for (int i = 0; i < half; i++) {
      float angle = (float)pos * inv_freq[i];
      float c = cosf(angle), sn = sinf(angle);
      float x1 = x[i], x2 = x[i + half];
      x[i] = x1 * c - x2 * sn;
      x[i + half] = x2 * c + x1 * sn;
    }
  }
}

float* ref_forward(RefState* s, const RefWeights* w, int token, int pos) {
  const RefConfig* c = &s->c;
  int C = c->dim, HD = c->head_dim, q_dim = c->n_heads * HD, kv_dim = c->n_kv_heads * HD;
  int n_rep = c->n_heads / c->n_kv_heads;
  memcpy(s->x, w->embed + (size_t)token * (size_t)C, (size_t)C * sizeof(float));

  for (int l = 0; l < c->n_layers; l++) {
    rmsnorm(s->xb, s->x, w->attn_norm[l], C, c->norm_eps);
    size_t off = (size_t)l * (size_t)c->seq_len * (size_t)kv_dim;
    float* k = s->key_cache + off + (size_t)pos * (size_t)kv_dim;
    float* v = s->value_cache + off + (size_t)pos * (size_t)kv_dim;
    matmul(s->q, s->xb, w->wq[l], C, q_dim);
    matmul(k, s->xb, w->wk[l], C, kv_dim);
    matmul(v, s->xb, w->wv[l], C, kv_dim);
    rope(s->q, c->n_heads, HD, pos, s->inv_freq);
    rope(k, c->n_kv_heads, HD, pos, s->inv_freq);

    int h;
#pragma omp parallel for private(h)
    for (h = 0; h < c->n_heads; h++) {
      const float* q = s->q + h * HD;
      float* att = s->att + (size_t)h * (size_t)c->seq_len;
      int kvh = h / n_rep;
      for (int t = 0; t <= pos; t++) {
        const float* kt = s->key_cache + off + (size_t)t * (size_t)kv_dim + kvh * HD;
        float score = 0.0f;
        for (int i = 0; i < HD; i++) score += q[i] * kt[i];
        att[t] = score / sqrtf((float)HD);
      }
      softmax(att, pos + 1);
      float* out = s->xb + h * HD;
      memset(out, 0, (size_t)HD * sizeof(float));
      for (int t = 0; t <= pos; t++) {
        const float* vt = s->value_cache + off + (size_t)t * (size_t)kv_dim + kvh * HD;
        for (int i = 0; i < HD; i++) out[i] += att[t] * vt[i];
      }
    }
    matmul(s->xb2, s->xb, w->wo[l], q_dim, C);
    for (int i = 0; i < C; i++) s->x[i] += s->xb2[i];

    rmsnorm(s->xb, s->x, w->mlp_norm[l], C, c->norm_eps);
    matmul(s->hb, s->xb, w->w_gate[l], C, c->hidden_dim);
    matmul(s->hb2, s->xb, w->w_up[l], C, c->hidden_dim);
    for (int i = 0; i < c->hidden_dim; i++) {
      float g = s->hb[i];
      s->hb[i] = g / (1.0f + expf(-g)) * s->hb2[i]; /* silu(gate) * up */
    }
    matmul(s->xb, s->hb, w->w_down[l], c->hidden_dim, C);
    for (int i = 0; i < C; i++) s->x[i] += s->xb[i];
  }
  rmsnorm(s->x, s->x, w->final_norm, C, c->norm_eps);
  matmul(s->logits, s->x, w->lm_head, C, c->vocab_size);
  return s->logits;
}

int ref_argmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
  return best;
}
